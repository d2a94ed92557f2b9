// Planner speed: the whole search for GPT-3 175B on 1,024 A100-80GB (global batch 1536,
// sequence 2048), and the per-layout inner step (compose_step) alone.
#include <benchmark/benchmark.h>

#include "sizeup/plan.hpp"

namespace {

sizeup::ModelSpec gpt3_175b() {
  sizeup::ModelSpec m;
  m.name    = "gpt3-175b";
  m.n_layer = 96, m.n_embd = 12288, m.n_head = 96, m.n_head_kv = 96, m.head_dim = 128;
  m.n_ff = 4 * 12288, m.n_vocab = 51200, m.n_ctx = 2048;
  m.positions = sizeup::PositionKind::learned, m.norm = sizeup::NormKind::layernorm;
  m.norm_bias = true, m.mlp = sizeup::MlpKind::plain, m.activation = "gelu";
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  return m;
}

sizeup::PlanInput gpt3_input(int threads) {
  sizeup::PlanInput in;
  in.gpus                       = 1024;
  in.base.workload.seq_len      = 2048;
  in.base.workload.global_batch = 1536;
  in.base.gpu_memory_bytes      = sizeup::require_gpu("a100-80gb").memory_bytes;
  in.threads                    = threads;
  return in;
}

void BM_PlanGpt3On1024A100(benchmark::State& state) {
  const auto m         = gpt3_175b();
  const auto in        = gpt3_input(static_cast<int>(state.range(0)));
  const auto dev       = sizeup::device_model(sizeup::require_gpu("a100-80gb"), "bf16");
  std::int64_t layouts = 0;
  for (auto _ : state) {
    auto r = sizeup::plan_search(m, in, dev);
    layouts += r.evaluated;
    benchmark::DoNotOptimize(r.plans.data());
  }
  state.counters["layouts_per_s"] =
      benchmark::Counter(static_cast<double>(layouts), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanGpt3On1024A100)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ComposeStep(benchmark::State& state) {
  const auto m   = gpt3_175b();
  const auto in  = gpt3_input(1);
  const auto dev = sizeup::device_model(sizeup::require_gpu("a100-80gb"), "bf16");
  const auto ctx = sizeup::step_context(m, in.base, dev);
  sizeup::Layout l;
  l.dp = 16, l.tp = 8, l.pp = 8, l.micro = 1, l.micro_batches = 96, l.zero = 1, l.shard = 16;
  const auto mc = sizeup::micro_costs(ctx, l);
  for (auto _ : state) {
    benchmark::DoNotOptimize(l);
    auto b = sizeup::compose_step(ctx, l, mc, nullptr, in.step);
    benchmark::DoNotOptimize(b.step_seconds);
  }
}
BENCHMARK(BM_ComposeStep);

void BM_MicroCosts(benchmark::State& state) {
  const auto m   = gpt3_175b();
  const auto in  = gpt3_input(1);
  const auto dev = sizeup::device_model(sizeup::require_gpu("a100-80gb"), "bf16");
  const auto ctx = sizeup::step_context(m, in.base, dev);
  sizeup::Layout l;
  l.dp = 16, l.tp = 8, l.pp = 8, l.micro = 1, l.micro_batches = 96;
  for (auto _ : state) {
    benchmark::DoNotOptimize(l);
    auto mc = sizeup::micro_costs(ctx, l);
    benchmark::DoNotOptimize(mc.dense_fwd);
  }
}
BENCHMARK(BM_MicroCosts);

}  // namespace
