// Vision towers and projectors of multimodal models, as tensors of the one tensor table, and
// what an image costs: its tokens in the language model, the tower's FLOPs and activations.
//
// Legend: D tower width, F tower MLP width, L tower layers, p patch side, P patches per image
// (grid (S/p)^2 at image side S), m merge factor per side, E the language model width.
//
// Sources (module shapes): HF transformers SiglipVisionModel and Gemma3MultiModalProjector
// (Gemma Team 2025, Gemma 3 report Sec. 2.1: 896-pixel images, 256 soft tokens);
// CLIPVisionModel and LlavaMultiModalProjector (Liu et al. 2023, LLaVA-1.5: 2-layer MLP);
// PixtralVisionModel and Mistral3MultiModalProjector (Mistral AI 2024, Pixtral 12B report:
// [IMG_BREAK] after each row); Qwen2_5_VisionTransformerPretrainedModel (Bai et al. 2025,
// Qwen2.5-VL report Sec. 2.1: 14-pixel patches, 2x2 merge); Llama4VisionModel (Meta 2025).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/tensors.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// The tower's and projector's tensors (Component::vision_tower / projector), named as in HF
// ("vision_tower.encoder.layers.*.self_attn.q_proj.weight"). Empty without a tower.
std::vector<Tensor> vision_tensors(const ModelSpec& m);

// What one image of side `image_size` pixels (0: the tower's native size) costs.
struct ImageCost {
  std::int64_t patches       = 0;  // tokens the tower encodes, e.g. 4096 (Gemma 3: 64 x 64)
  std::int64_t tokens        = 0;  // tokens the language model sees, e.g. 256
  FlopCount tower_flops      = 0;  // forward FLOPs of tower + projector for the image
  double activation_elements = 0;  // elements a trained tower saves for backward (one image)
  Breakdown<double> rows;          // patches, tokens, flops with derivations
};
ImageCost image_cost(const ModelSpec& m, std::int64_t image_size);

}  // namespace sizeup
