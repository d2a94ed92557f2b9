// Speed of the memory and FLOPs models: a layout search (the planner, the web page) evaluates
// thousands of layouts, so one evaluation must take microseconds, not milliseconds.
#include <benchmark/benchmark.h>

#include "sizeup/catalog.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/memory_train.hpp"

namespace {

sizeup::ModelSpec catalog_model(const char* name) {
  return sizeup::model_from_catalog(*sizeup::find_model(name));
}

void BM_TrainMemoryLlama3_70B_TP8_PP4(benchmark::State& state) {
  const auto m = catalog_model("llama-3-70b");
  sizeup::TrainInput in;
  in.workload.micro_batch   = 1;
  in.workload.seq_len       = 8192;
  in.workload.global_batch  = 64;
  in.plan.dp                = 4;
  in.plan.tp                = 8;
  in.plan.pp                = 4;
  in.plan.sequence_parallel = true;
  in.activation.recompute   = sizeup::Recompute::selective;
  for (auto _ : state) benchmark::DoNotOptimize(sizeup::train_memory(m, in).total_bytes);
}
BENCHMARK(BM_TrainMemoryLlama3_70B_TP8_PP4)->Unit(benchmark::kMicrosecond);

void BM_InferenceMemoryLlama3_8B(benchmark::State& state) {
  const auto m = catalog_model("llama-3-8b");
  sizeup::InferenceInput in;
  for (auto _ : state) benchmark::DoNotOptimize(sizeup::inference_memory(m, in).total_bytes);
}
BENCHMARK(BM_InferenceMemoryLlama3_8B)->Unit(benchmark::kMicrosecond);

void BM_FlopsDeepSeekV3(benchmark::State& state) {
  const auto m = catalog_model("deepseek-v3");
  sizeup::FlopsInput in;
  in.seq_len = 4096;
  for (auto _ : state) benchmark::DoNotOptimize(sizeup::flops(m, in).training_per_step);
}
BENCHMARK(BM_FlopsDeepSeekV3)->Unit(benchmark::kMicrosecond);

}  // namespace
