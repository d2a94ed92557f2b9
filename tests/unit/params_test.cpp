// Parameter counts: every reference model (tests/fixtures/reference_models.json, copied from
// the project's reference data with sources) must match its published total exactly.
#include "sizeup/params.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/tensors.hpp"
#include "test_models.hpp"

namespace sizeup {
namespace {

nlohmann::json load_fixture(const std::string& file) {
  std::ifstream in(std::string(SIZEUP_FIXTURES_DIR) + "/" + file);
  return nlohmann::json::parse(in);
}

class ReferenceModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceModel, total_matches_published_count) {
  for (const auto& m : load_fixture("reference_models.json")) {
    if (m["name"] != GetParam()) continue;
    const ModelSpec spec = model_from_config_text(m["config"].dump(), GetParam());
    EXPECT_EQ(count_params(spec).total, m["params_total"].get<ParamCount>()) << m["source"];
    return;
  }
  FAIL() << "no fixture " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(params_test, ReferenceModel,
                         ::testing::Values("gpt2", "pythia-410m", "gpt-j-6b", "opt-125m",
                                           "bloom-560m", "falcon-7b", "Llama-2-7b",
                                           "Meta-Llama-3-8B", "Mistral-7B-v0.1",
                                           "Mixtral-8x7B-v0.1", "Qwen2.5-7B", "Qwen3-8B",
                                           "gemma-7b", "gemma-2-9b", "phi-2",
                                           "Phi-3-mini-4k-instruct", "DeepSeek-V2-Lite",
                                           "bert-base-uncased", "t5-small"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string s = p.param;
                           for (auto& c : s)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

using test::seed_example;

TEST(params_test, seed_example_matches_document_per_component) {
  const auto r = count_params(seed_example());
  EXPECT_EQ(r.total, 354'336'768u);
  EXPECT_EQ(r.components.find("token_embedding")->value, 51'200'000u);
  EXPECT_EQ(r.components.find("position_embedding")->value, 1'048'576u);
  EXPECT_EQ(r.components.find("attention")->value, 100'663'296u);
  EXPECT_EQ(r.components.find("mlp")->value, 201'326'592u);
  EXPECT_EQ(r.components.find("norm")->value, 98'304u);
  EXPECT_EQ(r.embedding, 52'248'576u);
  EXPECT_EQ(r.active, r.total);
}

TEST(params_test, mixtral_active_params_count_two_of_eight_experts) {
  for (const auto& m : load_fixture("reference_models.json")) {
    if (m["name"] != "Mixtral-8x7B-v0.1") continue;
    const auto r = count_params(model_from_config_text(m["config"].dump()));
    EXPECT_EQ(r.active, 12'879'925'248u);  // fixture notes: recomputed active, top-2
  }
}

TEST(params_test, deepseek_v2_lite_active_params) {
  for (const auto& m : load_fixture("reference_models.json")) {
    if (m["name"] != "DeepSeek-V2-Lite") continue;
    const auto r = count_params(model_from_config_text(m["config"].dump()));
    EXPECT_EQ(r.active, 2'661'150'208u);  // fixture notes: incl. embeddings and head
  }
}

TEST(params_test, tied_head_counts_flops_not_parameters) {
  auto m      = seed_example();
  auto tied   = count_params(m).total;
  m.tied_head = false;
  EXPECT_EQ(count_params(m).total - tied, 50'000u * 1024u);
}

TEST(params_test, weight_bytes_round_up_to_whole_bytes) {
  EXPECT_EQ(weight_bytes(354'336'768, 32), 1'417'347'072u);
  EXPECT_EQ(weight_bytes(3, 4), 2u);
  EXPECT_THROW(weight_bytes(~0ull / 2, 32), InputError);
}

TEST(params_test, huge_model_does_not_overflow) {
  auto m    = seed_example();
  m.n_layer = 1000, m.n_embd = 32768, m.n_head = 256, m.n_head_kv = 256, m.head_dim = 128,
  m.n_ff = 4 * 32768;
  // 1000 layers x 12 d^2 = 1.29e13 parameters: exact in 64 bits.
  EXPECT_EQ(count_params(m).non_embedding - 1000ull * 4 * 32768, 12'884'901'888'000ull);
}

}  // namespace
}  // namespace sizeup
