// Training (and fine-tuning) memory of the most loaded GPU: weights, gradients, master
// weights, optimizer states, activations, logits/loss, communication buffers and runtime
// overhead, under data, ZeRO/FSDP, tensor, sequence, pipeline, expert and context parallelism.
//
// Legend: N parameters, t tensor-parallel ranks, p pipeline stages, v virtual stages per
// pipeline rank, S ZeRO/FSDP shard group (dp, or the GPUs of a node for hybrid sharding),
// e expert-parallel ranks, m micro-batches per step, L layers.
//
// Sources:
// - Mixed precision 2 + 4 (+ 2 or 4 gradient) + optimizer bytes per parameter:
//   Micikevicius et al. 2018; Rajbhandari et al. 2020 (ZeRO), Sec. 3.1 (2 + 2 + 12 = 16 B).
// - ZeRO stages 1/2/3 shard optimizer states / + gradients / + weights over the data-parallel
//   group: ZeRO Sec. 5 (Fig. 1). FSDP full-shard = ZeRO-3, shard-grad-op = ZeRO-2, hybrid
//   shards within a node and replicates across nodes (Zhao et al. 2023, PyTorch FSDP, Sec. 3.2).
// - Tensor parallelism splits matmul weights column- or row-wise; norms are replicated
//   (Shoeybi et al. 2019, Megatron-LM, Sec. 3).
// - Pipeline 1F1B: the first stage holds activations of min(p, m) micro-batches; interleaved
//   schedules multiply that by 1 + (p - 1)/(p·v) (Narayanan et al. 2021, Sec. 2.2;
//   Korthikanti et al. 2022, Sec. 4.2.3; Megatron-LM theoretical_memory_usage.py).
// - Expert parallelism: each rank holds n_expert / e experts; expert weights are sharded by
//   ZeRO over the expert-data-parallel group S / e (DeepSpeed-MoE, Rajbhandari et al. 2022).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/activations.hpp"
#include "sizeup/breakdown.hpp"
#include "sizeup/finetune.hpp"
#include "sizeup/model.hpp"
#include "sizeup/optimizer.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

// CUDA context, cuBLAS/cuDNN workspaces and allocator slack: an assumption, overridable.
inline constexpr ByteCount kDefaultOverheadBytes = 1073741824;  // 1 GiB
// torch.nn.parallel.DistributedDataParallel bucket_cap_mb = 25 (MiB).
inline constexpr ByteCount kDdpBucketBytes = 25 * 1048576;

struct TrainInput {
  Workload workload;
  Precision precision = Precision::mixed_bf16;
  int grad_bytes      = 0;  // 0: the recipe's (fp32 accumulation for mixed); 4 or 2 (--grad-dtype)
  Optimizer optimizer = Optimizer::adamw;
  ActivationOptions activation;
  double moe_capacity_factor = 0.0;  // expert capacity factor, e.g. 1.25 (0: dropless top-k)
  ParallelPlan plan;
  FinetuneOptions finetune;
  std::int64_t gpus          = 0;  // --gpus; 0: dp·tp·pp·cp
  std::int64_t gpus_per_node = 8;  // hybrid sharding group, e.g. 8
  ByteCount gpu_memory_bytes = 0;  // 0: `fits` not evaluated
  ByteCount overhead_bytes   = kDefaultOverheadBytes;
  double headroom            = 0.0;  // fraction of GPU memory kept free, e.g. 0.05
  ByteCount ddp_bucket_bytes = kDdpBucketBytes;
  // Multimodal (towers.hpp): images per sequence, their side in pixels (0: the tower's native
  // size), and whether the vision tower and projector stay frozen. workload.seq_len counts the
  // language model's tokens, image tokens included (the CLI adds them).
  std::int64_t images     = 0;
  std::int64_t image_size = 0;
  bool freeze_towers      = false;
};

// The effective per-parameter recipe after --grad-dtype and fine-tuning choices.
struct TrainRecipe {
  int weight_bytes     = 2;  // working copy
  int gradient_bytes   = 4;
  int master_bytes     = 4;
  int state_bytes      = 4;  // dtype of optimizer states (fp32 when there is a master copy)
  int activation_bytes = 2;
  int fp8_cache_bytes  = 0;  // fp8 copy of matmul weights (Transformer Engine), 1 for fp8
  std::string compute_dtype;
};
TrainRecipe train_recipe(const TrainInput& in);

struct TrainMemoryReport {
  // On the most loaded GPU (keys): weights_bytes, fp8_weight_cache_bytes (fp8 only),
  // gradients_bytes, master_bytes, optimizer_bytes, activations_bytes, logits_bytes,
  // communication_bytes, overhead_bytes.
  Breakdown<ByteCount> rows;
  ByteCount total_bytes = 0;
  std::string stage;  // "all" (p = 1), "first" or "last": the most loaded stage
  ByteCount first_stage_bytes = 0;
  ByteCount last_stage_bytes  = 0;
  ByteCount host_bytes        = 0;  // offloaded master weights and optimizer states
  ParamCount params_total     = 0;  // whole model
  ParamCount trainable_params = 0;  // whole model (adapters for LoRA)
  ParamCount params_on_gpu    = 0;  // on the most loaded GPU before ZeRO-3 sharding
  std::int64_t micro_batches  = 1;  // m per optimizer step
  double in_flight            = 1;  // micro-batches whose activations the first stage holds
  std::int64_t shard_group    = 1;  // S
  int zero_stage              = 0;
  ByteCount limit_bytes       = 0;  // GPU memory x (1 - headroom)
  bool fits                   = true;
  TrainRecipe recipe;
  OptimizerStateReport optimizer;  // before sharding, for the most loaded stage
  std::vector<LoraAdapter> adapters;
  std::vector<std::string> notes;  // assumptions
};

// The ZeRO stage a plan shards with: FSDP full and hybrid shard as ZeRO-3, grad-op as ZeRO-2,
// else the stage given.
int effective_zero(const ParallelPlan& p);

// Checks the layout against the model; throws InputError naming the option.
void validate_plan(const ModelSpec& m, const TrainInput& in);

// What activation_memory() is asked for one micro-batch on one rank.
ActivationInput activation_input(const TrainInput& in);

// With the activations of one micro-batch given (tests, searches).
TrainMemoryReport train_memory(const ModelSpec& m, const TrainInput& in,
                               const ActivationReport& act);
// Computes the activations with activation_memory(m, activation_input(in)).
TrainMemoryReport train_memory(const ModelSpec& m, const TrainInput& in);

// The seed documents' estimates for the same run, for comparison (all bytes):
// seed 002: 2N weights + 2N gradients + 2·4N Adam states + 5·b·s·d·2·L activations;
// seed 004 (Transformer Math 101): 2N + 2N + 12N + s·b·h·L·(34 + 5·a·s/h) (t = 1).
struct SeedHeuristic {
  std::string source;
  Breakdown<ByteCount> rows;  // weights, gradients, optimizer, activations
  ByteCount total_bytes = 0;
};
std::vector<SeedHeuristic> seed_heuristics(const ModelSpec& m, ParamCount n, std::int64_t b,
                                           std::int64_t s);

}  // namespace sizeup
