// Planner: its best layout and its counts equal a brute-force pass over the same layouts
// through the public train path (train_memory + step_time).
#include "sizeup/plan.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/activations.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

ModelSpec small_gpt() {
  ModelSpec m;
  m.name    = "small";
  m.n_layer = 4, m.n_embd = 512, m.n_head = 8, m.n_head_kv = 8, m.head_dim = 64;
  m.n_ff = 2048, m.n_vocab = 8000, m.n_ctx = 1024;
  m.positions = PositionKind::learned, m.norm = NormKind::layernorm, m.norm_bias = true;
  m.mlp = MlpKind::plain, m.activation = "gelu", m.tied_head = true;
  return m;
}

std::vector<std::int64_t> divs(std::int64_t n) {
  std::vector<std::int64_t> d;
  for (std::int64_t i = 1; i <= n; ++i)
    if (n % i == 0) d.push_back(i);
  return d;
}

TEST(plan, top_layout_equals_brute_force_through_train_path) {
  const ModelSpec m = small_gpt();
  PlanInput in;
  in.gpus                       = 8;
  in.base.workload.seq_len      = 512;
  in.base.workload.global_batch = 32;
  in.base.gpus_per_node         = 4;
  in.base.overhead_bytes        = 0;
  in.base.gpu_memory_bytes      = 160ull << 20;  // 160 MiB: some layouts do not fit
  in.top                        = 3;
  in.threads                    = 2;
  const DeviceModel dev         = device_model(require_gpu("a100-80gb"), "bf16");
  const PlanReport r            = plan_search(m, in, dev);
  ASSERT_FALSE(r.plans.empty());

  // Brute force over the same dimensions.
  std::int64_t evaluated = 0, feasible = 0, oom = 0;
  double best = 1e300;
  for (auto tp : divs(8))
    for (auto cp : divs(8 / tp))
      for (auto pp : divs(8 / (tp * cp))) {
        if (m.n_head % tp || 512 % cp || pp > 4) continue;
        const std::int64_t dp = 8 / (tp * cp * pp);
        if (32 % dp || 4 % pp) continue;
        std::vector<std::int64_t> vs{1};
        if (pp > 1)
          for (auto v : divs(4 / pp))
            if (v > 1) vs.push_back(v);
        for (auto b : divs(32 / dp))
          for (bool sp : {false, true}) {
            if (sp && (tp == 1 || 512 % (tp * cp))) continue;
            for (auto rc : {Recompute::none, Recompute::selective, Recompute::full})
              for (auto v : vs)
                for (int s = 0; s < kShardModes; ++s)
                  for (bool off : {false, true}) {
                    ++evaluated;
                    const std::int64_t mbs = 32 / (dp * b);
                    if (v > 1 && mbs % pp) continue;
                    const auto mode = static_cast<ShardMode>(s);
                    if (mode == ShardMode::fsdp_hybrid) {
                      const std::int64_t g = std::clamp<std::int64_t>(4 / (tp * cp), 1, dp);
                      if (dp % g || g >= dp) continue;
                    }
                    PlanCandidate c;
                    c.plan.dp = dp, c.plan.tp = tp, c.plan.pp = pp, c.plan.cp = cp;
                    c.plan.interleave = v;
                    c.plan.schedule   = v > 1 ? Schedule::interleaved : Schedule::one_f_one_b;
                    c.plan.sequence_parallel = sp;
                    c.plan.offload           = off ? Offload::optimizer : Offload::none;
                    c.plan.zero              = s >= 1 && s <= 3 ? s : 0;
                    c.plan.fsdp =
                        mode == ShardMode::fsdp_hybrid ? FsdpMode::hybrid : FsdpMode::none;
                    c.micro_batch               = b;
                    c.recompute                 = rc;
                    const TrainInput ti         = train_input_of(in, c);
                    const TrainMemoryReport mem = train_memory(m, ti);
                    if (!mem.fits) {
                      ++oom;
                      continue;
                    }
                    ++feasible;
                    best = std::min(best, step_time(m, ti, dev).step_seconds);
                  }
          }
      }
  EXPECT_EQ(r.evaluated, evaluated);
  EXPECT_EQ(r.feasible, feasible);
  EXPECT_EQ(r.rejected[0], oom);
  EXPECT_GT(oom, 0);
  EXPECT_GT(feasible, 0);
  // The planner's best equals the brute-force best, and the train path agrees on its layout.
  const PlanCandidate& top = r.plans.front();
  EXPECT_NEAR(top.step_seconds, best, best * 1e-12);
  const TrainInput ti = train_input_of(in, top);
  EXPECT_NEAR(step_time(m, ti, dev).step_seconds, top.step_seconds, best * 1e-12);
  EXPECT_EQ(train_memory(m, ti).total_bytes, top.memory_bytes);
  for (std::size_t i = 1; i < r.plans.size(); ++i)
    EXPECT_LE(r.plans[i - 1].step_seconds, r.plans[i].step_seconds);
}

TEST(plan, memory_of_every_kept_layout_matches_train) {
  const ModelSpec m = small_gpt();
  PlanInput in;
  in.gpus                       = 8;
  in.base.workload.seq_len      = 512;
  in.base.workload.global_batch = 32;
  in.top                        = 1000;
  in.threads                    = 1;
  const DeviceModel dev         = device_model(require_gpu("h100-sxm"), "bf16");
  const PlanReport r            = plan_search(m, in, dev);
  ASSERT_EQ(static_cast<std::int64_t>(r.plans.size()), std::min<std::int64_t>(1000, r.feasible));
  for (const auto& c : r.plans) {
    const TrainInput ti = train_input_of(in, c);
    ASSERT_EQ(train_memory(m, ti).total_bytes, c.memory_bytes);
    ASSERT_NEAR(step_time(m, ti, dev).step_seconds, c.step_seconds, c.step_seconds * 1e-12);
  }
}

TEST(plan, rejects_bad_input) {
  PlanInput in;
  in.gpus                       = 0;
  in.base.workload.global_batch = 8;
  const DeviceModel dev         = device_model(require_gpu("h100-sxm"), "bf16");
  EXPECT_THROW(plan_search(small_gpt(), in, dev), InputError);
  in.gpus                       = 8;
  in.base.workload.global_batch = 0;
  EXPECT_THROW(plan_search(small_gpt(), in, dev), InputError);
}

}  // namespace
}  // namespace sizeup

namespace sizeup {
namespace {

TEST(plan, fewest_gpus_within_days) {
  const ModelSpec m = small_gpt();
  PlanInput in;
  in.base.workload.seq_len      = 512;
  in.base.workload.global_batch = 64;
  in.base.gpus_per_node         = 4;
  in.threads                    = 1;
  const DeviceModel dev         = device_model(require_gpu("a100-80gb"), "bf16");
  // Tokens that 8 GPUs' best layout trains in exactly `days`: the answer is at most 8 GPUs,
  // and one node fewer must be too slow.
  in.gpus              = 8;
  const PlanReport at8 = plan_search(m, in, dev);
  const double tokens  = 1e9;
  const double days8   = tokens / at8.plans.front().tokens_per_second / 86400.0;
  const DaysAnswer a   = fewest_gpus_within(m, in, dev, tokens, days8 * 1.0000001);
  ASSERT_TRUE(a.found);
  EXPECT_LE(a.gpus, 8);
  EXPECT_LE(a.days, days8 * 1.0000001);
  if (a.gpus > 4) {
    in.gpus              = a.gpus - 4;
    const PlanReport few = plan_search(m, in, dev);
    EXPECT_GT(tokens / few.plans.front().tokens_per_second / 86400.0, days8 * 1.0000001);
  }
  EXPECT_FALSE(fewest_gpus_within(m, in, dev, 1e30, 1e-9, 64).found);
}

TEST(plan, sweep_global_batch) {
  const ModelSpec m = small_gpt();
  PlanInput in;
  in.gpus                       = 8;
  in.base.workload.seq_len      = 512;
  in.base.workload.global_batch = 8;
  in.threads                    = 1;
  const DeviceModel dev         = device_model(require_gpu("a100-80gb"), "bf16");
  const auto pts                = sweep_plans(m, in, dev, "global_batch", {8, 64});
  ASSERT_EQ(pts.size(), 2u);
  // Eight times the batch takes longer per step but no less throughput.
  EXPECT_GT(pts[1].report.plans.front().step_seconds, pts[0].report.plans.front().step_seconds);
  EXPECT_GE(pts[1].report.plans.front().tokens_per_second,
            pts[0].report.plans.front().tokens_per_second);
  EXPECT_THROW(sweep_plans(m, in, dev, "layers", {1}), InputError);
}

}  // namespace
}  // namespace sizeup
