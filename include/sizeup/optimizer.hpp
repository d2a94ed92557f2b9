// Optimizer state: the bytes an optimizer keeps per trainable tensor, counted tensor by
// tensor so that factored (Adafactor) and block-quantised (8-bit Adam) states are exact.
//
// Legend: n elements of a tensor, s bytes of one full-precision state element (4 when the
// optimizer updates an fp32 tensor or master copy, 2 for pure bf16/fp16 training).
//
// Sources:
// - Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019): exp_avg and exp_avg_sq, 2·n·s.
//   PyTorch 1.13+ also keeps `step` as a 1-element fp32 tensor per parameter tensor (4 bytes;
//   torch/optim/adam.py, `state['step'] = torch.tensor(0.)`), counted here.
// - SGD with momentum (torch.optim.SGD): momentum_buffer, n·s; plain SGD: nothing.
// - Lion (Chen et al. 2023, Algorithm 1): one momentum, n·s.
// - Adafactor (Shazeer & Stern 2018, Sec. 3; HF transformers Adafactor): for a tensor with
//   >= 2 dims, row and column statistics of the last two dims (prod(shape[:-1]) +
//   prod(shape[:-2])·shape[-1] elements); for 1-D tensors a full second moment n; beta1 = None
//   (no momentum) by default.
// - 8-bit Adam (Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization";
//   bitsandbytes Optimizer8bit): two 1-byte states plus one fp32 absmax per block of 2048
//   elements per state; tensors with fewer than 4096 elements (min_8bit_size) keep 32-bit
//   states. The shared 256-entry quantisation maps are not counted.
#pragma once

#include <cstdint>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

inline constexpr std::int64_t kAdam8bitBlock   = 2048;  // bitsandbytes blockwise quantisation
inline constexpr std::int64_t kAdam8bitMinSize = 4096;  // bitsandbytes min_8bit_size default
inline constexpr int kAdamStepBytes            = 4;     // fp32 scalar `step` tensor (PyTorch)

// One trainable tensor as the optimizer sees it, held `count` times (e.g. once per layer).
struct TrainableTensor {
  std::vector<std::int64_t> shape;  // e.g. {4096, 4096}; stacked experts {8, 14336, 4096}
  std::int64_t count = 1;           // copies, e.g. 32 layers
};

struct OptimizerStateReport {
  Breakdown<ByteCount> rows;  // states, step counters, absmax, ... (keys stable)
  ByteCount total_bytes = 0;
};

// State of `o` for the given tensors; `state_bytes` is s (4 or 2).
OptimizerStateReport optimizer_state(Optimizer o, const std::vector<TrainableTensor>& tensors,
                                     int state_bytes);

// Closed-form bytes per parameter for large tensors (what `fit` divides by): Adam 2s,
// 8-bit Adam 2·(1 + 4/2048), SGD 0, momentum s, Lion s, Adafactor 0 (sub-linear, O(rows+cols)).
double optimizer_bytes_per_param(Optimizer o, int state_bytes);

}  // namespace sizeup
