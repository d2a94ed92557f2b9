// Reading HF config.json: family quirks and one-line errors naming the field.
#include "sizeup/hf_config.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"
#include "sizeup/params.hpp"
#include "test_models.hpp"

namespace sizeup {
namespace {

using test::error_of;

const char* kLlama = R"({"model_type":"llama","vocab_size":32000,"hidden_size":4096,
  "intermediate_size":11008,"num_hidden_layers":32,"num_attention_heads":32})";

TEST(hf_config_test, llama_defaults_follow_llama_config) {
  const ModelSpec m = model_from_config_text(kLlama);
  EXPECT_EQ(m.n_head_kv, 32);  // num_key_value_heads defaults to num_attention_heads
  EXPECT_EQ(m.head_dim, 128);
  EXPECT_FALSE(m.tied_head);  // LlamaConfig.tie_word_embeddings = False
  EXPECT_EQ(count_params(m).total, 6'738'415'616u);
}

TEST(hf_config_test, architectures_name_is_used_without_model_type) {
  const ModelSpec m = model_from_config_text(R"({"architectures":["LlamaForCausalLM"],
    "vocab_size":32000,"hidden_size":4096,"intermediate_size":11008,"num_hidden_layers":32,
    "num_attention_heads":32})");
  EXPECT_EQ(m.family, "llama");
}

TEST(hf_config_test, malformed_json_is_an_error) {
  EXPECT_EQ(error_of("{not json"), "malformed config (config.json): not valid JSON");
  EXPECT_EQ(error_of("[1,2]"), "malformed config (config.json): must be a JSON object");
}

TEST(hf_config_test, unknown_family_lists_supported_ones) {
  const std::string e = error_of(R"({"model_type":"no_such_family"})");
  EXPECT_NE(e.find("'no_such_family' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("llama"), std::string::npos) << e;
  EXPECT_NE(e.find("deepseek_v3"), std::string::npos) << e;
}

TEST(hf_config_test, omitted_keys_take_the_class_defaults) {
  // LlamaConfig() is Llama-2-7B: d 4096, 32 layers, 32 heads, f 11008, V 32000, untied, whose
  // published count (meta-llama/Llama-2-7b-hf) is 6,738,415,616.
  const ModelSpec m = model_from_config_text(R"({"model_type":"llama"})");
  EXPECT_EQ(m.n_embd, 4096);
  EXPECT_EQ(count_params(m).total, 6'738'415'616u);
  // A key given in another spelling suppresses the default (BLOOM's n_embed, not hidden_size 64).
  const ModelSpec b = model_from_config_text(
      R"({"model_type":"bloom","n_embed":1024,"n_layer":24,"num_attention_heads":16})");
  EXPECT_EQ(b.n_embd, 1024);
}

TEST(hf_config_test, heads_must_divide_hidden_size) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":10,"hidden_size":100,
    "intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":3})"),
            "invalid model (num_attention_heads): 3 heads do not divide hidden size 100");
}

TEST(hf_config_test, kv_heads_must_divide_heads) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":10,"hidden_size":96,
    "intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":12,"num_key_value_heads":5})"),
            "invalid model (num_key_value_heads): 5 does not divide attention heads 12");
}

TEST(hf_config_test, zero_or_negative_sizes_are_errors) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":0,"hidden_size":64,
    "intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":2})"),
            "invalid model (vocab_size): must be positive, got 0");
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":10,"hidden_size":64,
    "intermediate_size":8,"num_hidden_layers":-2,"num_attention_heads":2})"),
            "invalid model (num_hidden_layers): must be between 1 and 100000, got -2");
}

TEST(hf_config_test, experts_per_token_above_experts_is_an_error) {
  EXPECT_EQ(error_of(R"({"model_type":"mixtral","vocab_size":10,"hidden_size":64,
    "intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":2,
    "num_local_experts":4,"num_experts_per_tok":5})"),
            "invalid model (num_experts_per_tok): experts per token (5) exceeds the number of "
            "experts (4)");
}

TEST(hf_config_test, wrong_types_name_the_field) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":"big"})"),
            "invalid config (vocab_size): must be an integer, got \"big\"");
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":10.5})"),
            "invalid config (vocab_size): must be an integer, got 10.5");
}

TEST(hf_config_test, sliding_window_patterns) {
  // Gemma 2: even layers slide (HF Gemma2DecoderLayer.is_sliding = not layer_idx % 2).
  const ModelSpec g2 = model_from_config_text(R"({"model_type":"gemma2","vocab_size":10,
    "hidden_size":64,"intermediate_size":8,"num_hidden_layers":4,"num_attention_heads":2,
    "num_key_value_heads":1,"head_dim":32,"sliding_window":16})");
  EXPECT_EQ(g2.n_sliding_layers(), 2);
  EXPECT_TRUE(g2.is_sliding_layer(0));
  EXPECT_FALSE(g2.is_sliding_layer(1));
  // Gemma 3: every 6th layer is global.
  const ModelSpec g3 = model_from_config_text(R"({"model_type":"gemma3_text","vocab_size":10,
    "hidden_size":64,"intermediate_size":8,"num_hidden_layers":12,"num_attention_heads":2,
    "num_key_value_heads":1,"head_dim":32,"sliding_window":16,"sliding_window_pattern":6})");
  EXPECT_EQ(g3.n_sliding_layers(), 10);
  EXPECT_FALSE(g3.is_sliding_layer(5));
  // Qwen2 with use_sliding_window false has none.
  const ModelSpec q2 = model_from_config_text(R"({"model_type":"qwen2","vocab_size":10,
    "hidden_size":64,"intermediate_size":8,"num_hidden_layers":4,"num_attention_heads":2,
    "num_key_value_heads":2,"sliding_window":16,"use_sliding_window":false})");
  EXPECT_EQ(q2.n_sliding_layers(), 0);
}

TEST(hf_config_test, deepseek_dense_then_moe_layers) {
  const ModelSpec m = model_from_config_text(R"({"model_type":"deepseek_v2","vocab_size":10,
    "hidden_size":64,"intermediate_size":128,"moe_intermediate_size":16,"num_hidden_layers":5,
    "num_attention_heads":4,"n_routed_experts":8,"n_shared_experts":2,"num_experts_per_tok":2,
    "first_k_dense_replace":1,"moe_layer_freq":1,"kv_lora_rank":32,"qk_nope_head_dim":16,
    "qk_rope_head_dim":8,"v_head_dim":16})");
  EXPECT_EQ(m.n_moe_layers(), 4);
  EXPECT_FALSE(m.is_moe_layer(0));
  EXPECT_EQ(m.n_ff_shared, 32);
  EXPECT_EQ(m.head_dim, 24);
}

}  // namespace
}  // namespace sizeup
