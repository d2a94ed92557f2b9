// Readers for the families sizeup supported first (GPT-2 to DeepSeek-V3, BERT, T5). Each sets
// the ModelSpec from a config whose omitted keys were already filled from the family's
// defaults table (src/hf_config.cpp); the fallbacks written here only cover keys a class
// computes instead of defaulting (head_dim = hidden / heads, n_head_kv = n_head, ...).
#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup::detail {

using I = std::int64_t;

void read_llama(const Config& c, ModelSpec& m) { read_llama_like(c, m); }

void read_gpt2(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions = PositionKind::learned;
  m.norm      = NormKind::layernorm;
  m.norm_bias = true;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  m.mlp                                                  = MlpKind::plain;
  m.activation       = c.str({"activation_function"}, "gelu_new");
  m.tied_head        = c.flag({"tie_word_embeddings"}, true);
  m.qkv_fused_module = "c_attn";
}

void read_gpt_neox(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions      = PositionKind::rope;
  m.rope_dims      = static_cast<I>(c.num({"rotary_pct"}, 1.0) * static_cast<double>(m.head_dim));
  m.norm           = NormKind::layernorm;
  m.norm_bias      = true;
  m.parallel_block = c.flag({"use_parallel_residual"}, true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = c.flag({"attention_bias"}, true);
  m.mlp_bias                                = true;
  m.mlp                                     = MlpKind::plain;
  m.activation                              = c.str({"hidden_act"}, "gelu");
  m.tied_head                               = c.flag({"tie_word_embeddings"}, false);
  m.qkv_fused_module                        = "query_key_value";
}

void read_gptj(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions       = PositionKind::rope;
  m.rope_dims       = c.int_or({"rotary_dim"}, m.head_dim);
  m.norm            = NormKind::layernorm;
  m.norm_bias       = true;
  m.norms_per_layer = 1;
  m.parallel_block  = true;
  m.mlp_bias        = true;
  m.mlp             = MlpKind::plain;
  m.activation      = c.str({"activation_function"}, "gelu_new");
  m.tied_head       = c.flag({"tie_word_embeddings"}, false);
  m.head_bias       = true;
}

void read_opt(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions       = PositionKind::learned;
  m.position_offset = 2;  // HF OPTLearnedPositionalEmbedding keeps 2 extra rows
  m.norm            = NormKind::layernorm;
  m.norm_bias       = c.flag({"layer_norm_elementwise_affine"}, true);
  const bool bias   = c.flag({"enable_bias"}, true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = bias;
  m.final_norm =
      c.flag({"do_layer_norm_before"}, true) && !c.flag({"_remove_final_layer_norm"}, false);
  m.mlp           = MlpKind::plain;
  m.activation    = c.str({"activation_function"}, "relu");
  const I proj    = c.int_or({"word_embed_proj_dim"}, m.n_embd);
  m.embd_proj_dim = proj != m.n_embd ? proj : 0;
  m.tied_head     = c.flag({"tie_word_embeddings"}, true);
}

void read_bloom(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions      = PositionKind::alibi;
  m.embedding_norm = true;
  m.norm           = NormKind::layernorm;
  m.norm_bias      = true;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  m.mlp                                                  = MlpKind::plain;
  m.activation                                           = "gelu";
  m.tied_head                                            = c.flag({"tie_word_embeddings"}, true);
  m.qkv_fused_module                                     = "query_key_value";
}

// Falcon: multi-query (1 kv head) in the old architecture, num_kv_heads groups in the new one
// (HF FalconAttention); one shared LayerNorm for parallel attention, two in the new one.
void read_falcon(const Config& c, ModelSpec& m) {
  read_core(c, m);
  const bool new_arch = c.flag({"new_decoder_architecture"}, false);
  const bool mqa      = c.flag({"multi_query"}, true);
  m.n_head_kv         = new_arch ? c.int_or({"num_kv_heads"}, m.n_head) : (mqa ? 1 : m.n_head);
  m.parallel_block    = c.flag({"parallel_attn"}, true);
  m.norms_per_layer =
      new_arch ? c.int_or({"num_ln_in_parallel_attn"}, 2) : (m.parallel_block ? 1 : 2);
  m.positions     = c.flag({"alibi"}, false) ? PositionKind::alibi : PositionKind::rope;
  m.norm          = NormKind::layernorm;
  m.norm_bias     = true;
  const bool bias = c.flag({"bias"}, false);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = bias;
  m.mlp                                                  = MlpKind::plain;
  m.activation                                           = c.str({"activation"}, "gelu");
  m.tied_head                                            = c.flag({"tie_word_embeddings"}, true);
  m.qkv_fused_module                                     = "query_key_value";
}

void read_qwen2(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.q_bias = m.k_bias = m.v_bias = true;  // HF Qwen2Attention: bias on q, k, v, not o
  read_sliding_all(c, m);
}

void read_qwen2_moe(const Config& c, ModelSpec& m) {
  read_qwen2(c, m);
  m.n_expert           = c.int_or({"num_experts"}, 0);
  m.n_expert_used      = c.int_or({"num_experts_per_tok"}, 0);
  m.n_ff_expert        = c.int_or({"moe_intermediate_size"}, 0);
  m.n_ff_shared        = c.int_or({"shared_expert_intermediate_size"}, 0);
  m.shared_expert_gate = m.n_ff_shared > 0;
  qwen_moe_layers(c, m);
}

void read_qwen3(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.qk_norm = QkNorm::per_head;
  read_sliding_all(c, m);
}

void read_qwen3_moe(const Config& c, ModelSpec& m) {
  read_qwen3(c, m);
  m.n_expert      = c.int_or({"num_experts"}, 0);
  m.n_expert_used = c.int_or({"num_experts_per_tok"}, 0);
  m.n_ff_expert   = c.int_or({"moe_intermediate_size"}, 0);
  qwen_moe_layers(c, m);
}

void read_mistral(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  read_sliding_all(c, m);
}

void read_mixtral(const Config& c, ModelSpec& m) {
  read_mistral(c, m);
  m.n_expert      = c.req_int({"num_local_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = m.n_ff;
  all_moe(m);
}

void read_gemma(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.activation = c.str({"hidden_activation", "hidden_act"}, "gelu_pytorch_tanh");
}

void read_gemma2(const Config& c, ModelSpec& m) {
  read_gemma(c, m);
  m.norms_per_layer = 4;                 // input, post-attention, pre- and post-feedforward
  read_sliding_pattern(c, m, 2, false);  // HF Gemma2: even layers slide
}

void read_gemma3(const Config& c, ModelSpec& m) {
  read_gemma(c, m);
  m.norms_per_layer = 4;
  m.qk_norm         = QkNorm::per_head;
  read_sliding_pattern(c, m, c.int_or({"sliding_window_pattern"}, 6), true);
}

void read_phi(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions = PositionKind::rope;
  m.rope_dims =
      static_cast<I>(c.num({"partial_rotary_factor"}, 0.5) * static_cast<double>(m.head_dim));
  m.norm            = NormKind::layernorm;
  m.norm_bias       = true;
  m.norms_per_layer = 1;
  m.parallel_block  = true;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  m.mlp                                                  = MlpKind::plain;
  m.activation                                           = c.str({"hidden_act"}, "gelu_new");
  m.tied_head                                            = c.flag({"tie_word_embeddings"}, false);
  m.head_bias                                            = true;
  if (c.flag({"qk_layernorm"}, false))
    throw InputError("unsupported config", "qk_layernorm",
                     "Phi with q/k LayerNorm is not supported yet");
}

void read_phi3(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.qkv_fused_module     = "qkv_proj";  // HF Phi3Attention / Phi3MLP fuse these
  m.gate_up_fused_module = "gate_up_proj";
  read_sliding_all(c, m);
}

void read_olmo2(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.qk_norm = QkNorm::full;  // HF Olmo2Attention: RMSNorm over all heads of q and of k
}

void read_starcoder2(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.positions     = PositionKind::rope;
  m.norm          = NormKind::layernorm;
  m.norm_bias     = true;
  const bool bias = c.flag({"use_bias"}, true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = bias;
  m.mlp                                                  = MlpKind::plain;
  m.activation = c.str({"hidden_act"}, "gelu_pytorch_tanh");
  m.tied_head  = c.flag({"tie_word_embeddings"}, true);
  read_sliding_all(c, m);
}

// DeepSeek-V2/V3: MLA attention, dense MLP in the first first_k_dense_replace layers, then
// MoE every moe_layer_freq layers with n_shared_experts shared experts of the expert width.
void read_deepseek(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.attention        = AttentionKind::mla;
  m.q_lora_rank      = c.int_or({"q_lora_rank"}, 0);
  m.kv_lora_rank     = c.req_int({"kv_lora_rank"});
  m.qk_nope_head_dim = c.req_int({"qk_nope_head_dim"});
  m.qk_rope_head_dim = c.req_int({"qk_rope_head_dim"});
  m.v_head_dim       = c.req_int({"v_head_dim"});
  m.head_dim         = m.qk_nope_head_dim + m.qk_rope_head_dim;
  m.n_head_kv        = m.n_head;
  m.n_expert         = c.int_or({"n_routed_experts"}, 0);
  m.n_expert_used    = c.int_or({"num_experts_per_tok"}, 0);
  m.n_ff_expert      = c.int_or({"moe_intermediate_size"}, 0);
  m.n_ff_shared      = c.int_or({"n_shared_experts"}, 0) * m.n_ff_expert;
  m.n_mtp_layers     = c.int_or({"num_nextn_predict_layers"}, 0);
  first_k_dense_layers(c, m);
}

void read_bert(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.causal         = false;
  m.positions      = PositionKind::learned;
  m.n_token_types  = c.int_or({"type_vocab_size"}, 2);
  m.embedding_norm = true;
  m.norm           = NormKind::layernorm;
  m.norm_bias      = true;
  m.final_norm     = false;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  m.mlp                                                  = MlpKind::plain;
  m.activation                                           = c.str({"hidden_act"}, "gelu");
  m.pooler                                               = true;
  m.tied_head                                            = true;
}

void read_t5(const Config& c, ModelSpec& m) {
  m.n_vocab     = c.req_int({"vocab_size"});
  m.n_embd      = c.req_int({"d_model"});
  m.n_layer     = layer_count(c, {"num_layers"});
  m.n_layer_dec = c.has("num_decoder_layers") ? layer_count(c, {"num_decoder_layers"}) : m.n_layer;
  m.n_head      = c.req_int({"num_heads"});
  m.n_head_kv   = m.n_head;
  m.head_dim    = c.req_int({"d_kv"});
  m.n_ff        = c.req_int({"d_ff"});
  m.n_ctx       = c.int_or({"n_positions"}, 512);
  m.n_rel_buckets      = c.int_or({"relative_attention_num_buckets"}, 32);
  m.positions          = PositionKind::relative;
  m.norm               = NormKind::rmsnorm;  // T5LayerNorm: scale only, no mean, no bias
  m.encoder_decoder    = true;
  const std::string ff = c.str({"feed_forward_proj"}, "relu");
  m.mlp                = ff.rfind("gated-", 0) == 0 ? MlpKind::gated : MlpKind::plain;
  m.activation         = m.mlp == MlpKind::gated ? ff.substr(6) : ff;
  m.tied_head          = c.flag({"tie_word_embeddings"}, true);
}

}  // namespace sizeup::detail
