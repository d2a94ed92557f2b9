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
#include <string>

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

// How the loss turns the last hidden states into a scalar (pytorch convention; V vocabulary,
// T = b*s tokens, p activation bytes):
//  standard:       HF ForCausalLMLoss: logits (p) returned by the model, upcast to fp32 inside
//                  the loss, log_softmax saves its fp32 output; at the start of backward the
//                  gradients of the log-probabilities and of the upcast logits (fp32 each) are
//                  live together: T*V*(p + 4 + 4 + 4) at the peak.
//  chunked:        torchtune CEWithChunkedOutputLoss (num_output_chunks = 8): the logits are
//                  produced in n chunks along the sequence and each chunk is upcast in turn;
//                  every chunk's fp32 log-probabilities stay saved, the backward buffers exist
//                  for one chunk at a time: T*V*(p + 4) + 2*4*b*ceil(s/n)*V.
//  fused:          Liger-Kernel fused linear cross-entropy (Hsu et al. 2024, arXiv:2410.10989,
//                  Sec. 3.3): no logits are kept; logits of C tokens at a time, gradients written
//                  in place, C = next_pow2(ceil(T / ceil(V/h))): C*V*p transient.
//  vocab_parallel: Megatron-LM _VocabParallelCrossEntropy: one fp32 buffer (logits, then
//                  softmax, then in place the gradient) of T*V/t, and the 16-bit gradient of the
//                  logits in backward: T*V*(4 + 2)/t. Used by --framework megatron.
enum class LossImpl { standard, chunked, fused, vocab_parallel };
inline constexpr std::int64_t kLossChunks = 8;
// What the last hidden states feed: the vocabulary head and its loss (language modelling), or
// a sequence-classification head (HF *ForSequenceClassification: pooler or last token, a few
// labels), whose logits and loss are negligible.
enum class HeadKind { lm, classifier };
HeadKind parse_head(const std::string& s,
                    const std::string& field = "head");  // torchtune num_output_chunks default
// "standard", "chunked", "fused" (the choices a user may give).
LossImpl parse_loss(const std::string& s, const std::string& field = "loss");
const char* to_string(LossImpl l);

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
  LossImpl loss    = LossImpl::standard;
  HeadKind head    = HeadKind::lm;
  // torch.autocast (CUDA op lists, PyTorch docs "Automatic Mixed Precision package"): matmuls
  // run in the 16-bit dtype on 16-bit copies of their inputs, layer_norm and softmax in fp32.
  // LayerNorm then saves an fp32 input and returns fp32; softmax saves an fp32 output and P*V
  // saves its 16-bit copy; each linear reading an fp32 tensor saves its own 16-bit copy
  // (separate q/k/v or gate/up projections: one copy each). residual_bytes is the dtype of
  // the residual stream: 4 when the weights are fp32 (HF Trainer with fp16/bf16 = True on an
  // fp32 model), else p.
  bool autocast      = false;
  int residual_bytes = 0;  // 0: p
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
  ByteCount loss_peak_bytes      = 0;   // loss buffers live only at the start of backward
                                        // (loss_backward_buffers, loss_chunk_logits)
  ByteCount largest_tensor_bytes = 0;   // largest single tensor of any row (allocator model)
  ByteCount total_bytes          = 0;   // all layers of the model + outside
};

ActivationReport activation_memory(const ModelSpec& m, const ActivationInput& in);

}  // namespace sizeup
