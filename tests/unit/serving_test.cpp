// Serving: engine KV capacity, step times, static-batch latency/throughput, load simulation.
// Expected values are derived by hand in the comments or taken from published logs.
#include "sizeup/serving.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hardware.hpp"
#include "sizeup/kv_capacity.hpp"
#include "sizeup/serve_plan.hpp"
#include "sizeup/serve_sim.hpp"

namespace sizeup {
namespace {

constexpr double GiB = 1073741824.0;

ModelSpec catalog(const char* name) {
  const CatalogEntry* e = find_model(name);
  EXPECT_NE(e, nullptr) << name;
  return model_from_catalog(*e);
}

InferenceInput bf16() {
  InferenceInput in;
  in.weights = WeightFormat::bf16;
  return in;
}

DeviceModel device(const char* gpu, const char* dtype = "bf16") {
  return device_model(require_gpu(gpu), dtype);
}

// E (1 - (1 - k/E)^B): one token touches k experts; two tokens with top-2 of 8 touch
// 8 (1 - 0.75^2) = 3.5 on average; very many touch all 8.
TEST(serving_test, expected_distinct_experts) {
  EXPECT_DOUBLE_EQ(expected_distinct_experts(8, 2, 1), 2.0);
  EXPECT_DOUBLE_EQ(expected_distinct_experts(8, 2, 2), 3.5);
  EXPECT_NEAR(expected_distinct_experts(8, 2, 1000), 8.0, 1e-9);
}

// vLLM V1 on one H100 (llm-d-benchmark config_explorer/empirical-vllm-memory-results.md):
// Llama-3.1-8B-Instruct, gpu_memory_utilization 0.9, max-model-len 16000: "Available KV cache
// memory: 51.38 GiB". Pool = 79.18 * 0.9 - (W + A + X) with W = 8,030,261,248 * 2 bytes.
TEST(serving_test, vllm_kv_pool_matches_logged_llama31_8b_h100) {
  const ModelSpec m = catalog("llama-3.1-8b");
  EngineSettings s;
  s.engine               = ServingEngine::vllm;
  s.gpu_name             = "h100-sxm";
  s.max_model_len        = 16000;
  const EngineKvReport r = engine_kv_capacity(m, bf16(), 80 * GiB, s);
  EXPECT_NEAR(r.visible_bytes / GiB, 79.18, 1e-9);
  EXPECT_EQ(r.weights_bytes, 8030261248.0 * 2);
  EXPECT_EQ(r.max_num_seqs, 1024);  // vLLM's default on >= 70 GiB non-A100 GPUs
  EXPECT_NEAR(r.kv_cache_bytes / GiB, 51.38, 0.01 * 51.38);
  // Blocks of 16 tokens of 131,072 bytes each (2 * 32 layers * 8 heads * 128 * 2 bytes).
  EXPECT_EQ(r.kv_bytes_per_token, 131072.0);
  EXPECT_EQ(r.kv_cache_tokens, r.num_blocks * 16);
  EXPECT_DOUBLE_EQ(r.max_concurrency, static_cast<double>(r.num_blocks) / 1000.0);  // 16000/16
}

// SGLang: pool = (M - X) * f - W with f = 0.88 at tp 1; TensorRT-LLM: (M - X - W - A) * 0.9.
TEST(serving_test, sglang_and_trtllm_pools_by_their_rules) {
  const ModelSpec m = catalog("llama-3.1-8b");
  EngineSettings s;
  s.gpu_name             = "h100-sxm";
  s.max_model_len        = 8192;
  s.engine               = ServingEngine::sglang;
  const EngineKvReport g = engine_kv_capacity(m, bf16(), 80 * GiB, s);
  const double M = 79.18 * GiB, X = 0.13 * GiB, W = 8030261248.0 * 2;
  EXPECT_EQ(g.block_size, 1);
  EXPECT_EQ(g.kv_cache_tokens, static_cast<std::int64_t>(((M - X) * 0.88 - W) / 131072));
  s.engine               = ServingEngine::trtllm;
  const EngineKvReport t = engine_kv_capacity(m, bf16(), 80 * GiB, s);
  const double pool      = (M - X - W - t.activation_bytes) * 0.9;
  EXPECT_EQ(t.num_blocks, static_cast<std::int64_t>(pool / (131072.0 * 32)));
}

TEST(serving_test, engine_refuses_when_weights_do_not_fit) {
  EngineSettings s;
  s.gpu_name = "h100-sxm";
  EXPECT_THROW(engine_kv_capacity(catalog("llama-3-70b"), bf16(), 80 * GiB, s), InputError);
  s.gpu_memory_utilization = 1.5;
  EXPECT_THROW(engine_kv_capacity(catalog("llama-3.1-8b"), bf16(), 80 * GiB, s), InputError);
}

// Batch-1 decode of Llama-2-7B in fp16 on an A100-80GB reads the 13.48 GB of weights once:
// 6,738,415,616 * 2 / (2.039e12 * 0.8) = 8.26 ms, plus a KV cache of 128 tokens (67 MB).
TEST(serving_test, batch1_decode_is_weight_bandwidth_bound) {
  const ModelSpec m  = catalog("llama-2-7b");
  InferenceInput in  = bf16();
  in.weights         = WeightFormat::fp16;
  const StepTime st  = serving_step(m, in, {}, device("a100-80gb", "fp16"), {}, {1, 1, 128});
  const double bound = (6738415616.0 * 2 + 128 * 524288.0) / (2.039e12 * 0.8);
  EXPECT_NEAR(st.seconds, bound, 0.03 * bound);
  EXPECT_GT(st.memory_seconds, 10 * st.compute_seconds);
}

// Mixtral-8x7B: a one-token decode touches 2 of 8 experts per layer, so it reads about a quarter
// of the expert weights; 256 tokens touch all of them (8 (1 - 0.75^256) = 8).
TEST(serving_test, moe_decode_reads_only_touched_experts) {
  const ModelSpec m = catalog("mixtral-8x7b-v0.1");
  const auto dev    = device("h100-sxm");
  auto expert_bytes = [&](std::int64_t b) {
    for (const auto& o : serving_step(m, bf16(), {}, dev, {}, {b, 1, 64}).ops)
      if (o.key == "moe_experts") return o.weight_bytes;
    return 0.0;
  };
  EXPECT_NEAR(expert_bytes(1) / expert_bytes(256), 2.0 / 8.0, 0.01);
}

// Weight-only int4 moves about 0.28x the bytes of bf16 (4 bits + group scales), and pays its
// dequantisation on the vector units: the step is faster but not 3.6x faster.
TEST(serving_test, int4_weights_move_fewer_bytes_and_pay_dequant) {
  const ModelSpec m = catalog("llama-3-8b");
  const auto dev    = device("a100-80gb");
  InferenceInput q  = bf16();
  q.weights         = WeightFormat::int4;
  const StepTime a  = serving_step(m, bf16(), {}, dev, {}, {1, 1, 16});
  const StepTime b  = serving_step(m, q, {}, dev, {}, {1, 1, 16});
  EXPECT_LT(b.bytes, 0.4 * a.bytes);
  EXPECT_LT(b.seconds, a.seconds);
}

// Mistral-7B-v0.1 slides over 4,096 tokens: a decode at context 32,000 reads 4,096 tokens of
// 131,072 bytes per sequence, as at context 4,096.
TEST(serving_test, sliding_window_decode_reads_only_the_window) {
  const ModelSpec m = catalog("mistral-7b-v0.1");
  auto kv_read      = [&](std::int64_t ctx) {
    for (const auto& o : serving_step(m, bf16(), {}, device("h100-sxm"), {}, {1, 1, ctx}).ops)
      if (o.key == "attention_core") return o.kv_read_bytes;
    return 0.0;
  };
  EXPECT_EQ(kv_read(32000), 4096.0 * 131072);
  EXPECT_EQ(kv_read(4096), kv_read(32000));
}

// DeepSeek-V2-Lite (MLA): the cache holds c_kv (512) + k_rope (64) per layer, so a decode reads
// 27 layers * 576 * 2 bytes = 31,104 bytes per cached token.
TEST(serving_test, mla_decode_reads_the_latent_cache) {
  const ModelSpec m = catalog("deepseek-v2-lite");
  for (const auto& o : serving_step(m, bf16(), {}, device("h100-sxm"), {}, {2, 1, 1000}).ops)
    if (o.key == "attention_core") {
      EXPECT_EQ(o.kv_read_bytes, 2 * 1000.0 * 27 * 576 * 2);
    }
}

// Tensor parallelism at batch 1: 2 all-reduces per layer of 1 x 4096 x 2 bytes; on NVLink the
// latency terms dominate (8 KiB moves in 0.03 us at 240 GB/s, each step costs 2 us).
TEST(serving_test, tp_all_reduce_is_latency_dominated_at_small_batch) {
  const ModelSpec m = catalog("llama-3-8b");
  const auto dev    = device("h100-sxm");
  ServingLayout l;
  l.tp = 4;
  for (const auto& o : serving_step(m, bf16(), l, dev, {}, {1, 1, 100}).ops)
    if (o.key == "tp_all_reduce") {
      const double bandwidth_part = 2 * 32 * 2 * 0.75 * 4096 * 2 / (4.5e11 * 0.8);
      EXPECT_GT(o.seconds, 10 * bandwidth_part);
    }
}

// Ridge point: decode turns compute-bound when its FLOPs at the achievable GEMM rate
// (312e12 * 0.75) take longer than its bytes at the streaming bandwidth (2.039e12 * 0.8). A
// 16-bit decode does about 1 FLOP per weight byte per sequence, and each sequence adds 16
// tokens of KV (8.4 MB) at context 16: b * 13.5e9 / 234e12 = (13.5e9 + b * 8.4e6) / 1.63e12
// gives b = 157; the head and activations move it a little: between 100 and 400.
TEST(serving_test, decode_turns_compute_bound_near_the_ridge_point) {
  const ModelSpec m     = catalog("llama-2-7b");
  const ServingReport r = serve_static(m, bf16(), {}, device("a100-80gb"), {}, 1, 16, 2);
  EXPECT_GE(r.compute_bound_batch, 100);
  EXPECT_LE(r.compute_bound_batch, 400);
}

// Definitions: e2e = ttft + (G - 1) tpot; output tokens/s per GPU = b G / e2e / gpus.
TEST(serving_test, static_batch_definitions) {
  const ModelSpec m = catalog("llama-3-8b");
  ServingLayout l;
  l.tp                  = 2;
  const ServingReport r = serve_static(m, bf16(), l, device("h100-sxm"), {}, 8, 1000, 200);
  EXPECT_NEAR(r.e2e_seconds, r.ttft_seconds + 199 * r.tpot_seconds, 1e-12);
  EXPECT_NEAR(r.output_tokens_per_second_per_gpu, 8 * 200 / r.e2e_seconds / 2, 1e-9);
  EXPECT_NEAR(r.total_tokens_per_second_per_gpu, 8 * 1200 / r.e2e_seconds / 2, 1e-9);
  EXPECT_THROW(serve_static(m, bf16(), l, device("h100-sxm"), {}, 0, 10, 10), InputError);
}

StepCostModel cost_llama8b() {
  return step_cost_model(catalog("llama-3-8b"), bf16(), {}, device("h100-sxm"), {});
}

// The closed form of a decode run equals the step-by-step sum.
TEST(serving_test, decode_run_closed_form_equals_sum) {
  const StepCostModel c = cost_llama8b();
  for (double n : {1.0, 37.0, 512.0}) {
    double ctx = 1000 * n, sum = 0;
    for (int i = 0; i < 300; ++i, ctx += n) sum += c.seconds(n, ctx + n, ctx);
    EXPECT_NEAR(c.decode_run_seconds(n, 1000 * n, 300), sum, 1e-9 * sum) << n;
  }
}

// One request at a time (rate far below capacity): TTFT is one prefill step, TPOT one decode step.
TEST(serving_test, simulator_light_load_is_one_request_at_a_time) {
  const StepCostModel c = cost_llama8b();
  SimInput in;
  in.rate_per_s     = 0.01;
  in.requests       = 200;
  in.prompt         = 1000;
  in.gen            = 100;
  const SimReport r = simulate_serving(c, in);
  EXPECT_EQ(r.completed, 200);
  EXPECT_NEAR(r.ttft_seconds.p50, c.seconds(1000, 1000.0 * 1001 / 2, 0), 1e-9);
  EXPECT_NEAR(r.tpot_seconds.p50, c.decode_run_seconds(1, 1000, 99) / 99, 1e-9);
  EXPECT_EQ(r.preemptions, 0);
}

// Little's law (L = lambda W) holds for any stable queue: the time-averaged number of running
// requests equals the arrival rate times the mean time in the system (all requests admitted at
// once here: no waiting, so in the system means running).
TEST(serving_test, simulator_obeys_littles_law) {
  SimInput in;
  in.rate_per_s     = 20;
  in.requests       = 20000;
  in.prompt         = 300;
  in.gen            = 200;
  in.length_spread  = 0.5;
  const SimReport r = simulate_serving(cost_llama8b(), in);
  EXPECT_NEAR(r.mean_running, r.requests_per_second * r.e2e_seconds.mean, 0.03 * r.mean_running);
  EXPECT_NEAR(r.requests_per_second, 20, 1.0);
}

// A pool of 100 blocks of 16 tokens: prompts of 100 tokens need 7 blocks each, so about 14
// requests are admitted, then grow towards 32 blocks each (500 tokens): the scheduler must
// preempt. Every request still completes, with at most 1600 / 101 = 15.8 prompts held at once.
// A pool of 10 blocks cannot hold one request (32 blocks): refused.
TEST(serving_test, simulator_preempts_when_blocks_run_out) {
  SimInput in;
  in.rate_per_s     = 1000;
  in.requests       = 300;
  in.prompt         = 100;
  in.gen            = 400;
  in.kv_blocks      = 100;
  const SimReport r = simulate_serving(cost_llama8b(), in);
  EXPECT_EQ(r.completed, 300);
  EXPECT_GT(r.preemptions, 0);
  EXPECT_LE(r.mean_running, 15.9);
  in.kv_blocks = 10;
  EXPECT_THROW(simulate_serving(cost_llama8b(), in), InputError);
}

// The planner returns the cheapest deployments first, each checked by the simulator against
// both targets; an impossible target (0.1 ms per token: below one read of the weights) leaves
// none, with the reason counted.
TEST(serving_test, serve_plan_cheapest_first_and_within_targets) {
  ServePlanInput in;
  in.rate_per_s           = 5;
  in.prompt               = 512;
  in.gen                  = 128;
  in.ttft_seconds         = 1.0;
  in.tpot_seconds         = 0.05;
  in.gpus                 = {require_gpu("a100-80gb"), require_gpu("h100-sxm")};
  in.price_per_gpu_hour   = {{"a100-80gb", 1.0}, {"h100-sxm", 3.0}};
  const ServePlanReport r = plan_serving(catalog("llama-3-8b"), in);
  ASSERT_FALSE(r.plans.empty());
  EXPECT_GT(r.evaluated, r.feasible);
  for (std::size_t i = 0; i < r.plans.size(); ++i) {
    const ServePlan& p = r.plans[i];
    EXPECT_TRUE(p.verified);
    EXPECT_LE(p.sim_ttft_p90_seconds, 1.0);
    EXPECT_LE(p.sim_tpot_p90_seconds, 0.05);
    EXPECT_EQ(p.gpus, p.replicas * p.layout.gpus());
    if (i > 0) {
      EXPECT_GE(p.cost_per_hour, r.plans[i - 1].cost_per_hour);
    }
  }
  in.tpot_seconds            = 1e-4;
  const ServePlanReport none = plan_serving(catalog("llama-3-8b"), in);
  EXPECT_TRUE(none.plans.empty());
  EXPECT_GT(none.rejected.at("TPOT above target even alone"), 0);
}

}  // namespace
}  // namespace sizeup
