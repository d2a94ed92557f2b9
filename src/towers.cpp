// Vision towers and projectors (towers.hpp). Shapes are those of the HF transformers modules
// named in each builder (nn.Linear weights {out, in}, nn.Conv2d {out, in, p, p}).
#include "sizeup/towers.hpp"

#include <fmt/format.h>

#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

class Builder {
 public:
  explicit Builder(std::vector<Tensor>& out) : out_(out) {}
  void add(const std::string& name, const std::string& module, Component c, std::vector<I> shape,
           I repeat = 1, bool matmul = false, Split split = Split::replicated) {
    Tensor t;
    t.name      = name;
    t.module    = module;
    t.hf_module = module;
    t.component = c;
    t.shape     = std::move(shape);
    t.repeat    = repeat;
    t.is_matmul = matmul;
    t.split     = split;
    t.placement = Placement::input;  // the tower runs before the first layer
    t.proj      = matmul ? Proj::other : Proj::none;
    out_.push_back(std::move(t));
  }
  void linear(const std::string& name, const std::string& module, Component c, I in, I out,
              bool bias, I repeat = 1, Split split = Split::replicated) {
    add(name + ".weight", module, c, {out, in}, repeat, true, split);
    if (bias)
      add(name + ".bias", module, c, {out}, repeat, false,
          split == Split::row ? Split::replicated : split);
  }
  void norm(const std::string& name, Component c, I width, bool bias, I repeat = 1) {
    add(name + ".weight", "norm", c, {width}, repeat);
    if (bias) add(name + ".bias", "norm", c, {width}, repeat);
  }

 private:
  std::vector<Tensor>& out_;
};

constexpr Component kTower = Component::vision_tower;
constexpr Component kProj  = Component::projector;

I grid(const VisionTower& v) { return v.image_size / v.patch_size; }

// A ViT encoder layer with LayerNorm, biased q/k/v/o and a biased fc1/fc2 MLP (SigLIP, CLIP,
// Llama 4 vision). `attn_out` names the output projection ("out_proj" or "o_proj").
void vit_layers(Builder& b, const VisionTower& v, const std::string& p, const std::string& n1,
                const std::string& n2, const std::string& attn, const std::string& attn_out) {
  const I D = v.n_embd, F = v.n_ff, L = v.n_layer;
  b.norm(p + n1, kTower, D, true, L);
  for (const char* q : {"q_proj", "k_proj", "v_proj"})
    b.linear(p + attn + q, q, kTower, D, D, true, L, Split::column);
  b.linear(p + attn + attn_out, attn_out, kTower, D, D, true, L, Split::row);
  b.norm(p + n2, kTower, D, true, L);
  b.linear(p + "mlp.fc1", "fc1", kTower, D, F, true, L, Split::column);
  b.linear(p + "mlp.fc2", "fc2", kTower, F, D, true, L, Split::row);
}

// HF SiglipVisionModel (vision_use_head = false, as Gemma 3) + Gemma3MultiModalProjector: a
// {D, E} projection weight and an RMSNorm over D, after average pooling to pooled_tokens.
void siglip(Builder& b, const VisionTower& v) {
  const std::string p = "vision_tower.vision_model.";
  const I D = v.n_embd, g = grid(v);
  b.add(p + "embeddings.patch_embedding.weight", "patch_embedding", kTower,
        {D, v.n_channels, v.patch_size, v.patch_size});
  b.add(p + "embeddings.patch_embedding.bias", "patch_embedding", kTower, {D});
  b.add(p + "embeddings.position_embedding.weight", "position_embedding", kTower, {g * g, D});
  vit_layers(b, v, p + "encoder.layers.*.", "layer_norm1", "layer_norm2", "self_attn.", "out_proj");
  b.norm(p + "post_layernorm", kTower, D, true);
  b.add("multi_modal_projector.mm_input_projection_weight", "mm_input_projection", kProj,
        {D, v.out_dim}, 1, true);
  b.norm("multi_modal_projector.mm_soft_emb_norm", kProj, D, false);
}

// HF CLIPVisionModel (class token, bias-free patch convolution, pre- and post-LayerNorm) +
// LlavaMultiModalProjector (linear_1 D -> E, GELU, linear_2 E -> E).
void clip(Builder& b, const VisionTower& v) {
  const std::string p = "vision_tower.vision_model.";
  const I D = v.n_embd, g = grid(v);
  b.add(p + "embeddings.class_embedding", "class_embedding", kTower, {D});
  b.add(p + "embeddings.patch_embedding.weight", "patch_embedding", kTower,
        {D, v.n_channels, v.patch_size, v.patch_size});
  b.add(p + "embeddings.position_embedding.weight", "position_embedding", kTower, {g * g + 1, D});
  b.norm(p + "pre_layrnorm", kTower, D, true);  // sic, as HF spells it
  vit_layers(b, v, p + "encoder.layers.*.", "layer_norm1", "layer_norm2", "self_attn.", "out_proj");
  b.norm(p + "post_layernorm", kTower, D, true);
  b.linear("multi_modal_projector.linear_1", "linear_1", kProj, D, v.out_dim, v.projector_bias);
  b.linear("multi_modal_projector.linear_2", "linear_2", kProj, v.out_dim, v.out_dim,
           v.projector_bias);
}

// HF PixtralVisionModel (bias-free, RMSNorm, gated SiLU MLP, 2D RoPE: no position table) +
// Mistral3MultiModalProjector (RMSNorm, m x m patch merger D·m² -> D, linear_1, linear_2).
void pixtral(Builder& b, const VisionTower& v) {
  const std::string p = "vision_tower.";
  const I D = v.n_embd, F = v.n_ff, L = v.n_layer;
  b.add(p + "patch_conv.weight", "patch_conv", kTower,
        {D, v.n_channels, v.patch_size, v.patch_size});
  b.norm(p + "ln_pre", kTower, D, false);
  const std::string l = p + "transformer.layers.*.";
  b.norm(l + "attention_norm", kTower, D, false, L);
  for (const char* q : {"q_proj", "k_proj", "v_proj"})
    b.linear(l + "attention." + q, q, kTower, D, D, false, L, Split::column);
  b.linear(l + "attention.o_proj", "o_proj", kTower, D, D, false, L, Split::row);
  b.norm(l + "ffn_norm", kTower, D, false, L);
  b.linear(l + "feed_forward.gate_proj", "gate_proj", kTower, D, F, false, L, Split::column);
  b.linear(l + "feed_forward.up_proj", "up_proj", kTower, D, F, false, L, Split::column);
  b.linear(l + "feed_forward.down_proj", "down_proj", kTower, F, D, false, L, Split::row);
  b.norm("multi_modal_projector.norm", kProj, D, false);
  b.linear("multi_modal_projector.patch_merger.merging_layer", "merging_layer", kProj,
           D * v.merge * v.merge, D, false);
  b.linear("multi_modal_projector.linear_1", "linear_1", kProj, D, v.out_dim, v.projector_bias);
  b.linear("multi_modal_projector.linear_2", "linear_2", kProj, v.out_dim, v.out_dim,
           v.projector_bias);
}

// HF Qwen2_5_VisionTransformerPretrainedModel: Conv3d patch embedding over temporal_patch
// frames (no bias), RMSNorm blocks with a fused biased qkv, biased gated SiLU MLP; the
// Qwen2_5_VLPatchMerger (RMSNorm, D·m² -> D·m² -> E MLP with biases) is the projector.
void qwen2_5_vl(Builder& b, const VisionTower& v) {
  const std::string p = "visual.";
  const I D = v.n_embd, F = v.n_ff, L = v.n_layer, M = D * v.merge * v.merge;
  b.add(p + "patch_embed.proj.weight", "patch_embed", kTower,
        {D, v.n_channels, v.temporal_patch, v.patch_size, v.patch_size});
  const std::string l = p + "blocks.*.";
  b.norm(l + "norm1", kTower, D, false, L);
  b.norm(l + "norm2", kTower, D, false, L);
  b.linear(l + "attn.qkv", "qkv", kTower, D, 3 * D, true, L, Split::column);
  b.linear(l + "attn.proj", "proj", kTower, D, D, true, L, Split::row);
  b.linear(l + "mlp.gate_proj", "gate_proj", kTower, D, F, true, L, Split::column);
  b.linear(l + "mlp.up_proj", "up_proj", kTower, D, F, true, L, Split::column);
  b.linear(l + "mlp.down_proj", "down_proj", kTower, F, D, true, L, Split::row);
  b.norm(p + "merger.ln_q", kProj, D, false);
  b.linear(p + "merger.mlp.0", "merger", kProj, M, M, true);
  b.linear(p + "merger.mlp.2", "merger", kProj, M, v.out_dim, true);
}

// HF Llama4VisionModel: unfolded patch embedding as a bias-free linear over C·p² pixels, class
// token, position table with a class row, LayerNorm pre/post, biased ViT layers; its
// Llama4VisionPixelShuffleMLP adapter (fc1 F -> A, fc2 A -> A, no bias) and the
// Llama4MultiModalProjector (A -> E, no bias) form the projector.
void llama4(Builder& b, const VisionTower& v) {
  const std::string p = "vision_model.";
  const I D = v.n_embd, g = grid(v), A = v.adapter_dim;
  b.add(p + "patch_embedding.linear.weight", "patch_embedding", kTower,
        {D, v.n_channels * v.patch_size * v.patch_size}, 1, true);
  b.add(p + "class_embedding", "class_embedding", kTower, {D});
  b.add(p + "positional_embedding_vlm", "positional_embedding", kTower, {g * g + 1, D});
  b.norm(p + "layernorm_pre", kTower, D, true);
  b.norm(p + "layernorm_post", kTower, D, true);
  vit_layers(b, v, p + "model.layers.*.", "input_layernorm", "post_attention_layernorm",
             "self_attn.", "o_proj");
  // HF: fc1 = Linear(intermediate_size, projector_input_dim), fc2 = Linear(projector_output_dim,
  // projector_output_dim), linear_1 = Linear(vision_output_dim, E); equal in published models.
  b.linear(p + "vision_adapter.mlp.fc1", "adapter_fc1", kProj, v.n_ff, A, false);
  b.linear(p + "vision_adapter.mlp.fc2", "adapter_fc2", kProj, v.adapter_out, v.adapter_out, false);
  b.linear("multi_modal_projector.linear_1", "linear_1", kProj, v.vision_out, v.out_dim, false);
}

I ceil_div(I a, I b) { return (a + b - 1) / b; }

double D_(I v) { return static_cast<double>(v); }

std::string num(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

}  // namespace

const char* to_string(TowerKind k) {
  switch (k) {
    case TowerKind::none:
      return "none";
    case TowerKind::siglip:
      return "siglip";
    case TowerKind::clip:
      return "clip";
    case TowerKind::pixtral:
      return "pixtral";
    case TowerKind::qwen2_5_vl:
      return "qwen2_5_vl";
    case TowerKind::llama4:
      return "llama4";
  }
  return "?";
}

std::vector<Tensor> vision_tensors(const ModelSpec& m) {
  std::vector<Tensor> out;
  Builder b(out);
  switch (m.vision.kind) {
    case TowerKind::none:
      break;
    case TowerKind::siglip:
      siglip(b, m.vision);
      break;
    case TowerKind::clip:
      clip(b, m.vision);
      break;
    case TowerKind::pixtral:
      pixtral(b, m.vision);
      break;
    case TowerKind::qwen2_5_vl:
      qwen2_5_vl(b, m.vision);
      break;
    case TowerKind::llama4:
      llama4(b, m.vision);
      break;
  }
  for (auto& t : out) t.stack = Stack::encoder;
  return out;
}

ImageCost image_cost(const ModelSpec& m, std::int64_t image_size) {
  const VisionTower& v = m.vision;
  ImageCost c;
  if (!v.present()) return c;
  if (image_size < 0) throw InputError("invalid image size", "image_size", "must be positive");
  const I S = image_size > 0 ? image_size : v.image_size;
  if (S > 100000)
    throw InputError("invalid image size", "image_size", "more than 100000 pixels per side");
  const I p = v.patch_size, m2 = v.merge * v.merge;
  // Per encoded unit (an image, or a Llama 4 tile): patches P through the tower, tokens Q into
  // the projector, tokens into the language model; units per image.
  I P = 0, Q = 0, lm_tokens = 0, units = 1;
  std::string rule;
  switch (v.kind) {
    case TowerKind::siglip:  // resized to the native size, pooled to a fixed token count
      P         = grid(v) * grid(v);
      Q         = v.pooled_tokens;
      lm_tokens = Q;
      rule = fmt::format("resized to {0} px: ({0}/{1})^2 patches, average-pooled to {2} tokens",
                         v.image_size, p, Q);
      break;
    case TowerKind::clip:  // resized to the native size; the class token is dropped
      P         = grid(v) * grid(v) + 1;
      Q         = grid(v) * grid(v);
      lm_tokens = Q;
      rule      = fmt::format("resized to {0} px: ({0}/{1})^2 patch tokens + 1 class token",
                              v.image_size, p);
      break;
    case TowerKind::pixtral: {  // native resolution up to image_size, m x m merge, row breaks
      const I s = std::min(S, v.image_size), g = ceil_div(s, p * v.merge) * v.merge;
      P         = g * g;
      Q         = (g / v.merge) * (g / v.merge);
      lm_tokens = Q + g / v.merge;
      rule      = fmt::format(
               "side min({}, {}) px in {}-px patches, rounded to whole {}x{} merges: {}^2 patches, "
                    "({}/{})^2 merged tokens + {} [IMG_BREAK]/[IMG_END]",
               S, v.image_size, p, v.merge, v.merge, g, g, v.merge, g / v.merge);
      break;
    }
    case TowerKind::qwen2_5_vl: {  // native resolution, sides rounded to p·m
      const I g = ceil_div(S, p * v.merge) * v.merge;
      P         = g * g;
      Q         = P / m2;
      lm_tokens = Q;
      rule = fmt::format("side {} px rounded up to a multiple of {}: {}^2 patches, {}x{} merged", S,
                         p * v.merge, g, v.merge, v.merge);
      break;
    }
    case TowerKind::llama4: {  // tiles of the native size, plus a global tile when tiled
      const I t = ceil_div(S, v.image_size);
      units     = t * t + (t > 1 ? 1 : 0);
      P         = grid(v) * grid(v) + 1;
      Q         = grid(v) * grid(v) / m2;
      lm_tokens = Q * units;
      rule      = fmt::format(
               "{}^2 tiles of {} px{}: per tile ({}/{})^2 patches + class token, pixel shuffle to {}", t,
               v.image_size, t > 1 ? " + 1 global tile" : "", v.image_size, p, Q);
      break;
    }
    case TowerKind::none:
      break;
  }
  c.patches = P * units;
  c.tokens  = lm_tokens;

  // Forward FLOPs: 2 per weight element per token through the tower's matmuls (P tokens) and
  // the projector's (Q tokens), the patch embedding as a matmul over C·p² pixels per patch,
  // plus the attention products 4·P·keys·D per layer (full attention; Qwen2.5-VL's windowed
  // layers see window_tokens keys).
  double tower = 0, proj = 0;
  for (const Tensor& t : vision_tensors(m)) {
    const bool embed =
        t.module == "patch_embedding" || t.module == "patch_conv" || t.module == "patch_embed";
    if (!(t.is_matmul || (embed && t.shape.size() >= 4))) continue;
    double e = static_cast<double>(t.elements());
    if (t.component == Component::projector)
      proj += 2.0 * e * D_(Q);
    else
      tower += 2.0 * e * D_(embed ? P - (v.kind == TowerKind::clip ? 1 : 0) : P);
  }
  const I full_layers = v.window_tokens > 0 ? v.n_full_attn_layers : v.n_layer;
  const double keys =
      D_(full_layers) * D_(P) + D_(v.n_layer - full_layers) * D_(std::min<I>(v.window_tokens, P));
  const double attn = 4.0 * D_(P) * keys * D_(v.n_embd);
  c.tower_flops     = D_(units) * (tower + attn + proj);

  const double per_token = v.kind == TowerKind::pixtral || v.kind == TowerKind::qwen2_5_vl
                               ? 8.0 * D_(v.n_embd) + 3.0 * D_(v.n_ff)
                               : 8.0 * D_(v.n_embd) + 2.0 * D_(v.n_ff);
  c.activation_elements  = D_(units) * D_(P) * D_(v.n_layer) * per_token;

  const char* src = "towers.hpp (HF image processor of the family)";
  c.rows.rows     = {
          {"patches", "patches encoded by the tower", D_(c.patches), {"units * P", rule, src}},
          {"tokens", "image tokens in the language model", D_(c.tokens), {"per the family", rule, src}},
          {"tower_flops",
           "tower + projector forward FLOPs per image",
           c.tower_flops,
           {"units * (2 * N_tower * P + 4 * P * keys * D + 2 * N_proj * Q)",
            fmt::format("{} * (2 * N_tower * {} + 4 * {} * {} * {} + 2 * N_proj * {})", units, P, P,
                        num(keys / std::max<double>(1.0, D_(v.n_layer))), v.n_embd, Q),
            "matmul convention of docs/flops.md (2 FLOPs per weight per token) applied to the "
                "tower; keys are per layer, averaged"}},
          {"activation_elements",
           "elements a trained tower saves per image",
           c.activation_elements,
           {"units * P * L * (8D + 2F)  (gated MLP: 8D + 3F)",
            fmt::format("{} * {} * {} * {}", units, P, v.n_layer, num(per_token)),
            "per layer and patch: norm inputs (2D), q, k, v and attention output (4D), o and fc1 "
                "inputs (2D), MLP hidden before and after the activation (2F; gated 3F); flash "
                "attention keeps no P x P scores (Korthikanti et al. 2022 Sec. 4.1 without "
                "dropout)"}},
  };
  return c;
}

}  // namespace sizeup
