// Readers for the 2024-2025 text families: gpt-oss, Llama 4 (text), GLM-4.5 MoE, Granite 3,
// SmolLM3, Cohere (Command R / R7B), DBRX, OLMoE, Phi-3.5-MoE, InternLM2 and EXAONE 3.
// Shapes follow the HF modeling files named at each reader (remote code where the family is
// not in transformers); omitted keys were filled from the family's defaults table first.
#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup::detail {

using I = std::int64_t;

namespace {

// Per-layer 0/1 list "1 = uses RoPE" (Llama 4 and SmolLM3 no_rope_layers); absent: every
// `interval`-th layer (1-based) has no positional encoding, as the HF configs build it.
void read_nope_layers(const Config& c, ModelSpec& m) {
  const auto listed = c.int_list("no_rope_layers");
  const I interval  = c.int_or({"no_rope_layer_interval"}, 0);
  if (!listed.empty() && static_cast<I>(listed.size()) < m.n_layer)
    throw InputError("invalid config", "no_rope_layers", "must list every layer");
  if (listed.empty() && interval <= 0) return;
  m.nope_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i)
    m.nope_layers[i] = listed.empty() ? (i + 1) % interval == 0 : listed[i] == 0;
}

}  // namespace

// gpt-oss (HF GptOssForCausalLM, transformers >= 4.55): biased q/k/v/o, a learned sink logit per
// head, alternating sliding (even layers) and full attention, every layer MoE with a biased
// router and biased experts (gate_up {E, d, 2f} + {E, 2f}, down {E, f, d} + {E, d}).
void read_gpt_oss(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.attn_sinks    = true;
  m.n_expert      = c.req_int({"num_local_experts", "num_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = m.n_ff;
  m.expert_bias   = true;
  all_moe(m);
  if (!read_layer_types(c, m)) {  // GptOssConfig: layer i slides when (i + 1) % 2 != 0
    m.sliding_window = c.int_or({"sliding_window"}, 0);
    if (m.sliding_window > 0) {
      m.sliding_layers.assign(m.n_layer, false);
      for (I i = 0; i < m.n_layer; ++i) m.sliding_layers[i] = (i + 1) % 2 != 0;
    }
  }
}

// Llama 4 text model (HF Llama4TextModel): MoE layers listed in moe_layers or every
// interleave_moe_layer_step-th layer (one shared expert of intermediate_size beside E routed
// ones), dense layers of intermediate_size_mlp; RoPE layers use chunked attention and an L2
// q/k norm without weights; every no_rope_layer_interval-th layer has no positions.
void read_llama4_text(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.n_ff          = c.req_int({"intermediate_size_mlp"});
  m.n_expert      = c.req_int({"num_local_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = c.req_int({"intermediate_size"});
  m.n_ff_shared   = m.n_ff_expert;
  c.flag({"use_qk_norm"}, true);  // L2 norm: no parameters
  auto listed = c.int_list("moe_layers");
  if (listed.empty()) {
    const I step = c.int_or({"interleave_moe_layer_step"}, 1);
    if (step <= 0)
      throw InputError("invalid config", "interleave_moe_layer_step", "must be positive");
    for (I i = step - 1; i < m.n_layer; i += step) listed.push_back(i);
  }
  m.moe_layers.assign(m.n_layer, false);
  for (I i : listed) {
    if (i < 0 || i >= m.n_layer)
      throw InputError("invalid config", "moe_layers",
                       "layer " + std::to_string(i) + " is out of range");
    m.moe_layers[i] = true;
  }
  read_nope_layers(c, m);
  if (!read_layer_types(c, m)) {
    const I chunk = c.int_or({"attention_chunk_size"}, 0);
    if (chunk > 0 && !m.nope_layers.empty()) {
      m.sliding_window    = chunk;
      m.chunked_attention = true;
      m.sliding_layers.assign(m.n_layer, false);
      for (I i = 0; i < m.n_layer; ++i) m.sliding_layers[i] = !m.nope_layers[i];
    }
  }
}

// GLM-4.5 / 4.6 (HF Glm4MoeForCausalLM): biased q/k/v (attention_bias), optional per-head q/k
// RMSNorm (use_qk_norm), partial RoPE, dense MLP in the first first_k_dense_replace layers and
// then MoE with n_shared_experts shared experts of moe_intermediate_size; the last
// num_nextn_predict_layers layers of the checkpoint are multi-token-prediction layers.
void read_glm4_moe(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.o_bias  = false;  // HF Glm4MoeAttention: o_proj has no bias
  m.qk_norm = c.flag({"use_qk_norm"}, false) ? QkNorm::per_head : QkNorm::none;
  m.rope_dims =
      static_cast<I>(c.num({"partial_rotary_factor"}, 0.5) * static_cast<double>(m.head_dim));
  m.n_expert      = c.req_int({"n_routed_experts", "num_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = c.req_int({"moe_intermediate_size"});
  m.n_ff_shared   = c.int_or({"n_shared_experts"}, 0) * m.n_ff_expert;
  m.n_mtp_layers  = c.int_or({"num_nextn_predict_layers"}, 0);
  first_k_dense_layers(c, m);
}

// Granite 3 (HF GraniteForCausalLM): a Llama layout; its embedding, residual, attention and
// logits multipliers scale activations and change no tensor.
void read_granite(const Config& c, ModelSpec& m) { read_llama_like(c, m); }

// SmolLM3 (HF SmolLM3ForCausalLM): Llama layout, every no_rope_layer_interval-th layer NoPE.
void read_smollm3(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  read_nope_layers(c, m);
  read_sliding_all(c, m);
}

// Command R (HF CohereForCausalLM): one weight-only LayerNorm per layer feeding attention and
// MLP in parallel, optional q/k LayerNorm over {heads, head_dim} (use_qk_norm), tied head.
void read_cohere(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.norm            = NormKind::layernorm;
  m.norm_bias       = false;
  m.norms_per_layer = 1;
  m.parallel_block  = true;
  m.qk_norm         = c.flag({"use_qk_norm"}, false) ? QkNorm::full : QkNorm::none;
}

// Command R7B / A (HF Cohere2ForCausalLM): as Cohere, head_dim = hidden / heads always, three
// sliding layers for every global one (sliding_window_pattern 4, or layer_types).
void read_cohere2(const Config& c, ModelSpec& m) {
  read_cohere(c, m);
  m.head_dim = m.n_embd / m.n_head;
  read_sliding_pattern(c, m, c.int_or({"sliding_window_pattern"}, 4), true);
}

// DBRX (HF DbrxForCausalLM): fused Wqkv and out_proj without biases, two bias-free LayerNorms
// per layer, every layer MoE (router d -> E, experts w1/v1 {E*f, d} and w2), untied head.
void read_dbrx(const Config& c, ModelSpec& m) {
  m.n_vocab          = c.req_int({"vocab_size"});
  m.n_embd           = c.req_int({"d_model"});
  m.n_layer          = layer_count(c, {"n_layers"});
  m.n_head           = c.req_int({"n_heads"});
  m.n_ctx            = c.int_or({"max_seq_len"}, 2048);
  m.head_dim         = head_dim_of(c, m.n_embd, m.n_head);
  const Config attn  = c.sub("attn_config");
  const Config ffn   = c.sub("ffn_config");
  m.n_head_kv        = attn.int_or({"kv_n_heads"}, 1);      // DbrxAttentionConfig default
  m.n_expert         = ffn.int_or({"moe_num_experts"}, 4);  // DbrxFFNConfig defaults
  m.n_expert_used    = ffn.int_or({"moe_top_k"}, 1);
  m.n_ff_expert      = ffn.int_or({"ffn_hidden_size"}, 3584);
  m.n_ff             = m.n_ff_expert;
  m.positions        = PositionKind::rope;
  m.norm             = NormKind::layernorm;
  m.norm_bias        = false;
  m.mlp              = MlpKind::gated;
  m.activation       = "silu";
  m.qkv_fused_module = "Wqkv";
  m.tied_head        = c.flag({"tie_word_embeddings"}, false);
  all_moe(m);
}

// OLMoE (HF OlmoeForCausalLM): Llama layout, q/k RMSNorm over the full q and k widths, every
// layer MoE with a bias-free router.
void read_olmoe(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.qk_norm       = QkNorm::full;
  m.n_expert      = c.req_int({"num_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = m.n_ff;
  all_moe(m);
}

// Phi-3.5-MoE (HF PhimoeForCausalLM): LayerNorms with bias, optional attention bias and head
// bias (lm_head_bias), every layer MoE of intermediate_size experts, sliding window if set.
void read_phimoe(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.norm          = NormKind::layernorm;
  m.norm_bias     = true;
  m.head_bias     = c.flag({"lm_head_bias"}, false);
  m.n_expert      = c.req_int({"num_local_experts"});
  m.n_expert_used = c.req_int({"num_experts_per_tok"});
  m.n_ff_expert   = m.n_ff;
  all_moe(m);
  read_sliding_all(c, m);
}

// InternLM2 / 2.5 (remote code modeling_internlm2.py): fused wqkv and wo with `bias`, gated
// w1/w3/w2 MLP without bias, RMSNorm, untied output.
void read_internlm2(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  const bool bias = c.flag({"bias"}, true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = bias;
  m.qkv_fused_module                        = "wqkv";
}

// EXAONE 3.0 / 3.5 (remote code modeling_exaone.py): GPT-2 style names (num_layers,
// activation_function) over a Llama layout: q/k/v/out without bias, gated c_fc_0/c_fc_1/c_proj,
// RMSNorm (ln_1, ln_2, ln_f).
void read_exaone(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.activation = c.str({"activation_function"}, "silu");
}

}  // namespace sizeup::detail
