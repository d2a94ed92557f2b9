// Vision towers of multimodal configs (towers.hpp): vision_config read with the defaults of
// its HF configuration class, plus the wrapper's projector keys. Called by
// model_from_config_text after the language model is read.
#include <cmath>

#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup::detail {

using I = std::int64_t;

namespace {

// Class defaults of the vision configs, for keys a vision_config omits.
const char* vision_defaults(TowerKind k) {
  switch (k) {
    case TowerKind::siglip:  // transformers 4.50 SiglipVisionConfig
      return R"({"hidden_size":768,"intermediate_size":3072,"num_hidden_layers":12,
                 "num_attention_heads":12,"num_channels":3,"image_size":224,"patch_size":16,
                 "vision_use_head":true})";
    case TowerKind::clip:  // transformers 4.40 LlavaConfig's CLIPVisionConfig when absent
      return R"({"hidden_size":1024,"intermediate_size":4096,"num_hidden_layers":24,
                 "num_attention_heads":16,"num_channels":3,"image_size":336,"patch_size":14})";
    case TowerKind::pixtral:  // transformers 4.50 PixtralVisionConfig
      return R"({"hidden_size":1024,"intermediate_size":4096,"num_hidden_layers":24,
                 "num_attention_heads":16,"num_channels":3,"image_size":1024,"patch_size":16})";
    case TowerKind::qwen2_5_vl:  // transformers 4.49 Qwen2_5_VLVisionConfig
      return R"({"depth":32,"hidden_size":3584,"intermediate_size":3420,"num_heads":16,
                 "in_channels":3,"patch_size":14,"spatial_merge_size":2,
                 "temporal_patch_size":2,"window_size":112,"out_hidden_size":3584,
                 "fullatt_block_indexes":[7,15,23,31]})";
    case TowerKind::llama4:  // transformers 4.51 Llama4VisionConfig
      return R"({"hidden_size":768,"num_hidden_layers":34,"num_attention_heads":16,
                 "num_channels":3,"intermediate_size":5632,"vision_output_dim":7680,
                 "image_size":448,"patch_size":14,"pixel_shuffle_ratio":0.5,
                 "projector_input_dim":4096,"projector_output_dim":4096})";
    case TowerKind::none:
      break;
  }
  return "{}";
}

TowerKind tower_of(const std::string& wrapper) {
  if (wrapper == "gemma3") return TowerKind::siglip;
  if (wrapper == "llava") return TowerKind::clip;
  if (wrapper == "mistral3") return TowerKind::pixtral;
  if (wrapper == "qwen2_5_vl") return TowerKind::qwen2_5_vl;
  if (wrapper == "llama4") return TowerKind::llama4;
  return TowerKind::none;
}

I positive(const Config& c, std::initializer_list<const char*> keys) {
  const I v = c.req_int(keys);
  if (v <= 0 || v > (I{1} << 24))
    throw InputError("invalid config", std::string("vision_config.") + *keys.begin(),
                     "must be between 1 and 2^24, got " + std::to_string(v));
  return v;
}

}  // namespace

bool read_vision_tower(const json& top, const std::string& wrapper, ModelSpec& m) {
  const TowerKind kind = tower_of(wrapper);
  if (kind == TowerKind::none) return false;
  json v = json::parse(vision_defaults(kind));
  if (auto it = top.find("vision_config"); it != top.end() && !it->is_null()) {
    if (!it->is_object())
      throw InputError("malformed config", "vision_config", "must be a JSON object");
    for (const auto& [k, x] : it->items()) v[k] = x;
  }
  const Config c(v, wrapper);
  const Config t(top, wrapper);
  VisionTower& w = m.vision;
  w.kind         = kind;
  w.out_dim      = m.n_embd;
  w.n_layer      = positive(c, {"num_hidden_layers", "depth"});
  w.n_embd       = positive(c, {"hidden_size"});
  w.n_head       = positive(c, {"num_attention_heads", "num_heads"});
  w.n_ff         = positive(c, {"intermediate_size"});
  w.patch_size   = positive(c, {"patch_size"});
  w.n_channels   = positive(c, {"num_channels", "in_channels", "in_chans"});
  switch (kind) {
    case TowerKind::siglip:
      w.image_size    = positive(c, {"image_size"});
      w.pooled_tokens = t.int_or({"mm_tokens_per_image"}, 256);
      if (c.flag({"vision_use_head"}, false))
        throw InputError("unsupported config", "vision_config.vision_use_head",
                         "the SigLIP attention-pooling head is not counted (Gemma 3 has none)");
      break;
    case TowerKind::clip:
      w.image_size     = positive(c, {"image_size"});
      w.projector_bias = t.flag({"multimodal_projector_bias"}, true);
      break;
    case TowerKind::pixtral:
      w.image_size     = positive(c, {"image_size"});
      w.merge          = t.int_or({"spatial_merge_size"}, 2);
      w.projector_bias = t.flag({"multimodal_projector_bias"}, false);
      break;
    case TowerKind::qwen2_5_vl: {
      w.image_size         = 0;  // native resolution: every image size is allowed
      w.merge              = positive(c, {"spatial_merge_size"});
      w.temporal_patch     = positive(c, {"temporal_patch_size"});
      w.out_dim            = positive(c, {"out_hidden_size"});
      const I window_px    = c.int_or({"window_size"}, 0);
      const I side         = window_px / w.patch_size;
      w.window_tokens      = side * side;
      w.n_full_attn_layers = static_cast<I>(c.int_list("fullatt_block_indexes").size());
      if (w.out_dim != m.n_embd)
        throw InputError("invalid config", "vision_config.out_hidden_size",
                         "must equal the language model width " + std::to_string(m.n_embd));
      break;
    }
    case TowerKind::llama4: {
      w.image_size       = positive(c, {"image_size"});
      const double ratio = c.num({"pixel_shuffle_ratio"}, 0.5);
      if (!(ratio > 0 && ratio <= 1) || std::fabs(1.0 / ratio - std::round(1.0 / ratio)) > 1e-9)
        throw InputError("invalid config", "vision_config.pixel_shuffle_ratio",
                         "must be 1/m for a whole number m");
      w.merge       = static_cast<I>(std::llround(1.0 / ratio));
      w.adapter_dim = positive(c, {"projector_input_dim"});
      w.adapter_out = positive(c, {"projector_output_dim"});
      w.vision_out  = positive(c, {"vision_output_dim"});
      break;
    }
    case TowerKind::none:
      break;
  }
  if (w.image_size > 0 && w.image_size % w.patch_size != 0)
    throw InputError("invalid config", "vision_config.image_size",
                     "must be a multiple of patch_size " + std::to_string(w.patch_size));
  std::erase(m.not_counted, std::string("vision_config"));
  return true;
}

std::string vision_defaults_source(const std::string& wrapper) {
  switch (tower_of(wrapper)) {
    case TowerKind::siglip:
      return "vision_config: transformers 4.50 SiglipVisionConfig (Gemma3Config)";
    case TowerKind::clip:
      return "vision_config: transformers 4.40 LlavaConfig's CLIPVisionConfig";
    case TowerKind::pixtral:
      return "vision_config: transformers 4.50 PixtralVisionConfig (Mistral3Config)";
    case TowerKind::qwen2_5_vl:
      return "vision_config: transformers 4.49 Qwen2_5_VLVisionConfig";
    case TowerKind::llama4:
      return "vision_config: transformers 4.51 Llama4VisionConfig";
    case TowerKind::none:
      break;
  }
  return "";
}

}  // namespace sizeup::detail
