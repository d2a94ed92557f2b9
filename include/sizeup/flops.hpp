// FLOPs of a transformer by operation, counted from its matrix products (a multiply-add is
// 2 FLOPs), with the classic approximations beside the detailed count.
//
// Legend: N parameters, L layers, d hidden size, H query heads, Q head width, T context,
// V vocabulary, f MLP inner width.
//
// Sources: Kaplan et al. 2020, Table 1 (forward 2N + 2·L·T·d_attn per token); Chowdhery et
// al. 2022 (PaLM) App. B (6N + 12·L·H·Q·T); Narayanan et al. 2021, Eq. 3; Korthikanti et al.
// 2022, Eq. 7/8 (recomputation); backward = 2 x forward matmul FLOPs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

struct FlopsInput {
  std::int64_t seq_len = 2048;   // T, tokens per sequence
  std::int64_t batch   = 1;      // sequences per step (whole cluster)
  bool causal_halving  = false;  // count only the unmasked half of causal scores
  Recompute recompute  = Recompute::none;
};

struct FlopsReport {
  Breakdown<FlopCount> forward_per_token;  // one row per operation (q, k, v, o, mlp, scores...)
  FlopCount forward_per_token_total = 0;   // sum of forward_per_token
  FlopCount training_per_token      = 0;   // model FLOPs: 3 x forward (backward = 2 x forward)
  FlopCount hardware_per_token      = 0;   // training + recomputed forward work
  FlopCount forward_per_step        = 0;   // forward_per_token_total x batch x seq_len
  FlopCount training_per_step       = 0;   // model FLOPs of one step
  FlopCount hardware_per_step       = 0;
  Breakdown<FlopCount> approximations;  // per token: 2n, 6n, kaplan, palm, narayanan, ...

  // Added beside the declared fields (flops.cpp):
  FlopCount backward_per_token       = 0;  // 2 x forward
  FlopCount recompute_per_token      = 0;  // forward work repeated by --recompute (0 for none)
  FlopCount attention_core_per_token = 0;  // QK^T and softmax·V rows of forward_per_token
  FlopCount layer_forward_per_token  = 0;  // forward rows inside the repeated layers
  Breakdown<FlopCount> totals;  // forward/backward/training/recompute/hardware per token and step
  std::vector<std::string> notes;  // assumptions that depend on the model (T5, BERT, windows)
};

FlopsReport flops(const ModelSpec& m, const FlopsInput& in);

// What trains in a fine-tuning step, for its FLOPs.
struct FinetuneFlopsInput {
  Finetune mode                       = Finetune::full;
  std::int64_t frozen_layers          = 0;     // freeze: the first k layers (and embeddings)
  bool head_trainable                 = true;  // freeze: an untied head trains, a tied one not
  FlopCount adapter_forward_per_token = 0;     // LoRA: sum of 2·r·(in + out) over adapters
};

// Model FLOPs per token of one fine-tuning step (rows: forward, adapter_forward,
// backward_input_grads, backward_weight_grads, adapter_backward, training). The backward of
// Y = X·W is two products of the forward's size, dX = dY·W^T and dW = X^T·dY (Narayanan et al.
// 2021, Sec. 5.1): a frozen W skips dW; layers below every trainable tensor skip both. The
// attention core has no weights and needs both input gradients (2x its forward). Assumes the
// gradient reaches layer 0 for LoRA (adapters there); layers' FLOPs are taken as equal.
Breakdown<FlopCount> finetune_flops_per_token(const ModelSpec& m, const FlopsReport& f,
                                              const FinetuneFlopsInput& in);

}  // namespace sizeup
