#include "sizeup/fit.hpp"

#include <fmt/format.h>

#include <cmath>

#include "sizeup/error.hpp"
#include "sizeup/optimizer.hpp"

namespace sizeup {

FitReport fit_params(const FitInput& in) {
  if (in.gpus < 1) throw InputError("invalid GPU count", "gpus", "must be at least 1");
  if (in.zero < 0 || in.zero > 3)
    throw InputError("invalid ZeRO stage", "zero", "must be 0, 1, 2 or 3");
  FitReport r;
  const PrecisionRecipe p = recipe_for(in.precision);
  double w = 0, g = 0, m = 0, o = 0;
  if (in.infer) {
    w = in.infer_weight_bits / 8.0;
  } else {
    w = p.weight_bytes;
    g = in.grad_bytes > 0 ? in.grad_bytes : p.gradient_bytes;
    m = p.master_bytes;
    o = optimizer_bytes_per_param(in.optimizer, p.master_bytes > 0 ? p.master_bytes
                                                : w > 0            ? static_cast<int>(w)
                                                                   : 4);
  }
  const std::string src = "Rajbhandari et al. 2020 (ZeRO), Sec. 3.1 and 5";
  auto add              = [&](const char* k, const char* label, double v) {
    r.bytes_per_param.rows.push_back({k, label, v, {"", "", src}});
  };
  add("weights", in.infer ? "weights (serving dtype)" : "weights (working copy)", w);
  add("gradients", "gradients", g);
  add("master", "fp32 master weights", m);
  add("optimizer", "optimizer states", o);
  r.per_param_total = w + g + m + o;
  add("total", "total", r.per_param_total);

  const double G = static_cast<double>(in.gpus);
  // Bytes of one parameter on all G GPUs together (G times the per-GPU share) under the chosen
  // sharding: kept as G·share so that G·M / total stays exact (2/G is not a binary fraction:
  // 1e5 GPUs x 80 GiB / 2 bytes came out one parameter short).
  double all_gpus = 0;
  std::string formula;
  if (in.infer || in.zero == 3) {
    all_gpus = r.per_param_total;
    formula  = "G · (M - reserved) / bytes_per_param";
  } else if (in.zero == 2) {
    all_gpus = w * G + (g + m + o);
    formula  = "(M - reserved) / (w + (g + m + o) / G)";
  } else if (in.zero == 1) {
    all_gpus = (w + g) * G + (m + o);
    formula  = "(M - reserved) / (w + g + (m + o) / G)";
  } else {
    all_gpus = r.per_param_total * G;
    formula  = "(M - reserved) / (w + g + m + o)";
  }
  const double M               = static_cast<double>(in.gpu_memory_bytes);
  const double avail           = std::max(0.0, M - static_cast<double>(in.reserved_bytes));
  const double nom_gb          = M / kBytesPerGiB * kBytesPerGB;  // same number of "GB", decimal
  const double avail_dec       = std::max(0.0, nom_gb - static_cast<double>(in.reserved_bytes));
  r.max_params                 = static_cast<ParamCount>(std::floor(avail * G / all_gpus));
  r.max_params_decimal_reading = static_cast<ParamCount>(std::floor(avail_dec * G / all_gpus));
  r.derivation                 = {formula,
                                  fmt::format("M = {} B, reserved = {} B, G = {}, w + g + m + o = {:g} + {:g} + "
                                                              "{:g} + {:g} = {:g} B/param, ZeRO {}",
                                              in.gpu_memory_bytes, in.reserved_bytes, in.gpus, w, g, m, o,
                                              r.per_param_total, in.infer ? 3 : in.zero),
                                  src};
  return r;
}

std::int64_t min_gpus(const FitInput& in, double params) {
  const auto fits = [&](std::int64_t g) {
    FitInput t = in;
    t.gpus     = g;
    return static_cast<double>(fit_params(t).max_params) >= params;
  };
  constexpr std::int64_t kMax = 10000000;
  if (!fits(kMax)) return 0;
  // fits() is monotone in g: find the first g that fits.
  std::int64_t lo = 1, hi = kMax;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (fits(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

std::int64_t largest_fitting(std::int64_t hi, const std::function<bool(std::int64_t)>& fits) {
  if (hi < 1 || !fits(1)) return 0;
  std::int64_t lo = 1;  // fits(lo) is true
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid))
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

}  // namespace sizeup
