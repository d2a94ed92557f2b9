// FLOPs of a fine-tuning step: which backward products a frozen weight or a LoRA adapter
// leaves out, or adds. Declarations and sources in flops.hpp and finetune.hpp.
#include <fmt/format.h>

#include <algorithm>

#include "sizeup/finetune.hpp"
#include "sizeup/flops.hpp"

namespace sizeup {

FlopCount adapter_forward_flops_per_token(const ModelSpec& m,
                                          const std::vector<LoraAdapter>& adapters) {
  FlopCount total = 0;
  for (const auto& a : adapters) {
    // A stacked expert tensor holds E experts; a token passes through n_expert_used of them.
    const FlopCount all = 2.0 * static_cast<double>(a.params);
    total += a.experts > 1
                 ? all * static_cast<double>(m.n_expert_used) / static_cast<double>(a.experts)
                 : all;
  }
  return total;
}

namespace {

const char* kBackwardSource =
    "dX = dY·W^T and dW = X^T·dY, each the forward's size (Narayanan et al. 2021, Sec. 5.1)";

std::string g(FlopCount v) { return fmt::format("{:.6g}", v); }

}  // namespace

Breakdown<FlopCount> finetune_flops_per_token(const ModelSpec& m, const FlopsReport& f,
                                              const FinetuneFlopsInput& in) {
  const FlopCount F  = f.forward_per_token_total;
  const FlopCount C  = f.attention_core_per_token;     // QK^T and softmax·V, no weights
  const FlopCount Wl = f.layer_forward_per_token - C;  // weight products inside the layers
  const FlopCount Wh = F - f.layer_forward_per_token;  // head and other outside products
  const FlopCount A  = in.adapter_forward_per_token;
  const double L     = static_cast<double>(m.n_layer + m.n_layer_dec);
  // Fraction of the layers that a gradient passes through (and whose weights train).
  double above = 1.0;
  if (in.mode == Finetune::freeze)
    above = L > 0 ? std::max(0.0, L - static_cast<double>(in.frozen_layers)) / L : 0.0;
  const bool adapters = in.mode == Finetune::lora || in.mode == Finetune::qlora;
  const bool full     = in.mode == Finetune::full;

  Breakdown<FlopCount> b;
  b.rows.push_back(
      {"forward", "forward (weights and attention)", F, {"F", g(F), "flops(): forward per token"}});
  if (adapters)
    b.rows.push_back({"adapter_forward",
                      "LoRA adapters forward",
                      A,
                      {"sum 2·r·(in + out)", g(A), "Hu et al. 2021, Sec. 4.1"}});
  const FlopCount dx = Wh + above * (Wl + 2 * C);
  b.rows.push_back(
      {"backward_input_grads",
       "backward: gradients of activations",
       dx,
       {"W_head + f_above·(W_layers + 2·C)",
        fmt::format("{} + {:.4g}·({} + 2·{})", g(Wh), above, g(Wl), g(C)), kBackwardSource}});
  const FlopCount head_dw = (full || (in.mode == Finetune::freeze && in.head_trainable)) ? Wh : 0;
  const FlopCount dw      = adapters ? 0.0 : head_dw + above * Wl;
  b.rows.push_back({"backward_weight_grads",
                    "backward: gradients of trained weights",
                    dw,
                    {adapters ? "0 (base weights frozen)" : "W_head(trained) + f_above·W_layers",
                     adapters ? "0" : fmt::format("{} + {:.4g}·{}", g(head_dw), above, g(Wl)),
                     kBackwardSource}});
  if (adapters)
    b.rows.push_back({"adapter_backward",
                      "LoRA adapters backward",
                      2 * A,
                      {"2 · adapter forward", "2 · " + g(A), kBackwardSource}});
  const FlopCount total = F + dx + dw + (adapters ? 3 * A : 0.0);
  b.rows.push_back({"training",
                    "training FLOPs per token",
                    total,
                    {"forward + backward rows", g(total),
                     full ? "equals 3 x forward for full training" : kBackwardSource}});
  return b;
}

}  // namespace sizeup
