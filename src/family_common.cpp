// Shared pieces of the config readers: alias-aware field access and the layer patterns
// (sliding windows, MoE placement) several families use.
#include <algorithm>
#include <cmath>

#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup::detail {

using I = std::int64_t;

const json* Config::find(std::initializer_list<const char*> keys, std::string* found) const {
  for (const char* k : keys) {
    auto it = j_.find(k);
    if (it != j_.end() && !it->is_null()) {
      read_->insert(k);
      if (found) *found = k;
      return &*it;
    }
  }
  return nullptr;
}

std::optional<I> Config::opt_int(std::initializer_list<const char*> keys) const {
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

I Config::req_int(std::initializer_list<const char*> keys) const {
  if (auto v = opt_int(keys)) return *v;
  throw InputError("missing field", *keys.begin(), "required by model_type '" + family_ + "'");
}

bool Config::flag(std::initializer_list<const char*> keys, bool dflt) const {
  std::string key;
  const json* v = find(keys, &key);
  if (!v) return dflt;
  if (!v->is_boolean())
    throw InputError("invalid config", key, "must be true or false, got " + v->dump());
  return v->get<bool>();
}

double Config::num(std::initializer_list<const char*> keys, double dflt) const {
  std::string key;
  const json* v = find(keys, &key);
  if (!v) return dflt;
  if (!v->is_number())
    throw InputError("invalid config", key, "must be a number, got " + v->dump());
  return v->get<double>();
}

std::string Config::str(std::initializer_list<const char*> keys, const std::string& dflt) const {
  std::string key;
  const json* v = find(keys, &key);
  if (!v) return dflt;
  if (!v->is_string())
    throw InputError("invalid config", key, "must be a string, got " + v->dump());
  return v->get<std::string>();
}

std::vector<I> Config::int_list(const char* key) const {
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

Config Config::sub(const char* key) const {
  static const json empty = json::object();
  const json* v           = find({key});
  if (!v) return Config(empty, family_, std::make_shared<std::set<std::string>>());
  if (!v->is_object()) throw InputError("invalid config", key, "must be a JSON object");
  return Config(*v, family_, std::make_shared<std::set<std::string>>());
}

bool Config::has(const char* key) const { return find({key}) != nullptr; }

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

I layer_count(const Config& c, std::initializer_list<const char*> keys) {
  const I n = c.req_int(keys);
  if (n <= 0 || n > kMaxLayers)
    throw InputError(
        "invalid model", *keys.begin(),
        "must be between 1 and " + std::to_string(kMaxLayers) + ", got " + std::to_string(n));
  return n;
}

void read_core(const Config& c, ModelSpec& m, I default_ff_mult) {
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

void read_llama_like(const Config& c, ModelSpec& m) {
  read_core(c, m);
  m.norm        = NormKind::rmsnorm;
  m.mlp         = MlpKind::gated;
  m.activation  = c.str({"hidden_act", "hidden_activation"}, "silu");
  m.positions   = PositionKind::rope;
  const bool ab = c.flag({"attention_bias"}, false);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = ab;
  m.mlp_bias                                = c.flag({"mlp_bias"}, false);
  m.tied_head                               = c.flag({"tie_word_embeddings"}, false);
}

bool read_layer_types(const Config& c, ModelSpec& m) {
  const json* v = c.find({"layer_types"});
  if (!v) return false;
  if (!v->is_array() || static_cast<I>(v->size()) != m.n_layer)
    throw InputError("invalid config", "layer_types", "must list one type per layer");
  m.sliding_layers.clear();
  for (const auto& t : *v) {
    const std::string s = t.is_string() ? t.get<std::string>() : "";
    if (s == "chunked_attention") m.chunked_attention = true;
    m.sliding_layers.push_back(s == "sliding_attention" || s == "chunked_attention");
  }
  if (auto w = c.opt_int({m.chunked_attention ? "attention_chunk_size" : "sliding_window"}))
    m.sliding_window = *w;
  return true;
}

void read_sliding_all(const Config& c, ModelSpec& m) {
  if (read_layer_types(c, m)) return;
  const auto w = c.opt_int({"sliding_window"});
  if (!w || *w <= 0 || !c.flag({"use_sliding_window"}, true)) return;
  m.sliding_window = *w;
  const I first    = c.has("use_sliding_window") ? c.int_or({"max_window_layers"}, 0) : 0;
  m.sliding_layers.assign(m.n_layer, false);
  for (I i = first; i < m.n_layer; ++i) m.sliding_layers[i] = true;
}

void read_sliding_pattern(const Config& c, ModelSpec& m, I period, bool global_when_zero) {
  if (read_layer_types(c, m)) return;
  const auto w = c.opt_int({"sliding_window"});
  if (!w || *w <= 0) return;
  if (period <= 0) throw InputError("invalid config", "sliding_window_pattern", "must be positive");
  m.sliding_window = *w;
  m.sliding_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i)
    m.sliding_layers[i] = global_when_zero ? ((i + 1) % period != 0) : (i % period == 0);
}

void all_moe(ModelSpec& m) { m.moe_layers.assign(m.n_layer, true); }

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

void first_k_dense_layers(const Config& c, ModelSpec& m) {
  const I first = c.int_or({"first_k_dense_replace"}, 0);
  const I freq  = c.int_or({"moe_layer_freq"}, 1);
  if (freq <= 0) throw InputError("invalid config", "moe_layer_freq", "must be positive");
  m.moe_layers.assign(m.n_layer, false);
  for (I i = 0; i < m.n_layer; ++i) m.moe_layers[i] = m.n_expert > 0 && i >= first && i % freq == 0;
}

}  // namespace sizeup::detail
