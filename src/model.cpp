#include "sizeup/model.hpp"

#include <algorithm>
#include <string>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;  // sizes beyond 10^12 are input errors

void require_positive(std::int64_t v, const char* field) {
  if (v <= 0)
    throw InputError("invalid model", field, "must be positive, got " + std::to_string(v));
  if (v > kMaxDim)
    throw InputError("invalid model", field, "is implausibly large: " + std::to_string(v));
}

void require_non_negative(std::int64_t v, const char* field) {
  if (v < 0)
    throw InputError("invalid model", field, "must not be negative, got " + std::to_string(v));
  if (v > kMaxDim)
    throw InputError("invalid model", field, "is implausibly large: " + std::to_string(v));
}

void require_divides(std::int64_t divisor, std::int64_t n, const char* field,
                     const std::string& what) {
  if (n % divisor != 0)
    throw InputError(
        "invalid model", field,
        std::to_string(divisor) + " does not divide " + what + " " + std::to_string(n));
}

void validate_moe(const ModelSpec& m) {
  require_non_negative(m.n_expert, "n_expert");
  require_non_negative(m.n_expert_used, "n_expert_used");
  require_non_negative(m.n_ff_shared, "n_ff_shared");
  if (!m.is_moe()) return;
  require_positive(m.n_expert_used, "n_expert_used");
  require_positive(m.n_ff_expert, "n_ff_expert");
  if (m.n_expert_used > m.n_expert)
    throw InputError("invalid model", "n_expert_used",
                     "experts per token (" + std::to_string(m.n_expert_used) +
                         ") exceeds the number of experts (" + std::to_string(m.n_expert) + ")");
}

// Recurrent layers: per-layer lists cover every layer, and the widths their mixers use are set.
void validate_recurrent(const ModelSpec& m) {
  const auto n = static_cast<std::size_t>(m.n_layer);
  if (!m.mixer_layers.empty() && m.mixer_layers.size() != n)
    throw InputError("invalid model", "mixer_layers", "must list every layer");
  if (!m.mlp_free_layers.empty() && m.mlp_free_layers.size() != n)
    throw InputError("invalid model", "mlp_free_layers", "must list every layer");
  for (std::size_t i = 0; i < m.mlp_free_layers.size(); ++i)
    if (m.mlp_free_layers[i] && i < m.moe_layers.size() && m.moe_layers[i])
      throw InputError("invalid model", "moe_layers", "a layer without an MLP cannot be MoE");
  const auto& s = m.ssm;
  if (m.n_mixer_layers(Mixer::mamba) > 0) {
    require_positive(s.d_inner, "d_inner");
    require_positive(s.d_state, "d_state");
    require_positive(s.d_conv, "d_conv");
    require_positive(s.dt_rank, "dt_rank");
  }
  if (m.n_mixer_layers(Mixer::mamba2) > 0) {
    require_positive(s.d_inner, "d_inner");
    require_positive(s.n_heads, "ssm_n_heads");
    require_positive(s.head_dim, "ssm_head_dim");
    require_positive(s.n_groups, "n_groups");
    require_positive(s.d_state, "d_state");
    require_positive(s.d_conv, "d_conv");
    require_divides(s.n_groups, s.n_heads, "n_groups", "SSM heads");
  }
  if (m.n_mixer_layers(Mixer::gated_deltanet) > 0) {
    require_positive(s.n_heads, "linear_num_value_heads");
    require_positive(s.head_dim, "linear_value_head_dim");
    require_positive(s.n_k_heads, "linear_num_key_heads");
    require_positive(s.k_head_dim, "linear_key_head_dim");
    require_positive(s.d_conv, "linear_conv_kernel_dim");
    require_divides(s.n_k_heads, s.n_heads, "linear_num_key_heads", "value heads");
  }
}

}  // namespace

std::int64_t ModelSpec::n_moe_layers() const {
  if (!is_moe()) return 0;
  return std::count(moe_layers.begin(), moe_layers.end(), true);
}

std::int64_t ModelSpec::n_mixer_layers(Mixer k) const {
  if (mixer_layers.empty()) return k == Mixer::attention ? n_layer : 0;
  return std::count(mixer_layers.begin(), mixer_layers.end(), k);
}

std::int64_t ModelSpec::n_mlp_free_layers() const {
  return std::count(mlp_free_layers.begin(), mlp_free_layers.end(), true);
}

std::int64_t ModelSpec::n_sliding_layers() const {
  if (sliding_window <= 0) return 0;
  return std::count(sliding_layers.begin(), sliding_layers.end(), true);
}

void validate(const ModelSpec& m) {
  require_positive(m.n_layer, "n_layer");
  if (m.n_layer > 100000 || m.n_layer_dec > 100000)
    throw InputError("invalid model", "n_layer",
                     "more than 100000 layers is not a plausible model");
  require_positive(m.n_embd, "n_embd");
  // A model without attention layers (Mamba) has no heads: the head fields stay 0.
  const bool attention_free = m.n_attention_layers() == 0 && !m.encoder_decoder;
  if (attention_free && (m.n_head != 0 || m.n_head_kv != 0))
    throw InputError("invalid model", "n_head", "a model without attention layers has no heads");
  if (!attention_free) {
    require_positive(m.n_head, "n_head");
    require_positive(m.n_head_kv, "n_head_kv");
    require_positive(m.head_dim, "head_dim");
  }
  require_positive(m.n_vocab, "n_vocab");
  require_positive(m.n_ctx, "n_ctx");
  require_non_negative(m.n_ff, "n_ff");
  require_non_negative(m.n_layer_dec, "n_layer_dec");
  require_non_negative(m.position_offset, "position_offset");
  require_non_negative(m.sliding_window, "sliding_window");
  require_non_negative(m.embd_proj_dim, "embd_proj_dim");
  require_non_negative(m.n_mtp_layers, "n_mtp_layers");
  if (m.n_mtp_layers > 64)
    throw InputError("invalid model", "n_mtp_layers", "more than 64 prediction layers");
  if (!m.nope_layers.empty() && static_cast<std::int64_t>(m.nope_layers.size()) != m.n_layer)
    throw InputError("invalid model", "nope_layers", "must list every layer");
  if (!m.sliding_layers.empty() && static_cast<std::int64_t>(m.sliding_layers.size()) != m.n_layer)
    throw InputError("invalid model", "sliding_layers", "must list every layer");
  if (!attention_free && m.n_head_kv > m.n_head)
    throw InputError("invalid model", "n_head_kv",
                     "key/value heads (" + std::to_string(m.n_head_kv) +
                         ") exceed attention heads (" + std::to_string(m.n_head) + ")");
  if (!attention_free) require_divides(m.n_head_kv, m.n_head, "n_head_kv", "attention heads");
  if (m.norms_per_layer < 0 || m.norms_per_layer > 8)
    throw InputError("invalid model", "norms_per_layer", "must be between 0 and 8");
  if (m.attention == AttentionKind::mla) {
    require_positive(m.kv_lora_rank, "kv_lora_rank");
    require_positive(m.qk_rope_head_dim, "qk_rope_head_dim");
    require_positive(m.v_head_dim, "v_head_dim");
    require_non_negative(m.qk_nope_head_dim, "qk_nope_head_dim");
    require_non_negative(m.q_lora_rank, "q_lora_rank");
  }
  validate_moe(m);
  validate_recurrent(m);
  if (m.n_moe_layers() + m.n_mlp_free_layers() < m.n_layer) require_positive(m.n_ff, "n_ff");
  if (!m.moe_layers.empty() && static_cast<std::int64_t>(m.moe_layers.size()) != m.n_layer)
    throw InputError("invalid model", "moe_layers", "must list every layer");
  if (m.encoder_decoder) require_positive(m.n_layer_dec, "n_layer_dec");
}

void check_sequence_length(const ModelSpec& m, std::int64_t tokens, const std::string& field) {
  if (m.positions == PositionKind::learned && tokens > m.n_ctx)
    throw InputError("sequence too long", field,
                     std::to_string(tokens) + " exceeds the model's " + std::to_string(m.n_ctx) +
                         " learned positions");
}

const char* to_string(Mixer k) {
  switch (k) {
    case Mixer::attention:
      return "attention";
    case Mixer::mamba:
      return "mamba";
    case Mixer::mamba2:
      return "mamba2";
    case Mixer::gated_deltanet:
      return "gated_deltanet";
    case Mixer::none:
      return "none";
  }
  return "?";
}

const char* to_string(StoredQuant q) {
  switch (q) {
    case StoredQuant::none:
      return "none";
    case StoredQuant::gptq:
      return "gptq";
    case StoredQuant::awq:
      return "awq";
    case StoredQuant::bnb_int8:
      return "bnb-int8";
    case StoredQuant::bnb_nf4:
      return "bnb-nf4";
    case StoredQuant::fp8:
      return "fp8";
    case StoredQuant::mxfp4:
      return "mxfp4";
    case StoredQuant::int8:
      return "int8";
    case StoredQuant::int4:
      return "int4";
  }
  return "?";
}

const char* to_string(NormKind k) { return k == NormKind::layernorm ? "layernorm" : "rmsnorm"; }
const char* to_string(MlpKind k) { return k == MlpKind::gated ? "gated" : "plain"; }
const char* to_string(PositionKind k) {
  switch (k) {
    case PositionKind::learned:
      return "learned";
    case PositionKind::rope:
      return "rope";
    case PositionKind::alibi:
      return "alibi";
    case PositionKind::relative:
      return "relative";
    case PositionKind::none:
      return "none";
  }
  return "?";
}

}  // namespace sizeup
