// Shape of a multimodal model's vision tower and projector (towers.hpp counts them). A plain
// value type held by ModelSpec; every field has an example.
#pragma once

#include <cstdint>

namespace sizeup {

// Vision encoders, each as its HF transformers module: SigLIP (Gemma 3), CLIP (LLaVA),
// Pixtral (Mistral 3), the Qwen2.5-VL vision transformer, the Llama 4 vision model.
enum class TowerKind { none, siglip, clip, pixtral, qwen2_5_vl, llama4 };

struct VisionTower {
  TowerKind kind                  = TowerKind::none;
  std::int64_t n_layer            = 0;     // encoder layers, e.g. 27 (SigLIP So400m)
  std::int64_t n_embd             = 0;     // width D, e.g. 1152
  std::int64_t n_head             = 0;     // attention heads, e.g. 16
  std::int64_t n_ff               = 0;     // MLP inner width F, e.g. 4304
  std::int64_t patch_size         = 0;     // p, pixels per patch side, e.g. 14
  std::int64_t image_size         = 0;     // native (or largest) image side in pixels, e.g. 896
  std::int64_t n_channels         = 3;     // input channels, e.g. 3 (RGB)
  std::int64_t temporal_patch     = 1;     // frames per patch (Qwen2.5-VL Conv3d), e.g. 2
  std::int64_t merge              = 1;     // patches merged per side into one token, e.g. 2
  std::int64_t pooled_tokens      = 0;     // tokens per image after pooling (Gemma 3: 256; 0: none)
  std::int64_t out_dim            = 0;     // language model width the projector maps to, e.g. 2560
  std::int64_t adapter_dim        = 0;     // Llama 4 pixel-shuffle MLP fc1 output, e.g. 4096
  std::int64_t adapter_out        = 0;     // Llama 4 fc2 width (projector_output_dim), e.g. 4096
  std::int64_t vision_out         = 0;     // Llama 4 projector input (vision_output_dim), e.g. 4096
  std::int64_t window_tokens      = 0;     // patches per attention window (Qwen2.5-VL: 64; 0: none)
  std::int64_t n_full_attn_layers = 0;     // layers with full attention when windowed, e.g. 4
  bool projector_bias             = true;  // biases on the projector linears (LLaVA: true)

  bool present() const { return kind != TowerKind::none; }
};

const char* to_string(TowerKind k);

}  // namespace sizeup
