// The model description: one immutable value type for every supported architecture.
// Field names follow llama.cpp (n_layer, n_embd, ...); every field has an example.
// Architecture quirks are flags, so one tensor table (tensors.hpp) serves all families.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/tower_spec.hpp"

namespace sizeup {

enum class NormKind { layernorm, rmsnorm };
enum class MlpKind { plain, gated };  // plain: up -> act -> down; gated: act(gate) * up -> down
enum class PositionKind { learned, rope, alibi, relative, none };
enum class AttentionKind { standard, mla };  // mla: DeepSeek multi-head latent attention
enum class QkNorm { none, per_head, full };  // per_head: size head_dim; full: size heads*head_dim

// The sequence mixer of one layer (ssm.hpp): softmax attention, or a recurrent layer that keeps
// a fixed-size state per sequence instead of a KV cache; none: an MLP-only block (Nemotron-H).
enum class Mixer { attention, mamba, mamba2, gated_deltanet, none };

// Shape of the recurrent (state-space or linear-attention) layers. Mamba: Gu & Dao 2023;
// Mamba-2: Dao & Gu 2024; gated DeltaNet: Yang et al. 2024 (Qwen3-Next).
struct SsmSpec {
  std::int64_t d_inner    = 0;      // expanded channels, e.g. 8192 (Mamba-2: n_heads * head_dim)
  std::int64_t d_state    = 0;      // N, state size per channel, e.g. 16 (Mamba), 128 (Mamba-2)
  std::int64_t d_conv     = 0;      // causal depthwise convolution kernel, e.g. 4
  std::int64_t dt_rank    = 0;      // Mamba-1 low-rank step projection, e.g. 256
  std::int64_t n_heads    = 0;      // Mamba-2 heads / DeltaNet value heads, e.g. 128, 32
  std::int64_t head_dim   = 0;      // Mamba-2 head width / DeltaNet value head width, e.g. 64, 128
  std::int64_t n_groups   = 0;      // Mamba-2 groups sharing B and C, e.g. 8
  std::int64_t n_k_heads  = 0;      // DeltaNet key heads, e.g. 16
  std::int64_t k_head_dim = 0;      // DeltaNet key head width, e.g. 128
  bool conv_bias          = true;   // bias on the depthwise convolution
  bool proj_bias          = false;  // bias on in_proj and out_proj
  bool dt_bc_norms        = false;  // RMSNorm weights on the step, B and C (Jamba)
  bool gated_norm         = true;   // Mamba-2: gated RMSNorm over d_inner before out_proj
};

// How a checkpoint stores its quantised linear weights (config.json quantization_config).
enum class StoredQuant {
  none,      // every weight in the checkpoint's float dtype
  gptq,      // GPTQ: packed int (bits), fp16 scale and packed zero per group, int32 g_idx
  awq,       // AWQ: packed int4, fp16 scale and packed zero per group
  bnb_int8,  // bitsandbytes LLM.int8: int8 + fp32 scale per output row
  bnb_nf4,   // bitsandbytes 4-bit NF4 (or FP4), blocks of 64, optional double quantisation
  fp8,       // FP8 e4m3 (HF "fp8", compressed-tensors float 8-bit)
  mxfp4,     // OCP MX FP4: e2m1 values, one e8m0 scale per block of 32 (gpt-oss experts)
  int8,      // compressed-tensors int 8-bit weights, per-channel scale
  int4,      // compressed-tensors int 4-bit (pack-quantized), per-group scale
};

// Which roles a quantization_config leaves in float (modules_to_not_convert / ignore), as read
// from its module patterns, and how it stores the rest.
struct Quantization {
  std::string method;  // quant_method as written, e.g. "gptq", "mxfp4"
  StoredQuant format      = StoredQuant::none;
  int bits                = 16;     // stored bits per weight, e.g. 4
  std::int64_t group_size = 0;      // inputs per scale, e.g. 128 (0: per channel/tensor)
  bool double_quant       = false;  // bitsandbytes bnb_4bit_use_double_quant
  std::int64_t block_rows = 0;      // fp8 weight_block_size, e.g. 128 x 128: one fp32 scale per
  std::int64_t block_cols = 0;      // block (0: one scale per tensor)
  bool keep_attention     = false;  // attention projections left in float
  bool keep_mlp           = false;  // dense MLP left in float
  bool keep_experts       = false;  // routed and shared experts left in float
  bool quantize_head      = false;  // output head quantised too (rare; GPTQ lm_head: true)
  std::vector<std::string> not_converted;  // the patterns as written, for display
  bool active() const { return format != StoredQuant::none; }
};

struct ModelSpec {
  std::string name;    // catalog name or "custom", e.g. "llama-2-7b"
  std::string family;  // HF model_type, e.g. "llama"

  // Core shape.
  std::int64_t n_layer   = 0;  // decoder (or encoder-only) layers, e.g. 32
  std::int64_t n_embd    = 0;  // hidden size d, e.g. 4096
  std::int64_t n_head    = 0;  // query heads, e.g. 32
  std::int64_t n_head_kv = 0;  // key/value heads, e.g. 8 (GQA), 1 (MQA)
  std::int64_t head_dim  = 0;  // width of one head, e.g. 128 (Gemma-7B: 256 with d = 3072)
  std::int64_t n_ff      = 0;  // MLP inner width of dense layers, e.g. 11008
  std::int64_t n_vocab   = 0;  // vocabulary, e.g. 32000
  std::int64_t n_ctx     = 0;  // maximum positions, e.g. 4096

  // Embeddings and positions.
  PositionKind positions       = PositionKind::rope;
  std::int64_t position_offset = 0;      // extra learned position rows, e.g. 2 (OPT)
  std::int64_t n_token_types   = 0;      // segment embeddings, e.g. 2 (BERT)
  std::int64_t n_rel_buckets   = 0;      // relative-position buckets, e.g. 32 (T5)
  std::int64_t rope_dims       = 0;      // rotated dims per head, e.g. 32 (Pythia rotary_pct 0.25)
  bool embedding_norm          = false;  // LayerNorm after the token embedding (BLOOM, BERT)
  std::int64_t embd_proj_dim   = 0;      // embedding width when projected to d, e.g. 512 (OPT-350m)

  // Normalisation.
  NormKind norm                = NormKind::rmsnorm;
  bool norm_bias               = false;  // LayerNorm with a bias vector
  std::int64_t norms_per_layer = 2;      // e.g. 2 (pre-attn, pre-MLP), 1 (GPT-J), 4 (Gemma 2)
  bool final_norm              = true;   // norm before the output head
  QkNorm qk_norm               = QkNorm::none;

  // Attention.
  AttentionKind attention = AttentionKind::standard;
  bool q_bias = false, k_bias = false, v_bias = false, o_bias = false;
  bool parallel_block       = false;  // attention and MLP read the same input (GPT-J, NeoX, Falcon)
  std::int64_t q_lora_rank  = 0;      // MLA query compression, e.g. 1536 (0: plain q_proj)
  std::int64_t kv_lora_rank = 0;      // MLA latent width, e.g. 512
  std::int64_t qk_nope_head_dim = 0;  // MLA, e.g. 128
  std::int64_t qk_rope_head_dim = 0;  // MLA, e.g. 64
  std::int64_t v_head_dim       = 0;  // MLA, e.g. 128
  std::string qkv_fused_module;     // HF module holding q, k and v together, e.g. "c_attn" (GPT-2),
                                    // "query_key_value" (NeoX, BLOOM, Falcon), "qkv_proj" (Phi-3)
  std::int64_t sliding_window = 0;  // tokens seen by sliding layers, e.g. 4096 (0: none)
  std::vector<bool> sliding_layers;  // per layer: uses the sliding window (empty: none)
  bool attn_output_gate = false;     // q_proj also emits a sigmoid output gate (Qwen3-Next)

  // Recurrent layers (state-space / linear attention), ssm.hpp.
  std::vector<Mixer> mixer_layers;    // per layer (empty: every layer is attention)
  std::vector<bool> mlp_free_layers;  // per layer: the block has no MLP (Mamba, Nemotron-H)
  SsmSpec ssm;
  bool chunked_attention = false;  // the "sliding" layers attend within fixed chunks of
                                   // sliding_window tokens instead (Llama 4, e.g. 8192)
  std::vector<bool> nope_layers;   // per layer: no positional encoding (Llama 4, SmolLM3)
  bool attn_sinks = false;         // a learned sink logit per head (gpt-oss), {H} per layer

  // MLP and mixture of experts.
  MlpKind mlp            = MlpKind::gated;
  std::string activation = "silu";   // e.g. "gelu", "relu", "silu"
  bool mlp_bias          = false;    // biases on up (and gate) and down projections
  std::string gate_up_fused_module;  // HF module holding gate and up together, e.g. "gate_up_proj"
  std::int64_t n_expert      = 0;    // routed experts, e.g. 8 (0: dense)
  std::int64_t n_expert_used = 0;    // experts per token, e.g. 2
  std::int64_t n_ff_expert   = 0;    // inner width of one routed expert, e.g. 14336
  std::int64_t n_ff_shared   = 0;    // total inner width of shared experts, e.g. 2 x 1408
  bool shared_expert_gate    = false;  // sigmoid gate on the shared expert (Qwen2-MoE)
  bool router_bias           = false;  // learned per-expert routing bias (DeepSeek-V3 remote code)
  bool expert_bias           = false;  // biases on the router and every expert projection (gpt-oss)
  std::vector<bool> moe_layers;        // per layer: MoE (true) or dense MLP (empty: all dense)

  // Multimodal: the vision tower and its projector (tower_spec.hpp; kind none: text only).
  VisionTower vision;

  // Output.
  bool tied_head = true;   // output head shares the token embedding
  bool head_bias = false;  // bias on the output head (GPT-J, Phi-2)
  bool pooler    = false;  // BERT pooler (dense d x d + bias)

  // Multi-token prediction (DeepSeek-V3 Sec. 2.2, GLM-4.5): extra layers after the model,
  // each a decoder layer plus two norms and a {d, 2d} projection, sharing the embedding and
  // head. HF transformers drops them on load, so they are counted only when asked.
  std::int64_t n_mtp_layers = 0;      // e.g. 1 (num_nextn_predict_layers)
  bool count_mtp            = false;  // include them in the tensor table

  // Stored weight format (quantization_config), applied to the roles it names.
  Quantization quant;
  // Parts of the checkpoint described by the config but not in the tensor table (a vision or
  // audio tower of a multimodal config until its family counts it), e.g. "vision_config".
  std::vector<std::string> not_counted;

  // Encoder-decoder (T5): n_layer counts the encoder, n_layer_dec the decoder.
  bool encoder_decoder     = false;
  std::int64_t n_layer_dec = 0;     // e.g. 6
  bool causal              = true;  // decoder-style masking (false for BERT)

  // Derived accessors.
  std::int64_t n_gqa() const { return n_head / n_head_kv; }  // query heads per kv head
  std::int64_t q_width() const { return n_head * head_dim; }
  std::int64_t kv_width() const { return n_head_kv * head_dim; }
  bool is_moe() const { return n_expert > 0; }
  bool is_moe_layer(std::int64_t i) const {
    return i >= 0 && static_cast<std::size_t>(i) < moe_layers.size() && moe_layers[i];
  }
  bool is_sliding_layer(std::int64_t i) const {
    return i >= 0 && static_cast<std::size_t>(i) < sliding_layers.size() && sliding_layers[i];
  }
  std::int64_t n_moe_layers() const;
  Mixer mixer_of(std::int64_t i) const {
    return i >= 0 && static_cast<std::size_t>(i) < mixer_layers.size() ? mixer_layers[i]
                                                                       : Mixer::attention;
  }
  bool is_mlp_free_layer(std::int64_t i) const {
    return i >= 0 && static_cast<std::size_t>(i) < mlp_free_layers.size() && mlp_free_layers[i];
  }
  std::int64_t n_mixer_layers(Mixer k) const;  // layers whose mixer is k
  std::int64_t n_attention_layers() const { return n_mixer_layers(Mixer::attention); }
  std::int64_t n_mlp_free_layers() const;
  bool has_recurrent_layers() const { return n_attention_layers() < n_layer; }
  std::int64_t n_sliding_layers() const;
};

// Checks every invariant (positive sizes, divisibility, expert counts) and throws
// InputError naming the field on the first violation.
void validate(const ModelSpec& m);

// Throws InputError(field) when a model with a learned position table is given more tokens
// per sequence than the table has rows (RoPE, ALiBi and relative positions may extrapolate).
void check_sequence_length(const ModelSpec& m, std::int64_t tokens, const std::string& field);

const char* to_string(NormKind k);
const char* to_string(MlpKind k);
const char* to_string(PositionKind k);
const char* to_string(Mixer k);
const char* to_string(StoredQuant q);

}  // namespace sizeup
