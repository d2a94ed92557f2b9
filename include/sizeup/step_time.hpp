// Step time of one optimizer step of a parallel layout on a cluster, from the hardware and the
// layout (no assumed MFU): compute of every matrix product of the FLOPs model (forward,
// backward, recomputation) at a shape-dependent efficiency, attention kernels, memory-bound
// operations, tensor/sequence/context/expert-parallel communication, the pipeline bubble and
// point-to-point sends, data-parallel gradient reduction with ZeRO/FSDP, optimizer update and
// offload over PCIe.
//
// Legend: L layers, d hidden size, f MLP width, V vocabulary, T sequence length, b micro-batch,
// t tensor-, p pipeline-, v virtual-, c context-, e expert-, n data-parallel ranks, m
// micro-batches per step (global batch / (b · n)), s stage index.
//
// Sources:
// - Per-layer matmuls and their backward (2 x forward: dX and dW): Narayanan et al. 2021
//   (SC'21), Sec. 5.1; recomputation repeats the forward (full) or the attention core
//   (selective): Korthikanti et al. 2022, Sec. 5.
// - Tensor parallelism: 2 all-reduces of b·T·d per layer in forward and 2 in backward
//   (Shoeybi et al. 2019, Sec. 3); with sequence parallelism each becomes a reduce-scatter plus
//   an all-gather of the same volume (Korthikanti et al. 2022, Sec. 4.2.2).
// - Pipeline: 1F1B and interleaved schedules, bubble (p - 1)/(v·m) of the ideal time; one send
//   of b·T·d/t (scatter/gather optimization) per micro-batch and virtual stage in each
//   direction (Narayanan et al. 2021, Sec. 2.2 and 4.1).
// - Data parallelism: gradient all-reduce (ZeRO-1/2: reduce-scatter + parameter all-gather;
//   ZeRO-3/FSDP: per-micro-batch all-gathers in forward and backward and a reduce-scatter):
//   Rajbhandari et al. 2020, Sec. 7 (communication volumes 2Ψ, 2Ψ, 3Ψ).
// - Expert parallelism: all-to-all dispatch and combine of b·T·k·d per MoE layer, forward and
//   backward (Lepikhin et al. 2021, GShard; Rajbhandari et al. 2022, DeepSpeed-MoE).
// - Context parallelism: ring exchange of K and V blocks, (c - 1) steps, overlapped with the
//   blocks' attention (Liu et al. 2023, Ring Attention; Megatron-Core context parallel).
// - MFU / HFU: Chowdhery et al. 2022 (PaLM), App. B; Korthikanti et al. 2022, Sec. 6.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/memory_train.hpp"
#include "sizeup/model.hpp"
#include "sizeup/perf_model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// Options of the step-time model beyond the training layout.
struct StepOptions {
  // Data-parallel gradient reduction overlaps the backward pass of the last micro-batch
  // (PyTorch DDP buckets, Megatron-Core overlap_grad_reduce); false: it runs after the
  // backward pass (Megatron-LM 2021 "local" DDP).
  bool dp_overlap = true;
  // Tensor-parallel communication overlapped with GEMMs (Transformer Engine userbuffers,
  // NeMo tp_comm_overlap): exposed time becomes max(0, comm - overlapped GEMM time).
  bool tp_overlap = false;
  // Explicit layers per pipeline stage (sum = L); empty: the balancing rule.
  std::vector<std::int64_t> stage_layers;
};

// The precomputed, layout-independent description of a model on a device at one sequence
// length: GEMM shapes per layer, parameter counts per layer, FLOPs per token. Built once;
// the planner evaluates millions of layouts against it without allocating.
struct StepContext {
  struct Gemm {
    double out = 0, in = 0;  // weight {out, in}
    int split = 0;           // 0 replicated, 1 column, 2 row, 3 expert (column), 4 expert (row)
  };
  std::vector<Gemm> attn_gemms, mlp_gemms, moe_gemms;  // per layer
  double head_out = 0, head_in = 0;                    // output head {V, d}
  double d = 0, q_width = 0, kv_width = 0, n_head = 0, head_dim_qk = 0, head_dim_v = 0;
  double mlp_act_width = 0;  // f (gated: act(gate)·up reads 2f)
  bool gated = false, causal = true, rope = false;
  double n_layer = 0, n_moe_layers = 0;
  double n_expert = 0, n_expert_used = 0;
  double norms_per_layer = 2;
  double seq             = 0;
  // Parameters per layer, whole (divide by t, e as their split says).
  double attn_params_tp = 0, attn_params_rep = 0;  // split by t / replicated (norms)
  double mlp_params_tp = 0, moe_params_tp = 0, moe_params_rep = 0;  // moe_params_tp: /(t·e)
  double embed_params = 0, head_params = 0;  // split by t (vocab-parallel); 0 head when tied
  bool tied_head = true;
  // Model FLOPs per token (FLOPs model, training = 3 x forward) and recompute FLOPs per token.
  double model_flops_per_token          = 0;
  double recompute_full_flops_per_token = 0, recompute_selective_flops_per_token = 0;
  DeviceModel device;
  int weight_bytes = 2, grad_bytes = 4, act_bytes = 2, master_bytes = 4;
  double optimizer_bytes_per_param = 8;  // optimizer state per parameter (Adam: 2 x fp32)
  bool fp8                         = false;
  AttentionImpl attention          = AttentionImpl::flash;
  double dropout                   = 0;
};

StepContext step_context(const ModelSpec& m, const TrainInput& in, const DeviceModel& device);

// One layout, as plain numbers (what the planner enumerates).
struct Layout {
  std::int64_t dp = 1, tp = 1, pp = 1, v = 1, ep = 1, cp = 1;
  int zero                   = 0;  // effective: fsdp full/hybrid = 3, grad_op = 2
  std::int64_t shard         = 1;  // ZeRO/FSDP shard group (dp, or the node's ranks for hybrid)
  bool sp                    = false;
  std::int64_t micro         = 1;  // b
  std::int64_t micro_batches = 1;  // m
  Recompute recompute        = Recompute::none;
  bool offload               = false;
  bool tp_overlap            = false;  // StepOptions::tp_overlap (read by micro_costs)
};

// Seconds of one micro-batch through one layer on one rank, and the other per-micro-batch
// pieces. Depends on (t, c, e, b, sp, recompute) only: the planner caches it.
struct MicroCosts {
  double dense_fwd = 0, dense_bwd = 0, dense_recompute = 0;  // compute (GEMM+attn+memory)
  double moe_fwd = 0, moe_bwd = 0, moe_recompute = 0;
  double gemm_fwd = 0, attn_fwd = 0, mem_fwd = 0;  // split of dense_fwd (explain)
  double tp_comm  = 0;  // exposed TP (or SP) communication of one layer, fwd + bwd (+ rc)
  double cp_comm  = 0;  // exposed ring exchange of one layer, fwd + bwd
  double ep_comm  = 0;  // all-to-all of one MoE layer, fwd + bwd
  double head_fwd = 0, head_bwd = 0, embed_fwd = 0, embed_bwd = 0;
  double p2p = 0;  // one activation send between stages
};
MicroCosts micro_costs(const StepContext& c, const Layout& l);

// The composed step, every component in seconds (exposed time on the critical path).
struct StepBreakdown {
  double compute = 0, recompute = 0, tp_comm = 0, cp_comm = 0, ep_comm = 0;
  double pp_bubble = 0, pp_p2p = 0, dp_comm = 0, zero_gather = 0, optimizer = 0, offload = 0;
  double step_seconds       = 0;
  double stage_max_seconds  = 0;  // slowest stage, one micro-batch (fwd + bwd + rc + comm)
  std::int64_t first_layers = 0, last_layers = 0, max_layers = 0;
};
// Stage layer counts by the balancing rule: floor(L/p) each, the remainder to the middle
// stages first (the first and last also hold the embedding and the head), then the last,
// then the first. Writes p counts to `out` (size >= p).
void balanced_stage_layers(std::int64_t layers, std::int64_t p, std::int64_t* out);
// `stage_layers`: p counts, or nullptr for the balancing rule.
StepBreakdown compose_step(const StepContext& c, const Layout& l, const MicroCosts& mc,
                           const std::int64_t* stage_layers, const StepOptions& o);

struct StepTimeReport {
  Breakdown<double> rows;  // seconds per component (keys: compute_seconds, ...), derivations
  double step_seconds              = 0;
  double tokens_per_second         = 0;  // cluster
  double tokens_per_second_per_gpu = 0;
  double mfu = 0, hfu = 0;
  double tflops_per_gpu          = 0;  // model FLOPs achieved per GPU (10^12 / s)
  double hardware_tflops_per_gpu = 0;  // including recomputation
  std::vector<std::int64_t> stage_layers;
  std::vector<std::string> notes;
};

// The step time of the layout in `in` (TrainInput: workload, recipe, plan, activations) on
// `device`. Throws InputError for an inconsistent layout.
StepTimeReport step_time(const ModelSpec& m, const TrainInput& in, const DeviceModel& device,
                         const StepOptions& o = {});

Layout layout_of(const TrainInput& in);

}  // namespace sizeup
