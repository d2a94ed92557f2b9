// Fine-tuning: which tensors train, LoRA adapter shapes, and 4-bit NF4 base-weight storage.
//
// Legend: r LoRA rank, in/out the input and output width of a targeted module (a fused HF
// module such as GPT-2's c_attn or Phi-3's qkv_proj counts as one module whose out is the
// sum of its parts), E experts in a stacked expert tensor, n elements.
//
// Sources:
// - LoRA (Hu et al. 2021, Sec. 4.1): ΔW = B·A with A {r, in}, B {out, r}: r·(in + out)
//   parameters per adapted matrix. Targets are HF module names as PEFT matches them
//   (`target_modules`); "all-linear" is PEFT's every nn.Linear except the output head.
// - QLoRA (Dettmers et al. 2023, Sec. 3): NF4 base weights, 4 bits per value; one absmax per
//   block of 64 values, itself quantised to 8 bits (double quantisation) with one fp32
//   constant per 256 first-level blocks: 4 + 8/64 + 32/(64·256) = 4.127 bits per parameter.
//   Only the linear layers of the decoder blocks are quantised (bitsandbytes
//   Linear4bit); embeddings, norms and the output head stay in 16-bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

inline constexpr std::int64_t kNf4Block       = 64;   // values per first-level absmax
inline constexpr std::int64_t kNf4SecondBlock = 256;  // first-level absmax per fp32 constant

// PEFT's defaults for Llama-style models; GPT-2's c_attn is matched through q_proj/v_proj.
std::vector<std::string> default_lora_targets();

struct LoraAdapter {
  std::string module;        // HF module adapted, e.g. "c_attn" or "q_proj"
  std::string tensor_name;   // first tensor of the module, e.g. "layers.*.self_attn.q_proj.weight"
  std::int64_t in      = 0;  // input width, e.g. 4096
  std::int64_t out     = 0;  // output width (sum over a fused module), e.g. 12288 for c_attn
  std::int64_t experts = 1;  // stacked experts sharing the module name, e.g. 8
  std::int64_t count   = 1;  // layers holding the module, e.g. 32
  ParamCount params    = 0;  // count · experts · r · (in + out)
};

// Adapters for `targets` (module names, "all-linear"); throws InputError(--lora-targets)
// when a target matches no module of the model, and (--lora-rank) for r < 1.
std::vector<LoraAdapter> lora_adapters(const ModelSpec& m, const std::vector<std::string>& targets,
                                       std::int64_t rank);

// Bytes of one n-element tensor in NF4 with double-quantised absmax:
// ceil(n/2) + ceil(n/64) + 4·ceil(ceil(n/64)/256).
ByteCount nf4_bytes(ParamCount n);

// Forward FLOPs per token of the adapters: 2 per adapter parameter, i.e. 2·r·(in + out) per
// adapted matrix (A·x, then B·(A·x)), counting only the experts a token is routed to
// (n_expert_used of E).
FlopCount adapter_forward_flops_per_token(const ModelSpec& m,
                                          const std::vector<LoraAdapter>& adapters);

}  // namespace sizeup
