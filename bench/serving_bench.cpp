// Speed of the serving model: the load simulation must run at least a million simulated
// requests per second, and a serving plan must complete in under 100 ms.
#include <benchmark/benchmark.h>

#include "sizeup/catalog.hpp"
#include "sizeup/hardware.hpp"
#include "sizeup/serve_plan.hpp"
#include "sizeup/serve_sim.hpp"
#include "sizeup/serving.hpp"

namespace {

sizeup::ModelSpec catalog_model(const char* name) {
  return sizeup::model_from_catalog(*sizeup::find_model(name));
}

sizeup::StepCostModel llama8b_h100() {
  return sizeup::step_cost_model(catalog_model("llama-3.1-8b"), sizeup::InferenceInput{}, {},
                                 sizeup::device_model(sizeup::require_gpu("h100-sxm"), "bf16"), {});
}

// One step of Llama-3.1-8B decoding 64 sequences at context 2048, every operator.
void BM_DecodeStepLlama31_8B(benchmark::State& state) {
  const auto m   = catalog_model("llama-3.1-8b");
  const auto dev = sizeup::device_model(sizeup::require_gpu("h100-sxm"), "bf16");
  for (auto _ : state)
    benchmark::DoNotOptimize(
        sizeup::serving_step(m, sizeup::InferenceInput{}, {}, dev, {}, {64, 1, 2048}).seconds);
}
BENCHMARK(BM_DecodeStepLlama31_8B)->Unit(benchmark::kMicrosecond);

// The load simulation at a rate of `range(0)` requests/s (prompts 512 +- 50%, outputs 128 +-
// 50%, vLLM's H100 limits, a 26,000-block pool): items are simulated requests.
void BM_SimulateServing(benchmark::State& state) {
  const auto cost = llama8b_h100();
  sizeup::SimInput in;
  in.rate_per_s    = static_cast<double>(state.range(0));
  in.requests      = 100000;
  in.prompt        = 512;
  in.gen           = 128;
  in.length_spread = 0.5;
  in.max_num_seqs  = 1024;
  in.kv_blocks     = 26000;
  for (auto _ : state) benchmark::DoNotOptimize(sizeup::simulate_serving(cost, in).steps);
  state.SetItemsProcessed(state.iterations() * in.requests);
}
BENCHMARK(BM_SimulateServing)->Arg(1)->Arg(30)->Arg(60)->Arg(200)->Unit(benchmark::kMillisecond);

// plan --serve: Llama-3-70B at 10 requests/s of 1000 + 200 tokens, five GPU kinds.
void BM_ServePlanLlama3_70B(benchmark::State& state) {
  const auto m = catalog_model("llama-3-70b");
  sizeup::ServePlanInput in;
  in.rate_per_s   = 10;
  in.prompt       = 1000;
  in.gen          = 200;
  in.ttft_seconds = 1.0;
  in.tpot_seconds = 0.05;
  for (const char* g : {"a100-80gb", "h100-sxm", "h200", "b200", "l40s"})
    in.gpus.push_back(sizeup::require_gpu(g));
  for (auto _ : state) benchmark::DoNotOptimize(sizeup::plan_serving(m, in).plans.size());
}
BENCHMARK(BM_ServePlanLlama3_70B)->Unit(benchmark::kMillisecond);

}  // namespace
