// The commands answered through the engine's request path (engine.hpp run()), with values
// checked against hand computations written out below.
#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

nlohmann::json answer(const std::string& command, const Options& options) {
  return to_json(run({command, options}));
}

std::string blamed(const std::string& command, const Options& options) {
  try {
    run({command, options});
  } catch (const InputError& e) {
    return e.field();
  }
  return "(no error)";
}

// Llama-2-7B: 6,738,415,616 parameters (HF num_parameters()).
constexpr double kLlama2_7b = 6738415616.0;

TEST(EngineTrain, WeightsAndStepFlopsAgreeWithTheirFactors) {
  const auto j =
      answer("train", {{"model", "llama-2-7b"}, {"gpus", 8}, {"seq", 4096}, {"mfu", 0.4}});
  // bf16 working copy: 2 bytes per parameter.
  EXPECT_EQ(j["memory"]["weights_bytes"].get<double>(), 2 * kLlama2_7b);
  // One step: global batch 8 (micro-batch 1 x dp 8) x 4096 tokens x FLOPs per token.
  const double tokens = 8.0 * 4096;
  EXPECT_DOUBLE_EQ(j["flops"]["per_step"].get<double>(),
                   j["flops"]["per_token"].get<double>() * tokens);
  // No recomputation: hardware FLOPs are the model FLOPs.
  EXPECT_DOUBLE_EQ(j["flops"]["hardware_per_step"].get<double>(),
                   j["flops"]["per_step"].get<double>());
  // 6N <= per token <= 6N + 12·L·d·T (PaLM's attention term, 32 layers, d = 4096).
  EXPECT_GT(j["flops"]["per_token"].get<double>(), 6 * kLlama2_7b);
  EXPECT_LT(j["flops"]["per_token"].get<double>(), 6 * kLlama2_7b + 12.0 * 32 * 4096 * 4096);
  // Step time = FLOPs / (8 GPUs x 989.4 TFLOP/s (H100 SXM bf16 dense) x 0.4).
  EXPECT_NEAR(j["time"]["step_seconds"].get<double>(),
              j["flops"]["per_step"].get<double>() / (8 * 989.4e12 * 0.4), 1e-12);
}

TEST(EngineTrain, FineTuningTotalsAreTheirPerTokenFigureTimesTokens) {
  // LoRA with full recomputation: before the engine, per_step was replaced by the fine-tuning
  // figure while hardware_per_step mixed it with the full-training recompute total.
  const auto j        = answer("train", {{"model", "llama-2-7b"},
                                         {"finetune", "lora"},
                                         {"recompute", "full"},
                                         {"micro_batch", 2},
                                         {"seq", 1024}});
  const double tokens = 2.0 * 1024;
  EXPECT_DOUBLE_EQ(j["flops"]["per_step"].get<double>(),
                   j["flops"]["per_token"].get<double>() * tokens);
  // LoRA skips the weight gradients of every frozen weight: below full training's 6N.
  EXPECT_LT(j["flops"]["per_token"].get<double>(), 6 * kLlama2_7b);
  // Full recomputation repeats at least the 2N forward of the matmuls.
  EXPECT_GE(j["flops"]["hardware_per_step"].get<double>() - j["flops"]["per_step"].get<double>(),
            2 * kLlama2_7b * tokens);
}

TEST(EngineTrain, TokensGiveStepsAndDays) {
  const auto j       = answer("train", {{"model", "llama-2-7b"}, {"gpus", 8}, {"tokens", "1T"}});
  const double steps = 1e12 / (8.0 * 2048);  // default seq: min(2048, 4096 positions)
  EXPECT_DOUBLE_EQ(j["time"]["steps"].get<double>(), steps);
  EXPECT_DOUBLE_EQ(j["time"]["days"].get<double>(), j["time"]["seconds"].get<double>() / 86400);
}

TEST(EngineTrain, ErrorsNameTheOptionByIdentifier) {
  EXPECT_EQ(blamed("train", {{"model", "llama-2-7b"}, {"micro_batch", 0}}), "micro_batch");
  EXPECT_EQ(blamed("train", {{"model", "llama-2-7b"}, {"zero", 4}}), "zero");
  EXPECT_EQ(blamed("train", {{"model", "llama-2-7b"}, {"lora_rank", 8}}), "lora_rank");
  EXPECT_EQ(blamed("train", {{"model", "llama-2-7b"}, {"micro-batch", 2}}), "micro-batch");
  EXPECT_EQ(blamed("train", {{"model", "llama-2-7b"}, {"tp", 3}}), "tp");
}

TEST(EngineInfer, TotalIsTheSumOfItsRows) {
  const auto j = answer("infer", {{"model", "llama-3-8b"}, {"context", 8192}, {"gpu", "h100-sxm"}});
  const auto& m = j["memory"];
  EXPECT_EQ(m["total_bytes"].get<std::uint64_t>(), m["weights_bytes"].get<std::uint64_t>() +
                                                       m["kv_cache_bytes"].get<std::uint64_t>() +
                                                       m["workspace_bytes"].get<std::uint64_t>() +
                                                       m["overhead_bytes"].get<std::uint64_t>());
  // KV cache: 2 (K, V) x 32 layers x 8 KV heads x 128 x 8192 tokens x 2 bytes = 1 GiB.
  EXPECT_EQ(m["kv_cache_bytes"].get<std::uint64_t>(), 2ull * 32 * 8 * 128 * 8192 * 2);
  EXPECT_TRUE(j["fits"].get<bool>());
}

TEST(EngineFit, FsdpShardsAsTheZeroStageOfTrain) {
  // 8 x 80 GiB, mixed bf16 + AdamW = 2 + 4 + 4 + 8 = 18 bytes per parameter, ZeRO-3:
  // N = 8 x 85,899,345,920 / 18 = 38,177,487,075.
  const auto zero3 = answer("fit", {{"gpus", 8}});
  EXPECT_EQ(zero3["max_params"].get<std::int64_t>(), 38177487075);
  EXPECT_EQ(answer("fit", {{"gpus", 8}, {"fsdp", "full"}})["max_params"], zero3["max_params"]);
  EXPECT_EQ(answer("fit", {{"gpus", 8}, {"fsdp", "grad-op"}})["max_params"],
            answer("fit", {{"gpus", 8}, {"zero", 2}})["max_params"]);
  EXPECT_EQ(blamed("fit", {{"gpus", 8}, {"fsdp", "full"}, {"zero", 3}}), "fsdp");
  EXPECT_EQ(blamed("fit", {{"gpu", "custom"}, {"peak_tflops", 100}}), "gpu_memory");
}

TEST(EngineFit, LargestMicroBatchIsTheLastThatFits) {
  const auto j         = answer("fit", {{"model", "llama-2-7b"}, {"gpus", 8}, {"seq", 4096}});
  const std::int64_t b = j["max_micro_batch"].get<std::int64_t>();
  ASSERT_GE(b, 1);
  const auto at = [&](std::int64_t micro) {
    return answer("train", {{"model", "llama-2-7b"},
                            {"gpus", 8},
                            {"seq", 4096},
                            {"zero", 3},
                            {"micro_batch", micro}})["fits"]
        .get<bool>();
  };
  EXPECT_TRUE(at(b));
  EXPECT_FALSE(at(b + 1));
}

TEST(EngineTime, SixNDAndItsUnits) {
  const auto j = answer(
      "time",
      {{"params", "70B"}, {"tokens", "15T"}, {"gpu", "h100-sxm"}, {"gpus", 1024}, {"mfu", 0.5}});
  EXPECT_DOUBLE_EQ(j["total_flops"].get<double>(), 6 * 70e9 * 15e12);  // 6.3e24
  // 6.3e24 / (1024 x 989.4e12 x 0.5) = 12,436,514.6 s = 143.941 days.
  EXPECT_NEAR(j["seconds"].get<double>(), 6.3e24 / (1024 * 989.4e12 * 0.5), 1e-3);
  EXPECT_DOUBLE_EQ(j["days"].get<double>(), j["seconds"].get<double>() / 86400);
  EXPECT_NEAR(j["pflop_days"].get<double>(), 6.3e24 / 8.64e19, 1e-6);
}

TEST(EngineTime, OverflowBlamesTheInputThatCausedIt) {
  EXPECT_EQ(blamed("time", {{"params", "7B"}, {"tokens", "1e308"}, {"gpu", "h100-sxm"}}), "tokens");
  EXPECT_EQ(blamed("time", {{"params", "1e308"}, {"tokens", "1T"}, {"gpu", "h100-sxm"}}), "params");
}

TEST(EngineChinchilla, RuleOfThumb) {
  // C = 6·N·20N = 120 N^2: N = sqrt(1e24 / 120) = 91,287,092,917.5.
  const auto j = answer("chinchilla", {{"compute", "1e24"}});
  EXPECT_NEAR(j["params"].get<double>(), std::sqrt(1e24 / 120), 1.0);
  EXPECT_NEAR(j["tokens"].get<double>(), 20 * std::sqrt(1e24 / 120), 20.0);
  EXPECT_NEAR(j["rule_of_thumb"]["pflop_days"].get<double>(), 1e24 / 8.64e19, 1e-6);
}

TEST(EngineFlops, TotalsMatchTheBreakdown) {
  const auto j = answer("flops", {{"model", "gpt2"}, {"seq", 1024}, {"batch", 4}});
  double sum   = 0;
  for (const auto& [key, v] : j["flops"]["breakdown"].items()) sum += v.get<double>();
  EXPECT_DOUBLE_EQ(j["flops"]["forward_per_token"].get<double>(), sum);
  EXPECT_DOUBLE_EQ(j["flops"]["training_per_token"].get<double>(), 3 * sum);
  EXPECT_DOUBLE_EQ(j["flops"]["training_per_step"].get<double>(), 3 * sum * 4 * 1024);
}

TEST(EngineReport, DocumentAndSections) {
  const Report r = run({"report", {{"model", "gpt2"}}});
  EXPECT_EQ(to_text(r).rfind("# Sizing up gpt2", 0), 0u);
  const auto j = to_json(r);
  ASSERT_EQ(j["sections"].size(), 9u);
  EXPECT_EQ(j["sections"][2]["key"], "parameters");
}

}  // namespace
}  // namespace sizeup

namespace sizeup {
namespace {

TEST(EngineLayout, TensorParallelWiderThanKvHeadsReplicatesThemInTrainAndInfer) {
  // Llama-2-70B: 64 query heads, 8 KV heads. tp 16 splits the query heads 4 per rank and
  // replicates each KV head on 2 ranks (vLLM, Megatron-LM); train and infer both accept it.
  const auto t = to_json(run({"train", {{"model", "llama-2-70b"}, {"tp", 16}, {"gpus", 16}}}));
  const auto i = to_json(run({"infer", {{"model", "llama-2-70b"}, {"tp", 16}, {"context", 1}}}));
  // Replicated K and V (one head of 128 rows per rank, not 8 x 128 / 16 = 64): each rank holds
  // more than 1/16 of the 68,976,648,192 bf16 parameters, by 80 layers x 2 x 64 x 8192 x 2 bytes.
  const double sixteenth = 2.0 * 68976648192 / 16;
  EXPECT_GT(t["memory"]["weights_bytes"].get<double>(), sixteenth);
  EXPECT_GT(i["memory"]["weights_bytes"].get<double>(), sixteenth);
  EXPECT_EQ(i["memory"]["weights_bytes"], t["memory"]["weights_bytes"]);
  // Neither divides the other: refused by both, naming tp.
  EXPECT_THROW(run({"train", {{"model", "llama-2-70b"}, {"tp", 3}}}), InputError);
  EXPECT_THROW(run({"infer", {{"model", "llama-2-70b"}, {"tp", 3}}}), InputError);
}

}  // namespace
}  // namespace sizeup
