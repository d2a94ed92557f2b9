#include "sizeup/compute_time.hpp"

#include <fmt/format.h>

#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr const char* kKaplan = "Kaplan et al. 2020, Sec. 2.1 (C = 6ND)";
constexpr const char* kPalm   = "Chowdhery et al. 2022 (PaLM), Appendix B";

// Below one part in a million a "utilisation" is a unit mistake, and it would push times
// towards overflow.

std::string num(double v) { return fmt::format("{:.6g}", v); }

void require_positive(double v, const char* field, const char* what) {
  if (!std::isfinite(v) || v <= 0)
    throw InputError(what, field, fmt::format("must be a positive number, got {}", num(v)));
}

// Results must stay finite; an inf means the inputs were extreme (e.g. MFU 1e-300).
double finite(double v, const char* field) {
  if (!std::isfinite(v))
    throw InputError("result out of range", field, "the inputs give a non-finite result");
  return v;
}

// The option a non-finite row is blamed on: the input that scales it last (cost by the price,
// emissions by the grid intensity, rates by the throughput, FLOPs by the model size, times by
// the token count).
const char* option_for_row(const std::string& key) {
  if (key == "cost_usd") return "--price-per-gpu-hour";
  if (key == "emissions_kg") return "--grid-intensity";
  if (key.find("per_s") != std::string::npos || key == "mfu" || key == "hfu")
    return "--tokens-per-second";
  if (key == "model" || key == "hardware" || key == "attention" || key == "recompute" ||
      key == "dense_matmul" || key.rfind("total_flops", 0) == 0)
    return "--params";
  return "--tokens";
}

void add(Breakdown<double>& b, const char* key, const char* label, double v, Derivation d) {
  b.rows.push_back({key, label, finite(v, option_for_row(key)), std::move(d)});
}

void validate_shape(const AttentionShape& s) {
  const std::pair<std::int64_t, const char*> dims[] = {{s.n_layer, "--layers"},
                                                       {s.n_head, "--heads"},
                                                       {s.head_dim, "--head-dim"},
                                                       {s.seq_len, "--seq"}};
  for (const auto& [v, field] : dims)
    if (v <= 0) throw InputError("invalid attention shape", field, "must be positive");
}

// 12·L·H·Q·T: forward QK^T and softmax·V, 2·Q·T FLOPs each per head, layer and token (4LHQT),
// backward twice that (PaLM Appendix B counts 6·L·H·(2·Q·T)).
double attention_flops(const AttentionShape& s) {
  return 12.0 * static_cast<double>(s.n_layer) * static_cast<double>(s.n_head) *
         static_cast<double>(s.head_dim) * static_cast<double>(s.seq_len);
}

std::string shape_values(const AttentionShape& s) {
  return fmt::format("{} * {} * {} * {}", s.n_layer, s.n_head, s.head_dim, s.seq_len);
}

}  // namespace

AttentionShape attention_shape(const ModelSpec& m, std::int64_t seq_len) {
  AttentionShape s{m.n_attention_layers() + m.n_layer_dec, m.n_head, m.head_dim, seq_len};
  if (m.attention == AttentionKind::mla)  // QK^T uses nope+rope dims, softmax·V uses v dims
    s.head_dim = (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim) / 2;
  return s;
}

Breakdown<FlopCount> training_flops_per_token(double params,
                                              const std::optional<AttentionShape>& attention,
                                              Recompute recompute) {
  require_positive(params, "--params", "invalid parameter count");
  Breakdown<FlopCount> b;
  const double dense = 6.0 * params;
  add(b, "dense_matmul", "weight matmuls (forward 2N + backward 4N)", dense,
      {"6 * N", "6 * " + num(params), kKaplan});
  double attn = 0;
  if (attention) {
    validate_shape(*attention);
    attn = attention_flops(*attention);
    add(b, "attention", "attention scores and values (forward + backward)", attn,
        {"12 * L * H * Q * T", "12 * " + shape_values(*attention), kPalm});
  }
  const double model = dense + attn;
  add(b, "model", "model FLOPs per token (MFU numerator)", model,
      {attention ? "6 * N + 12 * L * H * Q * T" : "6 * N", num(dense) + " + " + num(attn),
       attention ? kPalm : kKaplan});
  double extra = 0;
  Derivation d{"0", "no recomputation", "Korthikanti et al. 2022, Sec. 5"};
  if (recompute == Recompute::full) {
    extra = 2.0 * params + attn / 3.0;
    d     = {"2 * N + 4 * L * H * Q * T", num(2.0 * params) + " + " + num(attn / 3.0),
             "full recomputation repeats the forward pass (Korthikanti et al. 2022, Sec. 4)"};
  } else if (recompute == Recompute::selective) {
    extra = attn / 3.0;
    d     = {"4 * L * H * Q * T", attention ? "4 * " + shape_values(*attention) : "no shape: 0",
             "selective recomputation repeats the QK^T and softmax*V forward (Korthikanti et al. "
                 "2022, Sec. 4.2; their Eq. 8 counts 12*L*H*Q*T, the whole attention core again)"};
  }
  add(b, "recompute", "recomputation per token", extra, d);
  add(b, "hardware", "hardware FLOPs per token (HFU numerator)", model + extra,
      {"model + recompute", num(model) + " + " + num(extra), "PaLM Appendix B (HFU)"});
  return b;
}

double TrainTimeReport::value(const std::string& key) const {
  const Row<double>* r = rows.find(key);
  return r ? r->value : 0.0;
}

TrainTimeReport train_time(const TrainTimeInput& in) {
  require_positive(in.params, "--params", "invalid parameter count");
  require_positive(in.tokens, "--tokens", "invalid token count");
  if (in.gpus < 1) throw InputError("invalid GPU count", "--gpus", "must be at least 1");
  require_positive(in.peak_flops_per_s, "--gpu", "invalid peak FLOP/s");
  if (in.pue < 1 || !std::isfinite(in.pue))
    throw InputError("invalid PUE", "--pue", "power usage effectiveness must be >= 1");

  TrainTimeReport r;
  auto& b            = r.rows;
  const double G     = static_cast<double>(in.gpus);
  const double total = 6.0 * in.params * in.tokens;
  add(b, "total_flops", "training FLOPs", total,
      {"6 * N * D", fmt::format("6 * {} * {}", num(in.params), num(in.tokens)), kKaplan});

  double achieved = 0;
  if (in.achieved_flops_per_s) {
    require_positive(*in.achieved_flops_per_s, "--achieved-flops", "invalid throughput");
    if (*in.achieved_flops_per_s < kMinMfu * in.peak_flops_per_s)
      throw InputError("invalid throughput", "--achieved-flops",
                       "below a millionth of the peak; give FLOP/s per GPU, e.g. 400T");
    if (*in.achieved_flops_per_s > in.peak_flops_per_s)
      throw InputError("impossible throughput", "--achieved-flops",
                       fmt::format("{} FLOP/s exceeds the GPU's dense peak {} FLOP/s",
                                   num(*in.achieved_flops_per_s), num(in.peak_flops_per_s)));
    achieved = *in.achieved_flops_per_s;
    r.mfu    = achieved / in.peak_flops_per_s;
    add(b, "achieved_flops_per_s", "achieved FLOP/s per GPU", achieved,
        {"given", num(achieved) + " (MFU " + num(r.mfu) + ")", "--achieved-flops"});
  } else {
    if (!(in.mfu >= kMinMfu && in.mfu <= 1))
      throw InputError("invalid MFU", "--mfu",
                       fmt::format("must be in [1e-6, 1], got {}", num(in.mfu)));
    r.mfu    = in.mfu;
    achieved = in.mfu * in.peak_flops_per_s;
    add(b, "achieved_flops_per_s", "achieved FLOP/s per GPU", achieved,
        {"MFU * P", fmt::format("{} * {}", num(in.mfu), num(in.peak_flops_per_s)),
         "MFU as defined in PaLM Appendix B"});
  }
  const double cluster = achieved * G;
  add(b, "cluster_flops_per_s", "achieved FLOP/s, whole cluster", cluster,
      {"G * MFU * P", fmt::format("{} * {}", in.gpus, num(achieved)),
       "tau = GPUs x FLOP/s per GPU"});
  const double seconds = total / cluster;
  add(b, "seconds", "training time (s)", seconds,
      {"6ND / (G * MFU * P)", fmt::format("{} / {}", num(total), num(cluster)), "C = tau * T"});
  add(b, "days", "training time (days)", seconds / kSecondsPerDay,
      {"seconds / 86400", num(seconds) + " / 86400", ""});
  const double gpu_hours = G * seconds / 3600.0;
  add(b, "gpu_hours", "GPU-hours", gpu_hours,
      {"G * seconds / 3600", fmt::format("{} * {} / 3600", in.gpus, num(seconds)), ""});
  add(b, "pflop_days", "PFLOP-days", total / kFlopsPerPflopDay,
      {"C / (1e15 * 86400)", num(total) + " / 8.64e19", "1 PFLOP-day = 1e15 FLOP/s for a day"});

  if (in.price_per_gpu_hour) {
    if (!(*in.price_per_gpu_hour >= 0) || !std::isfinite(*in.price_per_gpu_hour))
      throw InputError("invalid price", "--price-per-gpu-hour", "must be >= 0");
    add(b, "cost_usd", "cost (USD)", gpu_hours * *in.price_per_gpu_hour,
        {"GPU-hours * price", fmt::format("{} * {}", num(gpu_hours), num(*in.price_per_gpu_hour)),
         "--price-per-gpu-hour"});
  }
  if (in.board_power_watts) {
    const double kwh = *in.board_power_watts * gpu_hours * in.pue / 1000.0;
    add(b, "energy_kwh", "energy (kWh)", kwh,
        {"W * GPU-hours * PUE / 1000",
         fmt::format("{} * {} * {} / 1000", num(*in.board_power_watts), num(gpu_hours),
                     num(in.pue)),
         "assumes every GPU draws its board power for the whole run"});
    if (in.grid_kg_per_kwh) {
      if (!(*in.grid_kg_per_kwh >= 0) || !std::isfinite(*in.grid_kg_per_kwh))
        throw InputError("invalid grid intensity", "--grid-intensity", "must be >= 0");
      add(b, "emissions_kg", "emissions (kgCO2e)", kwh * *in.grid_kg_per_kwh,
          {"kWh * grid intensity", fmt::format("{} * {}", num(kwh), num(*in.grid_kg_per_kwh)),
           "--grid-intensity (kgCO2e/kWh)"});
    }
  }
  if (in.attention) {
    const auto per_token = training_flops_per_token(in.params, in.attention);
    const double with    = per_token.find("model")->value * in.tokens;
    add(b, "total_flops_with_attention", "training FLOPs incl. attention", with,
        {"(6N + 12 * L * H * Q * T) * D",
         fmt::format("({} + 12 * {}) * {}", num(6.0 * in.params), shape_values(*in.attention),
                     num(in.tokens)),
         kPalm});
    add(b, "seconds_with_attention", "training time incl. attention (s)", with / cluster,
        {"C_attn / (G * MFU * P)", fmt::format("{} / {}", num(with), num(cluster)), kPalm});
    add(b, "days_with_attention", "training time incl. attention (days)",
        with / cluster / kSecondsPerDay, {"seconds / 86400", num(with / cluster) + " / 86400", ""});
  }
  return r;
}

Row<double> tokens_per_second_from_step(std::int64_t global_batch, std::int64_t seq_len,
                                        double step_seconds) {
  if (global_batch < 1)
    throw InputError("invalid batch", "--global-batch", "must be at least 1 sequence");
  if (seq_len < 1) throw InputError("invalid sequence length", "--seq", "must be at least 1");
  require_positive(step_seconds, "--step-seconds", "invalid step time");
  const double tps =
      static_cast<double>(global_batch) * static_cast<double>(seq_len) / step_seconds;
  return {"tokens_per_second",
          "tokens per second (cluster)",
          finite(tps, "--step-seconds"),
          {"B * T / S", fmt::format("{} * {} / {}", global_batch, seq_len, num(step_seconds)),
           "measured step time"}};
}

MfuReport mfu(const MfuInput& in) {
  require_positive(in.tokens_per_second, "--tokens-per-second", "invalid throughput");
  if (in.gpus < 1) throw InputError("invalid GPU count", "--gpus", "must be at least 1");
  require_positive(in.peak_flops_per_s, "--gpu", "invalid peak FLOP/s");
  MfuReport r;
  r.per_token        = training_flops_per_token(in.params, in.attention, in.recompute);
  const double model = r.per_token.find("model")->value;
  const double hw    = r.per_token.find("hardware")->value;
  const double G     = static_cast<double>(in.gpus);
  const double peak  = in.peak_flops_per_s * G;
  const double tps   = in.tokens_per_second;
  auto& b            = r.rows;
  add(b, "tokens_per_second", "tokens per second (cluster)", tps, {"measured", num(tps), ""});
  add(b, "model_flops_per_s_per_gpu", "model FLOP/s per GPU", tps * model / G,
      {"tokens/s * model FLOPs per token / G",
       fmt::format("{} * {} / {}", num(tps), num(model), in.gpus), kPalm});
  add(b, "hardware_flops_per_s_per_gpu", "hardware FLOP/s per GPU", tps * hw / G,
      {"tokens/s * hardware FLOPs per token / G",
       fmt::format("{} * {} / {}", num(tps), num(hw), in.gpus), kPalm});
  r.mfu = finite(tps * model / peak, in.throughput_field);
  r.hfu = finite(tps * hw / peak, in.throughput_field);
  if (r.hfu > 1)
    throw InputError("impossible throughput", in.throughput_field,
                     fmt::format("implies {} of the dense peak ({} FLOP/s x {} GPUs); check the "
                                 "parameter count, GPU kind and whether the rate is per GPU",
                                 100 * r.hfu < 1e6 ? fmt::format("{:.1f}%", 100 * r.hfu)
                                                   : fmt::format("{:.3g}%", 100 * r.hfu),
                                 num(in.peak_flops_per_s), in.gpus));
  add(b, "mfu", "model FLOPs utilisation", r.mfu,
      {"tokens/s * (model FLOPs per token) / (G * P)",
       fmt::format("{} * {} / ({} * {})", num(tps), num(model), in.gpus, num(in.peak_flops_per_s)),
       kPalm});
  add(b, "hfu", "hardware FLOPs utilisation", r.hfu,
      {"tokens/s * (hardware FLOPs per token) / (G * P)",
       fmt::format("{} * {} / ({} * {})", num(tps), num(hw), in.gpus, num(in.peak_flops_per_s)),
       "PaLM Appendix B; Korthikanti et al. 2022, Sec. 6"});
  return r;
}

}  // namespace sizeup
