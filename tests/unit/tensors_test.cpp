// The tensor table: shapes, splits, tied heads and HF module names.
#include "sizeup/tensors.hpp"

#include <gtest/gtest.h>

#include "sizeup/catalog.hpp"

namespace sizeup {
namespace {

const Tensor& find(const std::vector<Tensor>& t, const std::string& name) {
  for (const auto& x : t)
    if (x.name == name) return x;
  throw std::runtime_error("no tensor " + name);
}

TEST(tensors_test, llama_projection_shapes_and_splits) {
  const auto t  = tensor_table(model_from_catalog(*find_model("llama-3-8b")));
  const auto& k = find(t, "layers.*.self_attn.k_proj.weight");
  EXPECT_EQ(k.shape, (std::vector<std::int64_t>{1024, 4096}));  // 8 kv heads x 128
  EXPECT_EQ(k.repeat, 32);
  EXPECT_EQ(k.split, Split::column);
  EXPECT_EQ(find(t, "layers.*.self_attn.o_proj.weight").split, Split::row);
  EXPECT_EQ(find(t, "layers.*.mlp.down_proj.weight").shape,
            (std::vector<std::int64_t>{4096, 14336}));
  EXPECT_FALSE(find(t, "lm_head.weight").tied);
}

TEST(tensors_test, tied_head_is_a_matmul_without_parameters) {
  const auto t     = tensor_table(model_from_catalog(*find_model("gpt2")));
  const auto& head = find(t, "lm_head.weight");
  EXPECT_TRUE(head.tied);
  EXPECT_TRUE(head.is_matmul);
  EXPECT_EQ(head.elements(), 0u);
  EXPECT_EQ(head.elements_per_layer(), 50257u * 768u);
}

TEST(tensors_test, fused_hf_modules_are_named) {
  const auto gpt2 = tensor_table(model_from_catalog(*find_model("gpt2")));
  EXPECT_EQ(find(gpt2, "layers.*.self_attn.v_proj.weight").hf_module, "c_attn");
  const auto phi3 = tensor_table(model_from_catalog(*find_model("phi-3-mini-4k-instruct")));
  EXPECT_EQ(find(phi3, "layers.*.self_attn.q_proj.weight").hf_module, "qkv_proj");
  EXPECT_EQ(find(phi3, "layers.*.mlp.gate_proj.weight").hf_module, "gate_up_proj");
  const auto llama = tensor_table(model_from_catalog(*find_model("llama-2-7b")));
  EXPECT_EQ(find(llama, "layers.*.self_attn.q_proj.weight").hf_module, "q_proj");
}

TEST(tensors_test, routed_experts_are_stacked_and_split_by_expert) {
  const auto t  = tensor_table(model_from_catalog(*find_model("mixtral-8x7b-v0.1")));
  const auto& u = find(t, "layers.*.moe.experts.up_proj.weight");
  EXPECT_EQ(u.shape, (std::vector<std::int64_t>{8, 14336, 4096}));
  EXPECT_EQ(u.split, Split::expert);
  EXPECT_EQ(find(t, "layers.*.moe.gate.weight").shape, (std::vector<std::int64_t>{8, 4096}));
}

TEST(tensors_test, t5_relative_bias_only_in_first_block_of_each_stack) {
  const auto t = tensor_table(model_from_catalog(*find_model("t5-small")));
  EXPECT_EQ(find(t, "encoder.block.*.relative_attention_bias.weight").repeat, 1);
  EXPECT_EQ(find(t, "decoder.block.*.relative_attention_bias.weight").repeat, 1);
  EXPECT_EQ(find(t, "decoder.block.*.cross_attn.q_proj.weight").repeat, 6);
  EXPECT_EQ(find(t, "encoder.block.*.self_attn.q_proj.weight").stack, Stack::encoder);
}

TEST(tensors_test, placement_separates_input_layers_and_output) {
  const auto t = tensor_table(model_from_catalog(*find_model("bloom-560m")));
  EXPECT_EQ(find(t, "embed_tokens.weight").placement, Placement::input);
  EXPECT_EQ(find(t, "embedding_layernorm.weight").placement, Placement::input);
  EXPECT_EQ(find(t, "layers.*.self_attn.q_proj.weight").placement, Placement::layer);
  EXPECT_EQ(find(t, "layers.*.input_layernorm.weight").placement, Placement::layer);
  EXPECT_EQ(find(t, "norm.weight").placement, Placement::output);
  EXPECT_EQ(find(t, "lm_head.weight").placement, Placement::output);
  // OPT-350m projects in before the first layer and out after the last one.
  const auto opt = tensor_table(model_from_catalog(*find_model("opt-350m")));
  EXPECT_EQ(find(opt, "project_in.weight").placement, Placement::input);
  EXPECT_EQ(find(opt, "project_out.weight").placement, Placement::output);
  // T5: each stack's final norm follows its blocks; the relative bias is in the first block.
  const auto t5 = tensor_table(model_from_catalog(*find_model("t5-small")));
  EXPECT_EQ(find(t5, "encoder.final_layer_norm.weight").placement, Placement::output);
  EXPECT_EQ(find(t5, "encoder.block.*.relative_attention_bias.weight").placement, Placement::layer);
}

TEST(tensors_test, projections_and_attention_source_are_tagged) {
  const auto t5 = tensor_table(model_from_catalog(*find_model("t5-small")));
  EXPECT_EQ(find(t5, "decoder.block.*.cross_attn.k_proj.weight").source, AttnSource::cross);
  EXPECT_EQ(find(t5, "decoder.block.*.cross_attn.k_proj.weight").proj, Proj::k);
  EXPECT_EQ(find(t5, "decoder.block.*.self_attn.k_proj.weight").source, AttnSource::self);
  const auto mx = tensor_table(model_from_catalog(*find_model("mixtral-8x7b-v0.1")));
  EXPECT_TRUE(find(mx, "layers.*.moe.experts.down_proj.weight").expert_row_parallel());
  EXPECT_FALSE(find(mx, "layers.*.moe.experts.up_proj.weight").expert_row_parallel());
  EXPECT_EQ(find(mx, "layers.*.moe.gate.weight").proj, Proj::router);
  EXPECT_EQ(find(mx, "lm_head.weight").proj, Proj::head);
}

}  // namespace
}  // namespace sizeup
