// Serving step times: prefill of a batch of prompts and one decode step of a batch of
// sequences, per operator (FLOPs, bytes moved, bound, seconds), with tensor-, pipeline- and
// expert-parallel communication; and the latency/throughput of a static batch.
//
// Legend: L layers, d hidden size, H query heads, K KV heads, hd head width, f MLP width,
// V vocabulary, E routed experts, k experts per token, B tokens in the step (b sequences
// x T new tokens), c context tokens a query attends to, t tensor-parallel ranks, p pipeline
// stages, e expert-parallel ranks.
//
// Sources: Pope et al. 2022 ("Efficiently Scaling Transformer Inference", Sec. 2-3: decode
// reads every weight and the whole KV cache per step, prefill is compute-bound); Williams et
// al. 2009 (roofline: an operator takes max(FLOPs / peak, bytes / bandwidth)); Shoeybi et al.
// 2019 (Megatron-LM Sec. 3: two all-reduces per layer under tensor parallelism); Patarasuk and
// Yuan 2009 (ring all-reduce moves 2(t-1)/t of the message); Lepikhin et al. 2021 (GShard:
// all-to-all dispatch and combine for expert parallelism); DeepSeek-AI 2024 arXiv:2405.04434
// Sec. 2.1 (MLA's latent cache, weight absorption at decode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/model.hpp"
#include "sizeup/perf_model.hpp"

namespace sizeup {

// One replica's parallel layout. tp * pp GPUs; expert parallelism spreads the routed experts
// over ep of those GPUs (ep divides tp * pp; 1: experts sharded like dense layers by tp).
struct ServingLayout {
  std::int64_t tp = 1;  // t
  std::int64_t pp = 1;  // p
  std::int64_t ep = 1;  // e
  std::int64_t gpus() const { return tp * pp; }
};

// Streaming reads of weights and of the KV cache (decode GEMV-like products, paged
// attention) reach about 80% of the datasheet HBM bandwidth: a plain copy reaches 85-90%
// (perf_model.hpp's note on kMemoryBwFraction; STREAM-like copies: ~1.75 of 2.04 TB/s on
// A100-80GB, ~2.9 of 3.35 TB/s on H100 SXM), decode kernels 75-85% (vLLM/TensorRT-LLM
// kernel benchmarks). The shared kMemoryBwFraction (0.6) stays for activation traffic
// (norms, residuals, activations), the kernels it was set for.
inline constexpr double kStreamingBwFraction = 0.80;

// Serving-specific terms on top of the shared performance model (perf_model.hpp), which
// gives GEMM, memory, attention and collective times.
struct ServingEfficiency {
  // Per forward: kernel launches, scheduling and sampling on the host not hidden by CUDA
  // graphs (0 by default: see docs/serving.md).
  double step_overhead_seconds = 0;
};

// One operator of a forward, per GPU.
struct OpCost {
  std::string key;    // e.g. "mlp", "attention_core", "tp_all_reduce"
  std::string label;  // for humans
  double flops            = 0;
  double weight_bytes     = 0;
  double kv_read_bytes    = 0;
  double kv_write_bytes   = 0;
  double activation_bytes = 0;
  double comm_bytes       = 0;  // bytes each GPU sends
  double seconds          = 0;
  std::string bound;  // "compute", "memory" or "communication"
  Derivation derivation;
};

struct StepTime {
  double seconds         = 0;  // one forward of the whole replica
  double compute_seconds = 0;  // the part of operators that are compute-bound
  double memory_seconds  = 0;  // ... memory-bound
  double comm_seconds    = 0;  // collectives and pipeline sends
  double flops           = 0;  // per GPU
  double bytes           = 0;  // per GPU, HBM traffic
  std::vector<OpCost> ops;
};

// The request shape of one step: `sequences` sequences each adding `new_tokens` tokens to a
// cache already holding `past_tokens` (prefill: new = prompt, past = 0 or a cached prefix;
// decode: new = 1, past = context).
struct StepShape {
  std::int64_t sequences   = 1;
  std::int64_t new_tokens  = 1;
  std::int64_t past_tokens = 0;
};

// One forward of a replica. `in` gives weight and KV formats (in.tp is ignored; layout.tp
// rules). Throws InputError on a layout the model cannot use.
StepTime serving_step(const ModelSpec& m, const InferenceInput& in, const ServingLayout& layout,
                      const DeviceModel& hw, const ServingEfficiency& eff, const StepShape& shape);

// A static batch of b requests of P prompt and G generated tokens on one replica:
//  ttft = prefill of the b prompts (all at once) + the first token's sampling;
//  tpot = mean decode step over the G - 1 later tokens (inter-token latency: the time between
//         consecutive output tokens of one request);
//  e2e  = ttft + (G - 1) * tpot;
//  throughput per GPU = b * G / e2e / gpus (output) and b * (P + G) / e2e / gpus (total).
struct ServingReport {
  double ttft_seconds                     = 0;
  double tpot_seconds                     = 0;
  double e2e_seconds                      = 0;
  double output_tokens_per_second_per_gpu = 0;
  double total_tokens_per_second_per_gpu  = 0;
  double output_tokens_per_second         = 0;  // per replica
  std::int64_t compute_bound_batch        = 0;  // smallest b whose decode is compute-bound
                                                // (0: none up to 1e6)
  StepTime prefill;
  StepTime decode_first;  // decode step at context P + 1
  StepTime decode_last;   // at context P + G - 1
  Breakdown<double> rows;
  std::vector<std::string> notes;
};

ServingReport serve_static(const ModelSpec& m, const InferenceInput& in,
                           const ServingLayout& layout, const DeviceModel& hw,
                           const ServingEfficiency& eff, std::int64_t batch, std::int64_t prompt,
                           std::int64_t gen);

// Expected number of distinct experts touched by B tokens each routed to k of E experts
// uniformly: E * (1 - (1 - k/E)^B).
double expected_distinct_experts(double n_expert, double k, double tokens);

// The coefficients of a step's time as a function of its aggregate shape, for the load
// simulator (serve_sim.hpp): one call per step must cost O(1).
struct StepCostModel {
  // time = tokens_seconds(tokens) + max(attention compute, KV traffic) + overhead, where
  // tokens_seconds (every operator but attention: matmuls with their shape efficiency, weight
  // and activation traffic, collectives) is tabulated from serving_step on a log grid of token
  // counts and interpolated linearly, and attention is affine in its (query, context) pairs
  // and KV reads.
  std::vector<double> grid_tokens, grid_seconds;  // B (3 points per octave to 2^17) -> seconds
  double attn_flops_per_pair = 0;  // per (query token, context token) pair, all layers
  double attn_rate           = 0;  // FLOP/s achieved by attention kernels
  double kv_bytes_per_token  = 0;  // per GPU, all layers
  double memory_rate         = 0;  // bytes/s achieved
  double overhead_seconds    = 0;
  std::vector<double> by_token;  // tokens_seconds of 0..4096 tokens, precomputed
  double tokens_seconds(double tokens) const;
  // Seconds of a step with `tokens` new tokens whose queries attend to `pairs` (query,
  // context) pairs in total, reading `kv_read` cached tokens and writing `tokens`.
  double seconds(double tokens, double pairs, double kv_read) const;
  // Total seconds of j consecutive decode steps of n sequences whose caches hold ctx0 tokens
  // in total before the first (each step adds n): a closed form of the sum of seconds().
  double decode_run_seconds(double n, double ctx0, double j) const;
};

StepCostModel step_cost_model(const ModelSpec& m, const InferenceInput& in,
                              const ServingLayout& layout, const DeviceModel& hw,
                              const ServingEfficiency& eff);

}  // namespace sizeup
