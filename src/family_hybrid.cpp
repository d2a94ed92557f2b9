// Readers for the state-space and hybrid families: Mamba, Falcon Mamba, Mamba-2, Jamba,
// Granite 4 hybrid (granitemoehybrid), Nemotron-H and Qwen3-Next. Shapes follow the HF
// modeling files named at each reader; omitted keys were filled from the family's defaults
// table first (src/hf_config.cpp). The recurrent layers themselves are in src/ssm.cpp.
#include <cmath>

#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup::detail {

using I = std::int64_t;

namespace {

// A model without a position table: no sequence limit from its parameters.
constexpr I kNoPositionLimit = I{1} << 40;

// time_step_rank / mamba_dt_rank: an integer, or "auto" = ceil(hidden / 16) (HF MambaConfig).
I step_rank(const Config& c, std::initializer_list<const char*> keys, I d) {
  std::string key;
  const json* v = c.find(keys, &key);
  if (v && v->is_string()) {
    if (v->get<std::string>() != "auto")
      throw InputError("invalid config", key, "must be an integer or \"auto\"");
    return (d + 15) / 16;
  }
  return c.req_int(keys);
}

// The attention-free core of Mamba-style models: vocabulary, width, layers, one RMSNorm per
// block, no MLP, no positions, no heads.
void read_ssm_core(const Config& c, ModelSpec& m) {
  m.n_vocab         = c.req_int({"vocab_size"});
  m.n_embd          = c.req_int({"hidden_size", "d_model"});
  m.n_layer         = layer_count(c, {"num_hidden_layers", "n_layer"});
  m.n_head          = 0;
  m.n_head_kv       = 0;
  m.head_dim        = 0;
  m.n_ff            = 0;
  m.n_ctx           = kNoPositionLimit;
  m.positions       = PositionKind::none;
  m.norm            = NormKind::rmsnorm;
  m.norms_per_layer = 1;
  m.mlp_free_layers.assign(m.n_layer, true);
  m.tied_head = c.flag({"tie_word_embeddings"}, true);
}

// Mamba-2 mixer settings under the spellings of Mamba2Config, NemotronHConfig and
// GraniteMoeHybridConfig.
void read_mamba2_mixer(const Config& c, ModelSpec& m, I d_inner) {
  auto& s     = m.ssm;
  s.d_inner   = d_inner;
  s.n_heads   = c.req_int({"num_heads", "mamba_num_heads", "mamba_n_heads"});
  s.n_groups  = c.req_int({"n_groups", "mamba_n_groups", "mamba_num_groups"});
  s.d_state   = c.req_int({"state_size", "ssm_state_size", "mamba_d_state"});
  s.d_conv    = c.req_int({"conv_kernel", "mamba_d_conv"});
  s.conv_bias = c.flag({"use_conv_bias", "mamba_conv_bias"}, true);
  s.proj_bias = c.flag({"use_bias", "mamba_proj_bias"}, false);
  if (s.n_heads > 0 && d_inner % s.n_heads != 0)
    throw InputError("invalid config", "mamba_num_heads",
                     std::to_string(s.n_heads) + " heads do not divide the mixer width " +
                         std::to_string(d_inner));
  s.head_dim = s.n_heads > 0 ? d_inner / s.n_heads : 0;
}

}  // namespace

// HF MambaForCausalLM / FalconMambaForCausalLM: every block is RMSNorm + MambaMixer
// (in_proj d -> 2D, conv over D, x_proj D -> R + 2N, dt_proj R -> D, A_log {D, N}, D {D},
// out_proj); D = intermediate_size (expand * hidden when absent).
void read_mamba(const Config& c, ModelSpec& m) {
  read_ssm_core(c, m);
  m.mixer_layers.assign(m.n_layer, Mixer::mamba);
  auto& s = m.ssm;
  s.d_inner =
      c.int_or({"intermediate_size"},
               static_cast<I>(std::llround(c.num({"expand"}, 2) * static_cast<double>(m.n_embd))));
  s.d_state   = c.req_int({"state_size"});
  s.d_conv    = c.req_int({"conv_kernel"});
  s.dt_rank   = step_rank(c, {"time_step_rank"}, m.n_embd);
  s.conv_bias = c.flag({"use_conv_bias"}, true);
  s.proj_bias = c.flag({"use_bias"}, false);
  c.num({"mixer_rms_eps"}, 0);  // Falcon Mamba: weightless RMS norms on B, C and the step
}

// HF Mamba2ForCausalLM: every block is RMSNorm + Mamba2Mixer of width expand * hidden.
void read_mamba2(const Config& c, ModelSpec& m) {
  read_ssm_core(c, m);
  m.mixer_layers.assign(m.n_layer, Mixer::mamba2);
  read_mamba2_mixer(
      c, m, static_cast<I>(std::llround(c.num({"expand"}, 2) * static_cast<double>(m.n_embd))));
  c.opt_int({"head_dim"});  // implied by expand * hidden / num_heads in HF's mixer
}

// HF JambaForCausalLM: layer i is attention when i % attn_layer_period == attn_layer_offset,
// else a Mamba mixer with RMSNorms on the step, B and C; MoE when i % expert_layer_period ==
// expert_layer_offset (and num_experts > 1), else a gated MLP; no positional encoding.
void read_jamba(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.positions = PositionKind::none;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = false;
  const I ap = c.req_int({"attn_layer_period"}), ao = c.req_int({"attn_layer_offset"});
  const I ep = c.req_int({"expert_layer_period"}), eo = c.req_int({"expert_layer_offset"});
  if (ap <= 0) throw InputError("invalid config", "attn_layer_period", "must be positive");
  if (ep <= 0) throw InputError("invalid config", "expert_layer_period", "must be positive");
  const I E       = c.req_int({"num_experts"});
  m.n_expert      = E > 1 ? E : 0;
  m.n_expert_used = E > 1 ? c.req_int({"num_experts_per_tok"}) : 0;
  m.n_ff_expert   = m.n_ff;
  m.mixer_layers.assign(m.n_layer, Mixer::mamba);
  m.moe_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i) {
    if (i % ap == ao) m.mixer_layers[i] = Mixer::attention;
    m.moe_layers[i] = m.n_expert > 0 && i % ep == eo;
  }
  auto& s       = m.ssm;
  s.d_inner     = c.req_int({"mamba_expand"}) * m.n_embd;
  s.d_state     = c.req_int({"mamba_d_state"});
  s.d_conv      = c.req_int({"mamba_d_conv"});
  s.dt_rank     = step_rank(c, {"mamba_dt_rank"}, m.n_embd);
  s.conv_bias   = c.flag({"mamba_conv_bias"}, true);
  s.proj_bias   = c.flag({"mamba_proj_bias"}, false);
  s.dt_bc_norms = true;
}

// HF GraniteMoeHybridForCausalLM: layer_types picks Mamba-2 (width mamba_expand * hidden) or
// attention; every layer has a MoE block of num_local_experts experts of intermediate_size
// (none when 0) and a shared gated MLP of shared_intermediate_size; attention has no
// positional encoding when position_embedding_type is "nope". Multipliers do not change shapes.
void read_granitemoehybrid(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  const std::string pos = c.str({"position_embedding_type"}, "rope");
  m.positions           = pos == "nope" ? PositionKind::none : PositionKind::rope;
  const json* types     = c.find({"layer_types", "layers_block_type"});
  if (!types || !types->is_array() || static_cast<I>(types->size()) != m.n_layer)
    throw InputError("invalid config", "layer_types",
                     "must list \"mamba\" or \"attention\" for each of the " +
                         std::to_string(m.n_layer) + " layers");
  m.mixer_layers.clear();
  for (const auto& t : *types) {
    const std::string s = t.is_string() ? t.get<std::string>() : "";
    if (s != "mamba" && s != "attention")
      throw InputError("invalid config", "layer_types",
                       "unknown layer type " + t.dump() + " (expected mamba or attention)");
    m.mixer_layers.push_back(s == "mamba" ? Mixer::mamba2 : Mixer::attention);
  }
  const I E  = c.int_or({"num_local_experts"}, 0);
  const I fs = c.int_or({"shared_intermediate_size"}, 0);
  if (E > 0) {
    m.n_expert      = E;
    m.n_expert_used = c.req_int({"num_experts_per_tok"});
    m.n_ff_expert   = m.n_ff;
    m.n_ff_shared   = fs;
    all_moe(m);
  } else {  // dense hybrid (Granite 4.0-H-1B): the shared MLP is the layer's MLP
    m.n_ff = fs;
  }
  const I expand = c.req_int({"mamba_expand"});
  read_mamba2_mixer(c, m, expand * m.n_embd);
  if (auto hd = c.opt_int({"mamba_d_head"}); hd && *hd != m.ssm.head_dim)
    throw InputError("invalid config", "mamba_d_head",
                     std::to_string(*hd) + " x " + std::to_string(m.ssm.n_heads) +
                         " heads is not the mixer width " + std::to_string(m.ssm.d_inner));
  c.num({"embedding_multiplier"}, 1);  // Granite multipliers scale activations, not shapes
  c.num({"attention_multiplier"}, 1);
  c.num({"residual_multiplier"}, 1);
  c.num({"logits_scaling"}, 1);
}

// HF NemotronHForCausalLM: hybrid_override_pattern gives each block's one mixer after one
// RMSNorm: 'M' Mamba-2 (width mamba_num_heads * mamba_head_dim), '*' attention (no positional
// encoding), '-' a plain MLP (up, down; ReLU^2).
void read_nemotron_h(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.norm            = NormKind::rmsnorm;
  m.norms_per_layer = 1;
  m.positions       = PositionKind::none;
  m.mlp             = MlpKind::plain;
  m.activation      = c.str({"mlp_hidden_act"}, "relu2");
  const bool ab     = c.flag({"attention_bias"}, false);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = ab;
  m.mlp_bias                                = c.flag({"mlp_bias"}, false);
  m.tied_head                               = c.flag({"tie_word_embeddings"}, false);
  const std::string pattern                 = c.str({"hybrid_override_pattern"}, "");
  if (static_cast<I>(pattern.size()) != m.n_layer)
    throw InputError("invalid config", "hybrid_override_pattern",
                     "must have one character per layer (" + std::to_string(m.n_layer) + ")");
  m.mixer_layers.assign(m.n_layer, Mixer::none);
  m.mlp_free_layers.assign(m.n_layer, true);
  for (I i = 0; i < m.n_layer; ++i) {
    switch (pattern[i]) {
      case 'M':
        m.mixer_layers[i] = Mixer::mamba2;
        break;
      case '*':
        m.mixer_layers[i] = Mixer::attention;
        break;
      case '-':
        m.mlp_free_layers[i] = false;
        break;
      default:
        throw InputError(
            "unsupported config", "hybrid_override_pattern",
            std::string("block type '") + pattern[i] + "' is not supported (M, * and - are)");
    }
  }
  read_mamba2_mixer(c, m, c.req_int({"mamba_num_heads"}) * c.req_int({"mamba_head_dim"}));
}

// HF Qwen3NextForCausalLM: layer_types (default: every full_attention_interval-th layer is
// full attention) picks gated attention (q_proj doubled for the output gate, per-head q/k
// norms) or a gated DeltaNet; MoE as Qwen2-MoE (shared expert with a sigmoid gate).
void read_qwen3_next(const Config& c, ModelSpec& m) {
  read_llama_like(c, m);
  m.qk_norm            = QkNorm::per_head;
  m.attn_output_gate   = true;
  m.n_expert           = c.int_or({"num_experts"}, 0);
  m.n_expert_used      = c.int_or({"num_experts_per_tok"}, 0);
  m.n_ff_expert        = c.int_or({"moe_intermediate_size"}, 0);
  m.n_ff_shared        = c.int_or({"shared_expert_intermediate_size"}, 0);
  m.shared_expert_gate = m.n_ff_shared > 0;
  qwen_moe_layers(c, m);
  m.mixer_layers.assign(m.n_layer, Mixer::gated_deltanet);
  if (const json* v = c.find({"layer_types"})) {
    if (!v->is_array() || static_cast<I>(v->size()) != m.n_layer)
      throw InputError("invalid config", "layer_types", "must list one type per layer");
    for (I i = 0; i < m.n_layer; ++i) {
      const json& t       = (*v)[static_cast<std::size_t>(i)];
      const std::string s = t.is_string() ? t.get<std::string>() : "";
      if (s != "linear_attention" && s != "full_attention")
        throw InputError(
            "invalid config", "layer_types",
            "unknown layer type " + t.dump() + " (expected linear_attention or full_attention)");
      if (s == "full_attention") m.mixer_layers[i] = Mixer::attention;
    }
  } else {
    const I every = c.req_int({"full_attention_interval"});
    if (every <= 0)
      throw InputError("invalid config", "full_attention_interval", "must be positive");
    for (I i = 0; i < m.n_layer; ++i)
      if ((i + 1) % every == 0) m.mixer_layers[i] = Mixer::attention;
  }
  auto& s      = m.ssm;
  s.n_heads    = c.req_int({"linear_num_value_heads"});
  s.head_dim   = c.req_int({"linear_value_head_dim"});
  s.n_k_heads  = c.req_int({"linear_num_key_heads"});
  s.k_head_dim = c.req_int({"linear_key_head_dim"});
  s.d_conv     = c.req_int({"linear_conv_kernel_dim"});
  s.conv_bias  = false;
  s.proj_bias  = false;
}

}  // namespace sizeup::detail
