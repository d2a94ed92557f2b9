// The largest model that trains (or serves) on G GPUs, by closed-form bytes per parameter,
// and the largest micro-batch for a given model, by binary search on the full memory model.
//
// Legend: M memory of one GPU (bytes), G GPUs, w/g/m bytes per parameter of weights,
// gradients and master copy, o optimizer bytes per parameter, A activation bytes reserved
// per GPU, O runtime overhead per GPU.
//
// Training, ZeRO stage z over all G GPUs (Rajbhandari et al. 2020, Sec. 5):
//   z = 3: N = G·(M - A - O) / (w + g + m + o)            (everything sharded; CS336's
//          "8 x 80 GB / 16 bytes" answer is this with A = O = 0)
//   z = 2: N = (M - A - O) / (w + (g + m + o)/G)
//   z = 1: N = (M - A - O) / (w + g + (m + o)/G)
//   z = 0: N = (M - A - O) / (w + g + m + o)
// Serving (tensor parallel over all G GPUs): N = G·(M - O) / w_dtype.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sizeup/breakdown.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

struct FitInput {
  ByteCount gpu_memory_bytes = 0;  // M, e.g. 85899345920 (80 GiB)
  std::int64_t gpus          = 1;  // G
  bool infer                 = false;
  Precision precision        = Precision::mixed_bf16;
  int grad_bytes             = 0;  // 0: recipe default
  Optimizer optimizer        = Optimizer::adamw;
  int zero                   = 3;
  int infer_weight_bits      = 16;  // serving dtype, e.g. 16 (bf16), 4 (int4)
  ByteCount reserved_bytes   = 0;   // A + O per GPU
};

struct FitReport {
  Breakdown<double> bytes_per_param;  // weights, gradients, master, optimizer, total
  double per_param_total = 0;         // bytes per parameter (whole model)
  ParamCount max_params  = 0;         // with M as given
  // The same nominal size read as decimal GB (e.g. "80 GB" = 80e9 bytes): the catalog lists
  // binary capacities (80 GiB), seed 003 divides 80e9.
  ParamCount max_params_decimal_reading = 0;
  Derivation derivation;
};

FitReport fit_params(const FitInput& in);

// Fewest GPUs (of this kind, same ZeRO stage) that hold `params`, or 0 when no count does
// (ZeRO 0 and 1/2 when the unsharded part alone exceeds a GPU); at most 10^7.
std::int64_t min_gpus(const FitInput& in, double params);

// Largest b in [1, hi] with fits(b) true (fits monotone: true then false); 0 if fits(1) is false.
std::int64_t largest_fitting(std::int64_t hi, const std::function<bool(std::int64_t)>& fits);

}  // namespace sizeup
