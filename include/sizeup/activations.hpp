// Bytes saved for backward by one transformer layer (and outside the layers), listed per
// tensor from the operations of a named implementation, not from one constant.
//
// Legend: b micro-batch, s sequence length, h hidden size, a query heads, k kv heads,
// d head width, f MLP inner width, e experts per token, t tensor-parallel ranks,
// c context-parallel ranks, p bytes per activation element (2 for bf16).
//
// Sources: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
// Models", Sec. 4.1 and Table 2 (s·b·h·(34 + 5·a·s/h) per layer for GPT, 16-bit, dropout,
// eager attention); PyTorch autograd's saved tensors for the eager implementation.
#pragma once

#include <cstdint>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

// Which implementation's saved tensors are counted.
//  pytorch:      what PyTorch eager autograd keeps for the reference modules in
//                tests/validation (fp32 or given activation dtype; GELU keeps its input,
//                softmax keeps its output, dropout keeps a 1-byte mask, ...).
//  korthikanti:  exactly the accounting of Korthikanti et al. 2022 Sec. 4.1 (Table 2).
enum class ActivationConvention { pytorch, korthikanti };

struct ActivationInput {
  std::int64_t micro_batch = 1;             // b, e.g. 8
  std::int64_t seq_len     = 2048;          // s, e.g. 1024
  int activation_bytes     = 2;             // p, e.g. 2 (bf16), 4 (fp32)
  ActivationOptions options;                // recompute, attention impl, dropout
  std::int64_t tp                 = 1;      // t, shards attention/MLP activations
  bool sequence_parallel          = false;  // also shards norm/dropout activations by t
  std::int64_t cp                 = 1;      // c, shards the sequence
  double moe_capacity_factor      = 0.0;    // 0: dropless (exactly top-k tokens per expert)
  ActivationConvention convention = ActivationConvention::pytorch;
  // Saved-tensor dtypes of PyTorch's CPU kernels instead of the CUDA ones: dropout keeps its
  // p-byte scaled noise tensor (CUDA native_dropout: a 1-byte bool mask) and LayerNorm keeps
  // mean/rstd in the activation dtype (CUDA: fp32). Used to compare with CPU measurements.
  bool cpu_kernels = false;
};

// All byte counts are for one micro-batch on one rank.
struct ActivationReport {
  Breakdown<ByteCount> per_layer;       // one row per saved tensor kind, for one layer
  ByteCount layer_bytes = 0;            // sum of per_layer (a dense layer; MoE layers below)
  Breakdown<ByteCount> moe_layer;       // rows of a MoE layer (empty for dense models)
  ByteCount moe_layer_bytes   = 0;      // same for a MoE layer (0 for dense models)
  std::int64_t n_dense_layers = 0;      // layers counted with layer_bytes
  std::int64_t n_moe_layers   = 0;      // layers counted with moe_layer_bytes
  Breakdown<ByteCount> outside_layers;  // embedding output, final norm, logits, loss; with full
                                        // recompute also "recompute_peak" (one layer's full
                                        // activations, live while it is recomputed)
  ByteCount outside_bytes        = 0;   // sum of outside_layers = the three below
  ByteCount embedding_bytes      = 0;   // outside rows of the first pipeline stage (ids, masks)
  ByteCount head_bytes           = 0;   // outside rows of the last stage (final norm, logits, loss)
  ByteCount recompute_peak_bytes = 0;   // full recompute: one layer's saved tensors (else 0)
  ByteCount total_bytes          = 0;   // all layers of the model + outside
};

ActivationReport activation_memory(const ModelSpec& m, const ActivationInput& in);

}  // namespace sizeup
