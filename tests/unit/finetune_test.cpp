// LoRA adapter counts (checked against PEFT's print_trainable_parameters figures, derived
// here by hand) and NF4 storage.
#include "sizeup/finetune.hpp"

#include <gtest/gtest.h>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

ModelSpec catalog(const char* name) { return model_from_catalog(*find_model(name)); }

ParamCount total(const std::vector<LoraAdapter>& a) {
  ParamCount n = 0;
  for (const auto& x : a) n += x.params;
  return n;
}

TEST(finetune_test, llama2_7b_q_v_rank16) {
  // q_proj and v_proj are 4096 x 4096: 16 · (4096 + 4096) · 2 modules · 32 layers.
  const auto a = lora_adapters(catalog("llama-2-7b"), default_lora_targets(), 16);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(total(a), 8388608u);
}

TEST(finetune_test, llama2_7b_all_linear_rank16) {
  // Per layer: q, k, v, o 4 · (4096 + 4096); gate, up 2 · (4096 + 11008); down (11008 + 4096)
  // = 32768 + 45312 = 78080; x 16 x 32 layers.
  EXPECT_EQ(total(lora_adapters(catalog("llama-2-7b"), {"all-linear"}, 16)), 39976960u);
}

TEST(finetune_test, gpt2_fused_c_attn_is_one_adapter) {
  // q_proj matches GPT-2's fused c_attn {768 -> 2304}: 8 · (768 + 2304) · 12 layers.
  const auto a = lora_adapters(catalog("gpt2"), {"q_proj", "v_proj"}, 8);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].module, "c_attn");
  EXPECT_EQ(a[0].out, 2304);
  EXPECT_EQ(total(a), 294912u);
  EXPECT_EQ(total(lora_adapters(catalog("gpt2"), {"c_attn"}, 8)), 294912u);
}

TEST(finetune_test, unknown_target_and_bad_rank_name_the_option) {
  try {
    lora_adapters(catalog("llama-2-7b"), {"c_attn_typo"}, 8);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "lora_targets");
  }
  EXPECT_THROW(lora_adapters(catalog("llama-2-7b"), {"q_proj"}, 0), InputError);
}

TEST(finetune_test, nf4_with_double_quantised_absmax) {
  // 4096 x 4096: 8388608 nibble bytes + 262144 fp8 absmax + 4 · 1024 fp32 constants.
  EXPECT_EQ(nf4_bytes(16777216u), 8654848u);
  // 11008 x 4096 = 45088768: 22544384 + 704512 + 4 · ceil(704512 / 256) = 4 · 2752.
  EXPECT_EQ(nf4_bytes(45088768u), 23259904u);
  EXPECT_EQ(nf4_bytes(1u), 1u + 1u + 4u);  // partial blocks round up
}

}  // namespace
}  // namespace sizeup
