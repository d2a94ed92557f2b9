// Training compute, time, cost and energy, and model/hardware FLOPs utilisation.
//
// Legend: N parameters (active per token for MoE), D training tokens, L layers, H query heads,
// Q head width, T sequence length, G GPUs, P peak dense FLOP/s of one GPU.
//
// Sources:
// - C = 6·N·D: Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Sec. 2.1
//   (forward 2N, backward 4N per token; context-dependent terms dropped).
// - Attention-inclusive model FLOPs per token 6N + 12·L·H·Q·T: Chowdhery et al. 2022 (PaLM),
//   Appendix B (dense self-attention, full T x T scores, no causal halving).
// - MFU / HFU: PaLM Appendix B; Korthikanti et al. 2022, Sec. 6 (HFU counts recomputation).
#pragma once

#include <cstdint>
#include <optional>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

// Smallest MFU accepted anywhere (--mfu, --achieved-flops / peak): below it times are absurd.
inline constexpr double kMinMfu = 1e-6;

// 1 PFLOP-day = 10^15 FLOP/s x 86,400 s (Brown et al. 2020 and the seed slides).
inline constexpr double kFlopsPerPflopDay = 1e15 * kSecondsPerDay;  // 8.64e19 FLOPs
inline constexpr double kDefaultMfu       = 0.4;  // assumption shown in the output, not a fact

// Shape that feeds PaLM's attention term.
struct AttentionShape {
  std::int64_t n_layer  = 0;  // L, e.g. 80
  std::int64_t n_head   = 0;  // H, e.g. 64
  std::int64_t head_dim = 0;  // Q, e.g. 128
  std::int64_t seq_len  = 0;  // T, e.g. 4096
};

// L, H, Q from the model (Q averaged over q/k and v widths for MLA) with the given T.
AttentionShape attention_shape(const ModelSpec& m, std::int64_t seq_len);

// FLOPs per training token. Rows: dense_matmul (6N), attention (12·L·H·Q·T, only with a
// shape), model (their sum: what MFU counts), recompute (extra forward work), hardware (model +
// recompute: what HFU counts). Full recomputation repeats the forward (2N + 4·L·H·Q·T);
// selective repeats only the attention-score forward QK^T and softmax·V (4·L·H·Q·T).
Breakdown<FlopCount> training_flops_per_token(double params,
                                              const std::optional<AttentionShape>& attention,
                                              Recompute recompute = Recompute::none);

struct TrainTimeInput {
  double params = 0;  // N, e.g. 70e9
  double tokens = 0;  // D, e.g. 15e12
  std::optional<AttentionShape> attention;
  std::int64_t gpus         = 1;                 // G, e.g. 1024
  FlopRate peak_flops_per_s = 0;                 // P, one GPU, dense, e.g. 989.4e12 (H100 SXM bf16)
  double mfu                = kDefaultMfu;       // fraction of P achieved, e.g. 0.5
  std::optional<FlopRate> achieved_flops_per_s;  // per GPU; replaces mfu when given
  std::optional<double> board_power_watts;       // per GPU, e.g. 700
  std::optional<double> price_per_gpu_hour;      // USD, e.g. 2.5
  double pue = 1.0;                              // facility overhead, e.g. 1.1
  std::optional<double> grid_kg_per_kwh;         // kgCO2e per kWh, e.g. 0.4
};

// Rows (keys): total_flops, achieved_flops_per_s (per GPU), cluster_flops_per_s, seconds,
// days, gpu_hours, pflop_days, and when their inputs are given cost_usd, energy_kwh,
// emissions_kg. With an attention shape also total_flops_with_attention, seconds_with_attention,
// days_with_attention (the same run timed with PaLM's count at the same MFU).
struct TrainTimeReport {
  Breakdown<double> rows;
  double mfu = 0;  // the MFU used (given, or achieved / peak)
  double value(const std::string& key) const;
  bool has(const std::string& key) const { return rows.find(key) != nullptr; }
};

TrainTimeReport train_time(const TrainTimeInput& in);

struct MfuInput {
  double params = 0;  // N
  std::optional<AttentionShape> attention;
  Recompute recompute       = Recompute::none;
  double tokens_per_second  = 0;  // whole cluster
  std::int64_t gpus         = 1;
  FlopRate peak_flops_per_s = 0;  // one GPU
  // Option an implausible rate is blamed on (--step-seconds when the rate came from a step time).
  const char* throughput_field = "--tokens-per-second";
};

// Rows: tokens_per_second, model_flops_per_token, hardware_flops_per_token,
// model_flops_per_s_per_gpu, hardware_flops_per_s_per_gpu, mfu, hfu.
struct MfuReport {
  Breakdown<double> rows;
  Breakdown<FlopCount> per_token;  // training_flops_per_token() rows
  double mfu = 0;
  double hfu = 0;
};

MfuReport mfu(const MfuInput& in);

// Tokens per second from a measured step: B·T / S (B sequences of T tokens per step).
Row<double> tokens_per_second_from_step(std::int64_t global_batch, std::int64_t seq_len,
                                        double step_seconds);

}  // namespace sizeup
