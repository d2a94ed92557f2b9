// Internal to the config readers (src/hf_config.cpp, src/family_*.cpp): alias-aware access to
// a config.json object and the shared pieces of the family readers. Not a public header.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sizeup/model.hpp"

namespace sizeup::detail {

using json = nlohmann::json;

// Alias-aware access to config fields, in the manner of llama.cpp's find_hparam. Every key a
// reader looks up is remembered, so that a count-changing key nobody read can be reported.
class Config {
 public:
  Config(const json& j, std::string family) : j_(j), family_(std::move(family)) {}

  const json* find(std::initializer_list<const char*> keys, std::string* found = nullptr) const;
  std::optional<std::int64_t> opt_int(std::initializer_list<const char*> keys) const;
  std::int64_t req_int(std::initializer_list<const char*> keys) const;
  std::int64_t int_or(std::initializer_list<const char*> keys, std::int64_t dflt) const {
    return opt_int(keys).value_or(dflt);
  }
  bool flag(std::initializer_list<const char*> keys, bool dflt) const;
  double num(std::initializer_list<const char*> keys, double dflt) const;
  std::string str(std::initializer_list<const char*> keys, const std::string& dflt) const;
  std::vector<std::int64_t> int_list(const char* key) const;
  // A nested object (e.g. DBRX attn_config), read with the same rules; absent: empty object.
  Config sub(const char* key) const;
  bool has(const char* key) const;  // present and not null (marks the key as read)
  const json& raw() const { return j_; }
  const std::string& family() const { return family_; }
  const std::set<std::string>& read_keys() const { return *read_; }

 private:
  Config(const json& j, std::string family, std::shared_ptr<std::set<std::string>> read)
      : j_(j), family_(std::move(family)), read_(std::move(read)) {}
  const json& j_;
  std::string family_;
  std::shared_ptr<std::set<std::string>> read_ = std::make_shared<std::set<std::string>>();
};

constexpr std::int64_t kMaxLayers = 100000;

// Head width: explicit head_dim, else hidden / heads, which must then divide exactly.
std::int64_t head_dim_of(const Config& c, std::int64_t d, std::int64_t heads);
// Layer count from the first present key, bounded before per-layer lists are allocated.
std::int64_t layer_count(const Config& c, std::initializer_list<const char*> keys);

// Shared core of decoder-only configs (HF names first, GPT-2 style aliases after).
void read_core(const Config& c, ModelSpec& m, std::int64_t default_ff_mult = 4);
// Llama-style decoder: RMSNorm, gated MLP, RoPE, optional attention/MLP biases. The tying
// default comes from the family's defaults table (tie_word_embeddings).
void read_llama_like(const Config& c, ModelSpec& m);
// layer_types ("sliding_attention", "chunked_attention", "full_attention"), if listed.
bool read_layer_types(const Config& c, ModelSpec& m);
// Sliding window on every layer (Mistral, Phi-3, StarCoder2); Qwen2-style configs gate it with
// use_sliding_window and max_window_layers.
void read_sliding_all(const Config& c, ModelSpec& m);
// Every `period`-th layer is global, the others slide (or, !global_when_zero, even layers slide).
void read_sliding_pattern(const Config& c, ModelSpec& m, std::int64_t period,
                          bool global_when_zero);
// Qwen-MoE pattern: MoE where (i + 1) % decoder_sparse_step == 0 and i not in mlp_only_layers.
void qwen_moe_layers(const Config& c, ModelSpec& m);
// DeepSeek pattern: dense in the first first_k_dense_replace layers, then every moe_layer_freq.
void first_k_dense_layers(const Config& c, ModelSpec& m);
void all_moe(ModelSpec& m);

// Family readers, one per model_type (src/family_classic.cpp, src/family_modern.cpp).
#define SIZEUP_READER(name) void name(const Config& c, ModelSpec& m)
SIZEUP_READER(read_gpt2);
SIZEUP_READER(read_gpt_neox);
SIZEUP_READER(read_gptj);
SIZEUP_READER(read_opt);
SIZEUP_READER(read_bloom);
SIZEUP_READER(read_falcon);
SIZEUP_READER(read_llama);
SIZEUP_READER(read_qwen2);
SIZEUP_READER(read_qwen2_moe);
SIZEUP_READER(read_qwen3);
SIZEUP_READER(read_qwen3_moe);
SIZEUP_READER(read_mistral);
SIZEUP_READER(read_mixtral);
SIZEUP_READER(read_gemma);
SIZEUP_READER(read_gemma2);
SIZEUP_READER(read_gemma3);
SIZEUP_READER(read_phi);
SIZEUP_READER(read_phi3);
SIZEUP_READER(read_olmo2);
SIZEUP_READER(read_starcoder2);
SIZEUP_READER(read_deepseek);
SIZEUP_READER(read_bert);
SIZEUP_READER(read_t5);
SIZEUP_READER(read_gpt_oss);
SIZEUP_READER(read_llama4_text);
SIZEUP_READER(read_glm4_moe);
SIZEUP_READER(read_granite);
SIZEUP_READER(read_smollm3);
SIZEUP_READER(read_cohere);
SIZEUP_READER(read_cohere2);
SIZEUP_READER(read_dbrx);
SIZEUP_READER(read_olmoe);
SIZEUP_READER(read_phimoe);
SIZEUP_READER(read_internlm2);
SIZEUP_READER(read_exaone);
// State-space and hybrid families (src/family_hybrid.cpp).
SIZEUP_READER(read_mamba);
SIZEUP_READER(read_mamba2);
SIZEUP_READER(read_jamba);
SIZEUP_READER(read_granitemoehybrid);
SIZEUP_READER(read_nemotron_h);
SIZEUP_READER(read_qwen3_next);
#undef SIZEUP_READER

// Multimodal: reads the vision tower of a wrapper config (`top`, model_type `wrapper`) into
// m.vision after the language model is read (src/family_towers.cpp). False: no tower known.
bool read_vision_tower(const json& top, const std::string& wrapper, ModelSpec& m);
// The configuration class the wrapper's vision defaults come from ("" for none).
std::string vision_defaults_source(const std::string& wrapper);

}  // namespace sizeup::detail
