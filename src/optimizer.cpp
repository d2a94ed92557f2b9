#include "sizeup/optimizer.hpp"

#include <fmt/format.h>

#include "sizeup/checked.hpp"

namespace sizeup {
namespace {

using U = std::uint64_t;

U elements(const TrainableTensor& t) {
  U n = 1;
  for (auto d : t.shape) n = checked_mul(n, static_cast<U>(d), "optimizer");
  return n;
}

U ceil_div(U a, U b) { return (a + b - 1) / b; }

// Adafactor statistics of one tensor (HF transformers Adafactor._get_options: factored when
// the tensor has >= 2 dims): exp_avg_sq_row has shape[:-1], exp_avg_sq_col has
// shape[:-2] + shape[-1:].
U adafactor_elements(const TrainableTensor& t) {
  const auto& s = t.shape;
  if (s.size() < 2) return elements(t);
  U lead = 1;
  for (std::size_t i = 0; i + 2 < s.size(); ++i) lead *= static_cast<U>(s[i]);
  const U rows = static_cast<U>(s[s.size() - 2]), cols = static_cast<U>(s[s.size() - 1]);
  return lead * rows + lead * cols;
}

}  // namespace

OptimizerStateReport optimizer_state(Optimizer o, const std::vector<TrainableTensor>& tensors,
                                     int state_bytes) {
  OptimizerStateReport r;
  const U s = static_cast<U>(state_bytes);
  U n = 0, tensor_count = 0;
  for (const auto& t : tensors) {
    n = checked_add(n, checked_mul(elements(t), static_cast<U>(t.count), "optimizer"), "optimizer");
    tensor_count += static_cast<U>(t.count);
  }
  const std::string src_adam =
      "Kingma & Ba 2015 (Adam), Loshchilov & Hutter 2019 (AdamW); torch.optim.Adam state";
  auto add = [&](const std::string& key, const std::string& label, U value, std::string formula,
                 std::string subst, std::string source) {
    r.rows.rows.push_back({key, label, value, {std::move(formula), std::move(subst), source}});
    r.total_bytes = checked_add(r.total_bytes, value, "optimizer");
  };
  switch (o) {
    case Optimizer::adamw:
      add("moments_bytes", "exp_avg + exp_avg_sq", checked_mul(2 * s, n, "optimizer"), "2 · n · s",
          fmt::format("2 · {} · {}", n, s), src_adam);
      add("step_bytes", "step counters (1-element fp32 tensor per parameter tensor)",
          tensor_count * kAdamStepBytes, "tensors · 4", fmt::format("{} · 4", tensor_count),
          "torch/optim/adam.py (PyTorch >= 1.12: state['step'] is a tensor)");
      break;
    case Optimizer::adam8bit: {
      U q = 0, absmax = 0, small = 0;
      for (const auto& t : tensors) {
        const U e = elements(t), c = static_cast<U>(t.count);
        if (e < static_cast<U>(kAdam8bitMinSize)) {
          small += e * c;
        } else {
          q += e * c;
          absmax += ceil_div(e, kAdam8bitBlock) * c;
        }
      }
      add("quantized_states_bytes", "two 8-bit states", 2 * q, "2 · n8 · 1",
          fmt::format("2 · {}", q), "Dettmers et al. 2022, Sec. 2 (block-wise 8-bit states)");
      add("absmax_bytes", "fp32 absmax per 2048-element block per state", 2 * 4 * absmax,
          "2 · ceil(n / 2048) · 4 per tensor", fmt::format("2 · {} · 4", absmax),
          "bitsandbytes Optimizer8bit (blockwise, block 2048)");
      add("small_tensor_states_bytes", "32-bit states of tensors < 4096 elements", 2 * 4 * small,
          "2 · n_small · 4", fmt::format("2 · {} · 4", small), "bitsandbytes min_8bit_size = 4096");
      break;
    }
    case Optimizer::sgd:
      add("states_bytes", "no state (plain SGD)", 0, "0", "0", "torch.optim.SGD, momentum = 0");
      break;
    case Optimizer::sgd_momentum:
      add("momentum_bytes", "momentum buffer", checked_mul(s, n, "optimizer"), "n · s",
          fmt::format("{} · {}", n, s), "torch.optim.SGD momentum_buffer");
      break;
    case Optimizer::lion:
      add("momentum_bytes", "momentum (exp_avg)", checked_mul(s, n, "optimizer"), "n · s",
          fmt::format("{} · {}", n, s), "Chen et al. 2023, Algorithm 1 (one moment)");
      break;
    case Optimizer::adafactor: {
      U f = 0;
      for (const auto& t : tensors) f += adafactor_elements(t) * static_cast<U>(t.count);
      add("factored_second_moment_bytes", "row + column statistics (vectors for 1-D tensors)",
          checked_mul(f, s, "optimizer"), "Σ (rows + cols) · s", fmt::format("{} · {}", f, s),
          "Shazeer & Stern 2018, Sec. 3; HF Adafactor (beta1 = None)");
      break;
    }
  }
  return r;
}

double optimizer_bytes_per_param(Optimizer o, int state_bytes) {
  switch (o) {
    case Optimizer::adamw:
      return 2.0 * state_bytes;
    case Optimizer::adam8bit:
      return 2.0 * (1.0 + 4.0 / static_cast<double>(kAdam8bitBlock));
    case Optimizer::sgd:
    case Optimizer::adafactor:
      return 0.0;
    case Optimizer::sgd_momentum:
    case Optimizer::lion:
      return state_bytes;
  }
  return 0.0;
}

}  // namespace sizeup
