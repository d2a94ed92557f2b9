// The tensor table: every parameter tensor of a model with its shape, in the manner of
// llama.cpp's load_tensors. Parameter counts, weight memory, tensor-parallel sharding,
// LoRA targets and matmul FLOPs are all read from this one list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

enum class Component {
  token_embedding,     // token (and segment) embedding tables
  position_embedding,  // learned absolute or relative position tables
  attention,           // q/k/v/o projections, their biases, MLA projections, q/k norms
  mlp,                 // dense MLP
  router,              // MoE gate d -> n_expert
  routed_experts,      // MoE experts (only n_expert_used of n_expert active per token)
  shared_experts,      // MoE experts every token uses
  norm,                // layer and final norms, embedding norm
  output_head,         // LM head (absent from the count when tied)
  pooler,              // BERT pooler
  ssm,                 // recurrent mixers: Mamba, Mamba-2, gated DeltaNet (ssm.hpp)
  vision_tower,        // image encoder of a multimodal model (towers.hpp)
  audio_tower,         // audio encoder of a multimodal model (towers.hpp)
  projector,           // maps tower outputs into the language model's embedding space
};

// Which model a component belongs to: the language model, or a modality tower with its projector.
bool is_tower_component(Component c);

// How tensor parallelism splits a tensor (Megatron-LM, Shoeybi et al. 2019, Sec. 3).
enum class Split { replicated, column, row, vocab, expert };

enum class Stack { decoder, encoder };  // encoder: BERT layers, T5 encoder

struct Tensor {
  std::string name;       // HF-style, e.g. "layers.*.self_attn.q_proj.weight"
  std::string module;     // short module name for LoRA targets, e.g. "q_proj"
  std::string hf_module;  // HF module that holds it, e.g. "c_attn" for GPT-2 q, k and v: a LoRA
                          // adapter on a fused module spans all of its tensors
  Component component;
  std::vector<std::int64_t> shape;  // e.g. {4096, 4096}; experts: {n_expert, out, in}
  std::int64_t repeat = 1;          // how many layers hold this tensor, e.g. 32
  bool is_matmul      = false;      // a weight multiplied by every token's activations
  bool tied           = false;      // same storage as another tensor: FLOPs yes, parameters no
  Split split         = Split::replicated;
  Stack stack         = Stack::decoder;

  ParamCount elements_per_layer() const;  // product of shape
  ParamCount elements() const;            // product of shape x repeat (0 if tied)
};

std::vector<Tensor> tensor_table(const ModelSpec& m);

const char* to_string(Component c);
const char* to_string(Split s);

}  // namespace sizeup
