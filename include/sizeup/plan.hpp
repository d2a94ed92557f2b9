// The layout planner: enumerates every parallel layout of a training run on a cluster (data,
// tensor, pipeline, virtual-stage, expert and context parallelism, ZeRO stage or FSDP mode,
// sequence parallelism, micro-batch, recomputation, optimizer offload), keeps those that fit
// in memory by the training-memory model (each pipeline stage's own memory), ranks them by the
// step-time model (step_time.hpp) and returns the best K with counts of why the others were
// rejected.
//
// Speed: the per-layout work is O(1) arithmetic on precomputed tables. Memory splits into a
// static part (weights, gradients, optimizer states, buffers: train_memory() with no
// activations, once per (t, p, c, e, ZeRO mode, offload)) plus activations (activation_memory(),
// once per (b, t, sp, c, recompute)) composed exactly as train_memory() composes them; step time
// takes micro_costs() once per (t, p, c, e, b, sp, recompute) and compose_step() per layout.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sizeup/memory_train.hpp"
#include "sizeup/model.hpp"
#include "sizeup/step_time.hpp"

namespace sizeup {

// Bounds of one dimension: `fixed` > 0 pins it; otherwise 1..max (0: no bound).
struct DimBound {
  std::int64_t fixed = 0;
  std::int64_t max   = 0;
  bool allows(std::int64_t v) const { return fixed > 0 ? v == fixed : (max <= 0 || v <= max); }
};

// ZeRO / FSDP modes the planner tries (index into PlanCandidate::mode).
enum class ShardMode { zero0, zero1, zero2, zero3, fsdp_hybrid };
const char* to_string(ShardMode s);
inline constexpr int kShardModes = 5;

struct PlanInput {
  TrainInput base;        // precision, optimizer, seq, global batch, attention, dropout, overhead,
                          // headroom, GPU memory, gpus_per_node; its plan is ignored
  std::int64_t gpus = 0;  // N, e.g. 1024
  DimBound tp, pp, dp, v, ep, cp, micro;
  std::vector<Recompute> recompute    = {Recompute::none, Recompute::selective, Recompute::full};
  std::vector<ShardMode> shard        = {ShardMode::zero0, ShardMode::zero1, ShardMode::zero2,
                                         ShardMode::zero3, ShardMode::fsdp_hybrid};
  std::vector<bool> sequence_parallel = {false, true};
  std::vector<bool> offload           = {false, true};
  int top                             = 5;  // K
  int threads                         = 0;  // 0: every core
  StepOptions step;
};

struct PlanCandidate {
  ParallelPlan plan;
  std::int64_t micro_batch   = 1;
  std::int64_t micro_batches = 1;
  Recompute recompute        = Recompute::none;
  ShardMode shard            = ShardMode::zero0;
  double step_seconds = 0, mfu = 0, tokens_per_second = 0;
  ByteCount memory_bytes = 0;  // most loaded stage
  StepBreakdown breakdown;
};

// Reasons a layout is not kept (keys of PlanReport::rejected).
inline constexpr std::array<const char*, 6> kRejectReasons = {
    "out_of_memory",       // the most loaded stage exceeds the GPU memory
    "batch_indivisible",   // global batch not a multiple of micro-batch x dp
    "interleave_batches",  // interleaved schedule: micro-batches not a multiple of pp
    "pipeline_layers",     // pp does not divide the layers (memory model needs equal stages)
    "expert_indivisible",  // ep does not divide the experts
    "hybrid_group",        // hybrid sharding: node group does not divide dp, or equals dp
};

struct PlanReport {
  std::int64_t evaluated = 0;  // layouts enumerated (every combination of the dimensions)
  std::int64_t feasible  = 0;  // kept: divide correctly and fit in memory
  double seconds         = 0;  // wall time of the search
  std::array<std::int64_t, kRejectReasons.size()> rejected{};
  std::vector<PlanCandidate> plans;  // best first, at most K
  int threads = 1;
};

PlanReport plan_search(const ModelSpec& m, const PlanInput& in, const DeviceModel& device);

// Fewest GPUs whose best layout trains `tokens` within `days`: GPU counts double from
// gpus_per_node until one does, then a bisection over whole nodes between the last two
// counts (throughput is taken to grow with the GPU count, which the doubling checks).
struct DaysAnswer {
  bool found        = false;
  std::int64_t gpus = 0;  // the fewest found
  double days       = 0;  // at that count
  PlanReport report;      // the search at that count
  int searches = 0;       // plan searches run
};
DaysAnswer fewest_gpus_within(const ModelSpec& m, PlanInput in, const DeviceModel& device,
                              double tokens, double days, std::int64_t max_gpus = 1 << 20);

// The best layout as one workload dimension changes ("global_batch" or "seq_len").
struct SweepPoint {
  std::int64_t value = 0;
  PlanReport report;  // report.plans empty when nothing fits
};
std::vector<SweepPoint> sweep_plans(const ModelSpec& m, const PlanInput& in,
                                    const DeviceModel& device, const std::string& dimension,
                                    const std::vector<std::int64_t>& values);

// The device model of `gpu` for `dtype` with the step-time options of a request (snake_case
// names: gemm_efficiency, memory_efficiency, link_efficiency, attention_efficiency,
// nvlink_domain, intra_latency, inter_latency, pcie_bandwidth; values as numbers or strings).
DeviceModel step_device(const nlohmann::json& options, const GpuSpec& gpu,
                        const std::string& dtype);

// The TrainInput of a candidate (to run `train` on it, or compare with it).
TrainInput train_input_of(const PlanInput& in, const PlanCandidate& c);

}  // namespace sizeup
