// State-space and hybrid families (ssm.hpp): counts against published totals, the recurrent
// state by hand from the layer shapes, the scan FLOPs from their stated formulas.
#include <gtest/gtest.h>

#include "sizeup/activations.hpp"
#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/params.hpp"
#include "sizeup/ssm.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

ModelSpec catalog_model(const std::string& name) {
  const CatalogEntry* e = find_model(name);
  if (!e) throw std::runtime_error("catalog model missing: " + name);
  return model_from_config_text(e->config_json, name);
}

std::string field_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.field();
  }
  return "";
}

TEST(recurrent_test, mamba_codestral_matches_its_model_card) {
  // mistralai/Mamba-Codestral-7B-v0.1 model card: "Number of parameters: 7,285,403,648".
  const ModelSpec m = catalog_model("mamba-codestral-7b");
  EXPECT_EQ(count_params(m).total, 7285403648u);
  EXPECT_EQ(m.n_attention_layers(), 0);
  EXPECT_EQ(m.n_mixer_layers(Mixer::mamba2), 64);
}

TEST(recurrent_test, mamba2_state_is_fixed_and_counted_by_hand) {
  // Per layer and sequence: conv window (D + 2·G·N)·(K - 1) = (8192 + 2·8·128)·3 = 30,720 and
  // SSM state h·P·N = 128·64·128 = 1,048,576 elements; 4 sequences, 64 layers, 2 bytes.
  const ModelSpec m = catalog_model("mamba-codestral-7b");
  const auto e      = recurrent_state_per_layer(m, Mixer::mamba2);
  EXPECT_EQ(e.conv_elements, 30720.0);
  EXPECT_EQ(e.ssm_elements, 1048576.0);
  InferenceInput in;
  in.batch              = 4;
  in.context            = 100000;
  const double expected = 4.0 * 64 * (30720 + 1048576) * 2;  // 552,599,552 bytes
  EXPECT_EQ(inference_memory(m, in).kv_cache_bytes, expected);
  in.context = 1000;  // no KV cache: the same at any context
  EXPECT_EQ(inference_memory(m, in).kv_cache_bytes, expected);
  InferenceDevice dev;
  dev.memory_bytes = 80ull << 30;
  EXPECT_FALSE(inference_fit(m, in, dev).max_context.has_value());
}

TEST(recurrent_test, mamba1_scan_flops_follow_the_selective_scan_counter) {
  // state-spaces/mamba selective_scan_flop_jit: 9·D·N per token, plus D (skip) and D (z gate):
  // Falcon Mamba 7B, D = 8192, N = 16, 64 layers: 64·(9·8192·16 + 2·8192) = 76,546,048.
  const ModelSpec m = catalog_model("falcon-mamba-7b");
  const auto rows   = recurrent_flops_per_token(m);
  ASSERT_NE(rows.find("ssm_mamba_scan"), nullptr);
  EXPECT_EQ(rows.find("ssm_mamba_scan")->value, 76546048.0);
  // Depthwise convolution: 2·L·D·K = 2·64·8192·4.
  EXPECT_EQ(rows.find("ssm_mamba_conv")->value, 4194304.0);
  FlopsInput in;
  in.seq_len          = 1024;
  const FlopsReport f = flops(m, in);
  EXPECT_EQ(f.attention_core_per_token, 0.0);  // no attention layer
  EXPECT_NE(f.forward_per_token.find("ssm_mamba_scan"), nullptr);
}

TEST(recurrent_test, jamba_caches_k_and_v_only_in_its_attention_layers) {
  // Jamba: attention when i % 8 == 4, i.e. 4 of 32 layers, 8 KV heads of 128.
  const ModelSpec m = catalog_model("jamba-mini-1.5");
  EXPECT_EQ(m.n_attention_layers(), 4);
  InferenceInput in;
  in.batch     = 1;
  in.context   = 262144;
  const auto r = inference_memory(m, in);
  ASSERT_NE(r.kv_rows.find("kv_full_attention"), nullptr);
  EXPECT_EQ(r.kv_rows.find("kv_full_attention")->value, 262144.0 * 4 * 2 * 8 * 128 * 2);
  // Mamba state of the 28 other layers: D = 8192, N = 16, K = 4: 28·(8192·3 + 8192·16)·2.
  EXPECT_EQ(r.kv_rows.find("state_mamba")->value, 28.0 * (8192 * 3 + 8192 * 16) * 2);
}

TEST(recurrent_test, qwen3_next_gated_attention_doubles_q_proj) {
  const ModelSpec m = catalog_model("qwen3-next-80b-a3b");
  EXPECT_EQ(m.n_attention_layers(), 12);
  EXPECT_EQ(m.n_mixer_layers(Mixer::gated_deltanet), 36);
  for (const Tensor& t : tensor_table(m))
    if (t.name == "layers.*.self_attn.q_proj.weight") {
      EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2 * 16 * 256, 2048}));
      EXPECT_EQ(t.repeat, 12);
    }
  // DeltaNet state per layer: 32 value heads x 128 x 128; conv (2·16·128 + 32·128)·3.
  const auto e = recurrent_state_per_layer(m, Mixer::gated_deltanet);
  EXPECT_EQ(e.ssm_elements, 32.0 * 128 * 128);
  EXPECT_EQ(e.conv_elements, (2.0 * 16 * 128 + 32 * 128) * 3);
}

TEST(recurrent_test, bad_hybrid_configs_name_their_key) {
  EXPECT_EQ(
      field_of([] {
        model_from_config_text(
            R"({"model_type":"granitemoehybrid","num_hidden_layers":2,"layer_types":["mamba"]})");
      }),
      "layer_types");
  EXPECT_EQ(
      field_of([] {
        model_from_config_text(
            R"({"model_type":"nemotron_h","num_hidden_layers":3,"hybrid_override_pattern":"M*E"})");
      }),
      "hybrid_override_pattern");
  EXPECT_EQ(
      field_of([] { model_from_config_text(R"({"model_type":"mamba","time_step_rank":"big"})"); }),
      "time_step_rank");
}

TEST(recurrent_test, training_activations_of_recurrent_layers_are_refused_not_guessed) {
  const ModelSpec m = catalog_model("mamba-2.8b");
  ActivationInput in;
  EXPECT_EQ(field_of([&] { activation_memory(m, in); }), "mixer_layers");
}

}  // namespace
}  // namespace sizeup
