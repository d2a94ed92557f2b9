// The engine: requests as JSON options, validation naming options by identifier, and the
// report formatters.
#include "sizeup/engine.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

std::string field_of(const Request& r) {
  try {
    run(r);
  } catch (const InputError& e) {
    return e.field();
  }
  return "(no error)";
}

TEST(Engine, ParamsFromJsonOptions) {
  // Llama 3 8B: 8,030,261,248 parameters (Meta's model card: 8.03B; HF num_parameters()).
  const Report r = run({"params", {{"model", "llama-3-8b"}}});
  const auto j   = to_json(r);
  EXPECT_EQ(j["params"]["total"].get<std::uint64_t>(), 8030261248u);
  EXPECT_EQ(j["model"]["n_layer"].get<int>(), 32);
  // bf16 weights: 2 bytes per parameter.
  EXPECT_EQ(j["weights"][1]["bytes"].get<std::uint64_t>(), 2 * 8030261248u);
}

TEST(Engine, ShapeOptionsAcceptNumbersAndStrings) {
  // The seed example (GPT-2 medium shape without biases or final norm): 354,336,768.
  const Options as_numbers = {{"layers", 24},   {"hidden", 1024},     {"heads", 16},
                              {"vocab", 50000}, {"ffn", 4096},        {"max_positions", 1024},
                              {"bias", false},  {"final_norm", false}};
  Options as_text          = as_numbers;
  as_text["hidden"]        = "1k";  // suffixes as on the command line: 1k = 1000, not 1024
  EXPECT_EQ(to_json(run({"params", as_numbers}))["params"]["total"].get<std::uint64_t>(),
            354336768u);
  EXPECT_EQ(field_of({"params", as_text}), "heads");  // 16 heads do not divide 1000
}

TEST(Engine, ErrorsNameOptionsByIdentifier) {
  EXPECT_EQ(field_of({"params", {{"model", "llama-3-8b"}, {"micro_batch", 2}}}), "micro_batch");
  EXPECT_EQ(field_of({"params", {{"layers", "x"}, {"hidden", 8}, {"heads", 2}, {"vocab", 4}}}),
            "layers");
  EXPECT_EQ(field_of({"params", {{"model", "no-such-model"}}}), "model");
  EXPECT_EQ(field_of({"params", {{"model", "llama-3-8b"}, {"bias", "yes"}}}), "bias");
  EXPECT_EQ(field_of({"params", {{"model", "llama-3-8b"}, {"norm", "batchnorm"}}}), "norm");
  EXPECT_EQ(field_of({"no-such-command", {}}), "command");
  EXPECT_EQ(field_of({"gpus", {{"gpu", "custom"}}}), "peak_tflops");
}

TEST(Engine, UploadedConfigErrorsNameTheKey) {
  const Options config = {{"model_type", "llama"},    {"hidden_size", 64},
                          {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                          {"intermediate_size", 128}, {"vocab_size", 100}};
  EXPECT_GT(to_json(run({"params", {{"config", config}}}))["params"]["total"].get<double>(), 0);
  Options broken              = config;
  broken["num_hidden_layers"] = "two";
  EXPECT_EQ(field_of({"params", {{"config", broken}}}), "config.num_hidden_layers");
}

TEST(Engine, UnknownOptionSuggestsTheClosest) {
  try {
    run({"params", {{"model", "llama-3-8b"}, {"layer", 2}}});
    FAIL() << "accepted an unknown option";
  } catch (const InputError& e) {
    EXPECT_NE(e.reason().find("did you mean layers?"), std::string::npos) << e.reason();
  }
  EXPECT_EQ(did_you_mean("parms", {"params", "models"}), "; did you mean params?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"params", "models"}), "");
}

TEST(Report, JsonPlacesRowsAtTheirKeyPaths) {
  Report r;
  r.data["model"] = "m";
  auto& s         = r.section("Memory");
  s.rows.push_back({"memory.weights_bytes",
                    "weights",
                    16060522496ull,
                    Unit::bytes,
                    {"P * 2", "8030261248 * 2", "bf16"},
                    {},
                    "",
                    true});
  const auto j = to_json(r, true);
  EXPECT_EQ(j["memory"]["weights_bytes"].get<std::uint64_t>(), 16060522496ull);
  EXPECT_EQ(j["model"], "m");
  EXPECT_NE(j["explain"].get<std::string>().find("`8030261248 * 2`"), std::string::npos);
  // Bytes shown in GB (1e9) and GiB (2^30): 16.06 GB = 14.96 GiB.
  EXPECT_NE(to_text(r).find("16.06 GB (14.96 GiB)"), std::string::npos) << to_text(r);
}

}  // namespace
}  // namespace sizeup
