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

// The role of a tensor in the model (llama.cpp's LLM_TENSOR_INFOS tags each tensor the same way).
// Code that consumes the table selects tensors by role and placement, never by name.
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
  mtp,                 // multi-token-prediction layers (only when ModelSpec::count_mtp)
};

// Which model a component belongs to: the language model, or a modality tower with its projector.
bool is_tower_component(Component c);

// Issue 8's name for it: a tensor's role (attention, MLP, expert, router, norm, embedding, head).
using Role = Component;

// How tensor parallelism splits a tensor (Megatron-LM, Shoeybi et al. 2019, Sec. 3).
enum class Split { replicated, column, row, vocab, expert };

enum class Stack { decoder, encoder };  // encoder: BERT layers, T5 encoder

// Where a tensor sits in the forward pass: before the repeated layers (embeddings, their norm
// and projection: the first pipeline stage), in the repeated layers, or after them (final norm,
// head, pooler: the last pipeline stage).
enum class Placement { input, layer, output };

// The matrix a weight implements, for code that needs its orientation or identity (the
// tensor-parallel split inside an expert, cross-attention FLOPs rows, LoRA targets).
enum class Proj {
  none,    // not a projection (norms, embeddings, biases of non-linear tensors)
  q,       // query (MLA: q_proj or q_b_proj)
  q_a,     // MLA query down-projection
  k,       // key
  v,       // value
  kv_a,    // MLA key/value down-projection
  kv_b,    // MLA key/value up-projection
  o,       // attention output
  gate,    // MLP gate
  up,      // MLP up
  down,    // MLP down (row-parallel: splits its input dimension)
  router,  // MoE router d -> E
  head,    // output head
  other,   // any other linear (embedding projections, pooler, shared-expert gate)
};

// Which attention a tensor belongs to: self-attention, or a decoder's cross-attention over the
// encoder output (T5).
enum class AttnSource { self, cross };
struct Tensor {
  std::string name;       // HF-style, e.g. "layers.*.self_attn.q_proj.weight"
  std::string module;     // short module name for LoRA targets, e.g. "q_proj"
  std::string hf_module;  // HF module that holds it, e.g. "c_attn" for GPT-2 q, k and v: a LoRA
                          // adapter on a fused module spans all of its tensors
  Component component;
  std::vector<std::int64_t> shape;  // e.g. {4096, 4096}; experts: {n_expert, out, in}
  std::int64_t repeat   = 1;        // how many layers hold this tensor, e.g. 32
  bool is_matmul        = false;    // a weight multiplied by every token's activations
  bool tied             = false;    // same storage as another tensor: FLOPs yes, parameters no
  Split split           = Split::replicated;
  Stack stack           = Stack::decoder;
  Placement placement   = Placement::layer;
  Proj proj             = Proj::none;
  AttnSource source     = AttnSource::self;
  bool stored_quantized = false;  // the checkpoint stores it in ModelSpec::quant's format

  bool in_layers() const { return placement == Placement::layer; }
  // Within one expert of a Split::expert tensor {E, out, in}, tensor parallelism splits the
  // input dimension of the down projection and the output dimension of the others.
  bool expert_row_parallel() const { return proj == Proj::down; }

  ParamCount elements_per_layer() const;  // product of shape
  ParamCount elements() const;            // product of shape x repeat (0 if tied)
};

std::vector<Tensor> tensor_table(const ModelSpec& m);

const char* to_string(Component c);
const char* to_string(Split s);
const char* to_string(Placement p);

}  // namespace sizeup
