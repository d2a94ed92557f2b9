// Family readers for HuggingFace config.json. Defaults are those of the HF transformers
// configuration classes (e.g. LlamaConfig.tie_word_embeddings = False), written out
// where a published config may omit the key.
#include "sizeup/hf_config.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using json = nlohmann::json;
using I    = std::int64_t;

constexpr I kMaxLayers = 100000;

// Alias-aware access to config fields, in the manner of llama.cpp's find_hparam.
class Config {
 public:
  explicit Config(const json& j) : j_(j) {}

  const json* find(std::initializer_list<const char*> keys, std::string* found = nullptr) const {
    for (const char* k : keys) {
      auto it = j_.find(k);
      if (it != j_.end() && !it->is_null()) {
        if (found) *found = k;
        return &*it;
      }
    }
    return nullptr;
  }
  std::optional<I> opt_int(std::initializer_list<const char*> keys) const {
    std::string key;
    const json* v = find(keys, &key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<I>();
    if (v->is_number_float()) {
      double d = v->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<I>(d);
    }
    throw InputError("invalid config", key, "must be an integer, got " + v->dump());
  }
  I req_int(std::initializer_list<const char*> keys) const {
    if (auto v = opt_int(keys)) return *v;
    throw InputError("missing field", *keys.begin(), "required by model_type '" + family() + "'");
  }
  I int_or(std::initializer_list<const char*> keys, I dflt) const {
    return opt_int(keys).value_or(dflt);
  }
  bool flag(std::initializer_list<const char*> keys, bool dflt) const {
    std::string key;
    const json* v = find(keys, &key);
    if (!v) return dflt;
    if (!v->is_boolean())
      throw InputError("invalid config", key, "must be true or false, got " + v->dump());
    return v->get<bool>();
  }
  double num(std::initializer_list<const char*> keys, double dflt) const {
    std::string key;
    const json* v = find(keys, &key);
    if (!v) return dflt;
    if (!v->is_number())
      throw InputError("invalid config", key, "must be a number, got " + v->dump());
    return v->get<double>();
  }
  std::string str(std::initializer_list<const char*> keys, const std::string& dflt) const {
    std::string key;
    const json* v = find(keys, &key);
    if (!v) return dflt;
    if (!v->is_string())
      throw InputError("invalid config", key, "must be a string, got " + v->dump());
    return v->get<std::string>();
  }
  std::vector<I> int_list(const char* key) const {
    std::vector<I> out;
    const json* v = find({key});
    if (!v) return out;
    if (!v->is_array()) throw InputError("invalid config", key, "must be a list of integers");
    for (const auto& e : *v) {
      if (!e.is_number_integer())
        throw InputError("invalid config", key, "must be a list of integers");
      out.push_back(e.get<I>());
    }
    return out;
  }
  const json& raw() const { return j_; }
  std::string family() const {
    auto it = j_.find("model_type");
    return it != j_.end() && it->is_string() ? it->get<std::string>() : "?";
  }

 private:
  const json& j_;
};

// Head width: explicit head_dim, else hidden / heads, which must then divide exactly.
I head_dim_of(const Config& c, I d, I heads) {
  if (auto hd = c.opt_int({"head_dim"})) return *hd;
  if (heads <= 0)
    throw InputError("invalid model", "num_attention_heads",
                     "must be positive, got " + std::to_string(heads));
  if (d % heads != 0)
    throw InputError(
        "invalid model", "num_attention_heads",
        std::to_string(heads) + " heads do not divide hidden size " + std::to_string(d));
  return d / heads;
}

// Per-layer lists are built from the layer count, so bound it before anything allocates.
I layer_count(const Config& c, std::initializer_list<const char*> keys) {
  const I n = c.req_int(keys);
  if (n <= 0 || n > kMaxLayers)
    throw InputError(
        "invalid model", *keys.begin(),
        "must be between 1 and " + std::to_string(kMaxLayers) + ", got " + std::to_string(n));
  return n;
}

// Shared core of decoder-only configs (HF names first, GPT-2 style aliases after).
void read_core(const Config& c, ModelSpec& m, I default_ff_mult = 4) {
  m.n_vocab   = c.req_int({"vocab_size"});
  m.n_embd    = c.req_int({"hidden_size", "n_embd", "d_model", "n_embed"});
  m.n_layer   = layer_count(c, {"num_hidden_layers", "n_layer", "num_layers"});
  m.n_head    = c.req_int({"num_attention_heads", "n_head", "num_heads"});
  m.n_head_kv = c.int_or({"num_key_value_heads"}, m.n_head);
  m.head_dim  = head_dim_of(c, m.n_embd, m.n_head);
  m.n_ff      = c.int_or({"intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "d_ff"},
                         default_ff_mult * m.n_embd);
  m.n_ctx     = c.int_or({"max_position_embeddings", "n_positions", "n_ctx", "seq_length"}, 2048);
}

// Llama-style decoder: RMSNorm, gated SiLU MLP, RoPE, optional attention/MLP biases.
void read_llama_like(const Config& c, ModelSpec& m, bool tie_default) {
  read_core(c, m);
  m.norm        = NormKind::rmsnorm;
  m.mlp         = MlpKind::gated;
  m.activation  = c.str({"hidden_act", "hidden_activation"}, "silu");
  m.positions   = PositionKind::rope;
  const bool ab = c.flag({"attention_bias"}, false);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = ab;
  m.mlp_bias                                = c.flag({"mlp_bias"}, false);
  m.tied_head                               = c.flag({"tie_word_embeddings"}, tie_default);
}

// layer_types ("sliding_attention"/"full_attention"), if the config lists them.
bool read_layer_types(const Config& c, ModelSpec& m) {
  const json* v = c.find({"layer_types"});
  if (!v) return false;
  if (!v->is_array() || static_cast<I>(v->size()) != m.n_layer)
    throw InputError("invalid config", "layer_types", "must list one type per layer");
  m.sliding_layers.clear();
  for (const auto& t : *v)
    m.sliding_layers.push_back(t.is_string() && t.get<std::string>() == "sliding_attention");
  if (c.opt_int({"sliding_window"})) m.sliding_window = *c.opt_int({"sliding_window"});
  return true;
}

// Sliding window on every layer where the config names one (Mistral, Phi-3, StarCoder2);
// Qwen2-style configs gate it with use_sliding_window and max_window_layers.
void read_sliding_all(const Config& c, ModelSpec& m) {
  if (read_layer_types(c, m)) return;
  const auto w = c.opt_int({"sliding_window"});
  if (!w || *w <= 0 || !c.flag({"use_sliding_window"}, true)) return;
  m.sliding_window = *w;
  const I first = c.raw().contains("use_sliding_window") ? c.int_or({"max_window_layers"}, 0) : 0;
  m.sliding_layers.assign(m.n_layer, false);
  for (I i = first; i < m.n_layer; ++i) m.sliding_layers[i] = true;
}

// Every `period`-th layer is global, the others slide; `offset` shifts the pattern.
void read_sliding_pattern(const Config& c, ModelSpec& m, I period, bool global_when_zero) {
  if (read_layer_types(c, m)) return;
  const auto w = c.opt_int({"sliding_window"});
  if (!w || *w <= 0) return;
  m.sliding_window = *w;
  m.sliding_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i)
    m.sliding_layers[i] = global_when_zero ? ((i + 1) % period != 0) : (i % period == 0);
}

void all_moe(ModelSpec& m) { m.moe_layers.assign(m.n_layer, true); }

// Qwen-MoE pattern: MoE where (i + 1) % decoder_sparse_step == 0 and i not in mlp_only_layers.
void qwen_moe_layers(const Config& c, ModelSpec& m) {
  const I step = c.int_or({"decoder_sparse_step"}, 1);
  if (step <= 0) throw InputError("invalid config", "decoder_sparse_step", "must be positive");
  const auto dense = c.int_list("mlp_only_layers");
  m.moe_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i) {
    bool listed     = std::find(dense.begin(), dense.end(), i) != dense.end();
    m.moe_layers[i] = m.n_expert > 0 && !listed && (i + 1) % step == 0;
  }
}

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
  read_llama_like(c, m, false);
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
  read_llama_like(c, m, false);
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
  read_llama_like(c, m, false);
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
  read_llama_like(c, m, true);
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
  read_llama_like(c, m, false);
  m.qkv_fused_module     = "qkv_proj";  // HF Phi3Attention / Phi3MLP fuse these
  m.gate_up_fused_module = "gate_up_proj";
  read_sliding_all(c, m);
}

void read_olmo2(const Config& c, ModelSpec& m) {
  read_llama_like(c, m, false);
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
  read_llama_like(c, m, false);
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
  const I first      = c.int_or({"first_k_dense_replace"}, 0);
  const I freq       = c.int_or({"moe_layer_freq"}, 1);
  if (freq <= 0) throw InputError("invalid config", "moe_layer_freq", "must be positive");
  m.moe_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i) m.moe_layers[i] = m.n_expert > 0 && i >= first && i % freq == 0;
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
  m.n_vocab = c.req_int({"vocab_size"});
  m.n_embd  = c.req_int({"d_model"});
  m.n_layer = layer_count(c, {"num_layers"});
  m.n_layer_dec =
      c.raw().contains("num_decoder_layers") ? layer_count(c, {"num_decoder_layers"}) : m.n_layer;
  m.n_head             = c.req_int({"num_heads"});
  m.n_head_kv          = m.n_head;
  m.head_dim           = c.req_int({"d_kv"});
  m.n_ff               = c.req_int({"d_ff"});
  m.n_ctx              = c.int_or({"n_positions"}, 512);
  m.n_rel_buckets      = c.int_or({"relative_attention_num_buckets"}, 32);
  m.positions          = PositionKind::relative;
  m.norm               = NormKind::rmsnorm;  // T5LayerNorm: scale only, no mean, no bias
  m.encoder_decoder    = true;
  const std::string ff = c.str({"feed_forward_proj"}, "relu");
  m.mlp                = ff.rfind("gated-", 0) == 0 ? MlpKind::gated : MlpKind::plain;
  m.activation         = m.mlp == MlpKind::gated ? ff.substr(6) : ff;
  m.tied_head          = c.flag({"tie_word_embeddings"}, true);
}

using Reader = std::function<void(const Config&, ModelSpec&)>;

const std::map<std::string, Reader>& readers() {
  static const std::map<std::string, Reader> r = {
      {"gpt2", read_gpt2},
      {"gpt_neox", read_gpt_neox},
      {"gptj", read_gptj},
      {"opt", read_opt},
      {"bloom", read_bloom},
      {"falcon", read_falcon},
      {"llama", [](const Config& c, ModelSpec& m) { read_llama_like(c, m, false); }},
      {"mistral", read_mistral},
      {"mixtral", read_mixtral},
      {"qwen2", read_qwen2},
      {"qwen2_moe", read_qwen2_moe},
      {"qwen3", read_qwen3},
      {"qwen3_moe", read_qwen3_moe},
      {"gemma", read_gemma},
      {"gemma2", read_gemma2},
      {"gemma3_text", read_gemma3},
      {"phi", read_phi},
      {"phi3", read_phi3},
      {"deepseek_v2", read_deepseek},
      {"deepseek_v3", read_deepseek},
      {"olmo2", read_olmo2},
      {"starcoder2", read_starcoder2},
      {"bert", read_bert},
      {"t5", read_t5},
  };
  return r;
}

// architectures class-name prefix -> model_type, for configs without model_type.
const std::pair<const char*, const char*> kArchitecturePrefixes[] = {
    {"GPT2", "gpt2"},
    {"GPTNeoX", "gpt_neox"},
    {"GPTJ", "gptj"},
    {"OPT", "opt"},
    {"Bloom", "bloom"},
    {"Falcon", "falcon"},
    {"Llama", "llama"},
    {"Mistral", "mistral"},
    {"Mixtral", "mixtral"},
    {"Qwen2Moe", "qwen2_moe"},
    {"Qwen2", "qwen2"},
    {"Qwen3Moe", "qwen3_moe"},
    {"Qwen3", "qwen3"},
    {"Gemma3", "gemma3_text"},
    {"Gemma2", "gemma2"},
    {"Gemma", "gemma"},
    {"Phi3", "phi3"},
    {"Phi", "phi"},
    {"DeepseekV2", "deepseek_v2"},
    {"DeepseekV3", "deepseek_v3"},
    {"Olmo2", "olmo2"},
    {"Starcoder2", "starcoder2"},
    {"Bert", "bert"},
    {"T5", "t5"},
};

std::string family_list() {
  std::string s;
  for (const auto& f : supported_families()) s += (s.empty() ? "" : ", ") + f;
  return s;
}

std::string resolve_family(const json& j) {
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
    std::string t = it->get<std::string>();
    if (t == "gemma3" && j.contains("text_config")) return "gemma3";
    if (readers().count(t)) return t;
    throw InputError("unsupported model", "model_type",
                     "'" + t + "' is not supported; supported: " + family_list());
  }
  if (auto it = j.find("architectures"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string()) continue;
      for (const auto& [prefix, type] : kArchitecturePrefixes)
        if (a.get<std::string>().rfind(prefix, 0) == 0) return type;
    }
  }
  throw InputError(
      "unsupported model", "model_type",
      "config has no recognised model_type or architectures; supported: " + family_list());
}

// The config.json key a ModelSpec field was read from: the first of its usual spellings present
// in the file (HF names first, GPT-2/Falcon/T5/DeepSeek aliases after), else the field itself.
std::string config_key_for_field(const json& j, const std::string& field) {
  static const std::map<std::string, std::vector<const char*>> keys = {
      {"n_layer", {"num_hidden_layers", "n_layer", "num_layers"}},
      {"n_embd", {"hidden_size", "n_embd", "d_model", "n_embed"}},
      {"n_head", {"num_attention_heads", "n_head", "num_heads"}},
      {"n_head_kv", {"num_key_value_heads", "num_kv_heads", "multi_query"}},
      {"n_ff", {"intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "d_ff"}},
      {"n_vocab", {"vocab_size"}},
      {"n_ctx", {"max_position_embeddings", "n_positions", "n_ctx", "seq_length"}},
      {"head_dim", {"head_dim"}},
      {"n_expert", {"num_local_experts", "num_experts", "n_routed_experts"}},
      {"n_expert_used", {"num_experts_per_tok"}},
      {"n_ff_expert", {"moe_intermediate_size"}},
      {"n_ff_shared", {"shared_expert_intermediate_size", "n_shared_experts"}},
      {"n_layer_dec", {"num_decoder_layers"}},
      {"sliding_window", {"sliding_window"}}};
  const auto it = keys.find(field);
  if (it == keys.end()) return field;
  for (const char* k : it->second)
    if (j.contains(k)) return k;
  return it->second.front();
}

}  // namespace

std::vector<std::string> supported_families() {
  std::vector<std::string> out;
  for (const auto& [name, reader] : readers()) out.push_back(name);
  return out;
}

ModelSpec model_from_config_text(std::string_view text, const std::string& name) {
  // A config.json nests a few levels (text_config.rope_scaling...); deeper input is refused
  // at once instead of building a tree of millions of empty arrays.
  constexpr int kMaxDepth                   = 32;
  const json::parser_callback_t depth_limit = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth)
      throw InputError("malformed config", "config.json",
                       "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return true;
  };
  json j = json::parse(text, depth_limit, false);
  if (j.is_discarded()) throw InputError("malformed config", "config.json", "not valid JSON");
  if (!j.is_object()) throw InputError("malformed config", "config.json", "must be a JSON object");
  std::string family = resolve_family(j);
  if (family == "gemma3") {  // multimodal wrapper: count the language model
    j      = j.at("text_config");
    family = "gemma3_text";
    if (!j.is_object())
      throw InputError("malformed config", "text_config", "must be a JSON object");
  }
  ModelSpec m;
  m.name   = name;
  m.family = family;
  Config c(j);
  readers().at(family)(c, m);
  try {
    validate(m);
  } catch (const InputError& e) {  // name the key of config.json, not the ModelSpec field
    throw InputError(e.subject(), config_key_for_field(j, e.field()), e.reason());
  }
  return m;
}

}  // namespace sizeup
