// Vision towers (towers.hpp): counts against published totals and a hand count of SigLIP,
// image tokens per family from their image processors, images in infer and train.
#include "sizeup/towers.hpp"

#include <gtest/gtest.h>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/memory_train.hpp"
#include "sizeup/params.hpp"

namespace sizeup {
namespace {

ModelSpec catalog_model(const std::string& name) {
  const CatalogEntry* e = find_model(name);
  if (!e) throw std::runtime_error("catalog model missing: " + name);
  return model_from_config_text(e->config_json, name);
}

TEST(towers_test, gemma3_4b_total_and_siglip_by_hand) {
  // HF safetensors total of google/gemma-3-4b-it: 4,300,079,472.
  const ModelSpec m    = catalog_model("gemma-3-4b-it");
  const ParamsReport p = count_params(m);
  EXPECT_EQ(p.total, 4300079472u);
  // SigLIP So400m at 896 px, patch 14, D 1152, F 4304, 27 layers:
  // patch conv 1152·3·14·14 + 1152 = 678,528; positions (896/14)^2·1152 = 4,718,592;
  // per layer 2 LayerNorms 4·1152 + q/k/v/o 4·(1152² + 1152) + fc1 1152·4304 + 4304 + fc2
  // 4304·1152 + 1152 = 15,239,504, x27 = 411,466,608; post LayerNorm 2304.
  EXPECT_EQ(p.vision_tower, 678528u + 4718592u + 411466608u + 2304u);
  // Projector: {1152, 2560} projection + RMSNorm 1152.
  EXPECT_EQ(p.projector, 1152u * 2560u + 1152u);
  EXPECT_EQ(p.language_model, p.total - p.vision_tower - p.projector);
}

TEST(towers_test, published_multimodal_totals) {
  EXPECT_EQ(count_params(catalog_model("llava-1.5-7b-hf")).total, 7063427072u);
  EXPECT_EQ(count_params(catalog_model("qwen2.5-vl-7b")).total, 8292166656u);
  EXPECT_EQ(count_params(catalog_model("mistral-small-3.1-24b")).total, 24011361280u);
  // LLaVA-1.5: CLIP ViT-L/14-336 is 303,507,456 (openai/clip-vit-large-patch14-336 vision).
  EXPECT_EQ(count_params(catalog_model("llava-1.5-7b-hf")).vision_tower, 303507456u);
}

TEST(towers_test, image_tokens_per_family) {
  EXPECT_EQ(image_cost(catalog_model("gemma-3-4b-it"), 0).tokens, 256);    // pooled
  EXPECT_EQ(image_cost(catalog_model("gemma-3-4b-it"), 0).patches, 4096);  // (896/14)^2
  EXPECT_EQ(image_cost(catalog_model("llava-1.5-7b-hf"), 0).tokens, 576);  // (336/14)^2
  // Pixtral at 1540 px: 110 x 110 patches, 55 x 55 merged tokens + 55 row breaks.
  EXPECT_EQ(image_cost(catalog_model("mistral-small-3.1-24b"), 0).tokens, 55 * 55 + 55);
  // Qwen2.5-VL at 448 px: 32 x 32 patches of 14 px, 2 x 2 merged: 256 tokens.
  const ImageCost q = image_cost(catalog_model("qwen2.5-vl-7b"), 448);
  EXPECT_EQ(q.patches, 1024);
  EXPECT_EQ(q.tokens, 256);
  // Llama 4 at 672 px: 2 x 2 tiles of 336 + a global tile, 144 tokens each.
  EXPECT_EQ(image_cost(catalog_model("llama-4-scout-17b-16e"), 672).tokens, 5 * 144);
}

TEST(towers_test, images_join_the_cached_context) {
  const ModelSpec m = catalog_model("gemma-3-4b-it");
  InferenceInput in;
  in.context            = 1000;
  const double text     = inference_memory(m, in).kv_cache_bytes;
  in.images             = 2;
  const double with_img = inference_memory(m, in).kv_cache_bytes;
  in.images             = 0;
  in.context            = 1512;  // 1000 text + 2 x 256 image tokens
  EXPECT_GT(with_img, text);
  EXPECT_EQ(with_img, inference_memory(m, in).kv_cache_bytes);
  const ModelSpec text_only = catalog_model("llama-3-8b");
  in.images                 = 1;
  EXPECT_THROW(inference_memory(text_only, in), InputError);
}

TEST(towers_test, frozen_towers_train_only_the_language_model) {
  const ModelSpec m = catalog_model("llava-1.5-7b-hf");
  TrainInput in;
  in.workload.seq_len       = 1024 + 576;
  in.images                 = 1;
  in.freeze_towers          = true;
  const TrainMemoryReport r = train_memory(m, in);
  EXPECT_EQ(r.trainable_params, 6738939904u);  // 7,063,427,072 - 303,507,456 - 20,979,712
}

}  // namespace
}  // namespace sizeup
