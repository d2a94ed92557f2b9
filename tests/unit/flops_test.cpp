// FLOPs by operation: every expected value is derived by hand in the comments (a {out x in}
// weight costs 2·out·in FLOPs per token; QK^T and softmax·V cost 2·H·Q·keys each).
#include "sizeup/flops.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/finetune.hpp"
#include "sizeup/params.hpp"
#include "sizeup/ssm.hpp"
#include "test_models.hpp"

namespace sizeup {
namespace {

using test::seed_example;

// Llama-style: RMSNorm, RoPE, SwiGLU, untied head. d 64, 8 query heads of 8, 2 kv heads.
ModelSpec small_llama() {
  ModelSpec m;
  m.name    = "llama-small";
  m.n_layer = 2, m.n_embd = 64, m.n_head = 8, m.n_head_kv = 2, m.head_dim = 8;
  m.n_ff = 160, m.n_vocab = 100, m.n_ctx = 64;
  m.mlp = MlpKind::gated, m.tied_head = false;
  return m;
}

double row(const FlopsReport& r, const char* key) {
  const auto* x = r.forward_per_token.find(key);
  EXPECT_NE(x, nullptr) << key;
  return x ? x->value : -1;
}
double approx(const FlopsReport& r, const char* key) {
  const auto* x = r.approximations.find(key);
  EXPECT_NE(x, nullptr) << key;
  return x ? x->value : -1;
}

FlopsInput seq_batch(std::int64_t T, std::int64_t B) {
  FlopsInput in;
  in.seq_len = T;
  in.batch   = B;
  return in;
}

TEST(flops_test, seed_example_per_operation) {
  const auto r = flops(seed_example(), seq_batch(1024, 8));
  // Each of q, k, v, o: 2 * L * d * d = 2 * 24 * 1024 * 1024 = 50,331,648.
  for (const char* k : {"attn_q_proj", "attn_k_proj", "attn_v_proj", "attn_o_proj"})
    EXPECT_EQ(row(r, k), 50'331'648.0) << k;
  // up and down: 2 * 24 * 4096 * 1024 = 201,326,592 each.
  EXPECT_EQ(row(r, "mlp_up_proj"), 201'326'592.0);
  EXPECT_EQ(row(r, "mlp_down_proj"), 201'326'592.0);
  EXPECT_EQ(r.forward_per_token.find("mlp_gate_proj"), nullptr);  // plain MLP: 2 matmuls
  // QK^T and softmax·V: 2 * H * Q * T * L = 2 * 16 * 64 * 1024 * 24 = 50,331,648 each.
  EXPECT_EQ(row(r, "attn_scores"), 50'331'648.0);
  EXPECT_EQ(row(r, "attn_values"), 50'331'648.0);
  // Tied head still multiplies: 2 * d * V = 2 * 1024 * 50000 = 102,400,000.
  EXPECT_EQ(row(r, "output_head"), 102'400'000.0);
  EXPECT_EQ(row(r, "embedding"), 0.0);
  // 4 * 50,331,648 + 2 * 201,326,592 + 2 * 50,331,648 + 102,400,000 = 807,043,072.
  EXPECT_EQ(r.forward_per_token_total, 807'043'072.0);
  EXPECT_EQ(r.backward_per_token, 1'614'086'144.0);
  EXPECT_EQ(r.training_per_token, 2'421'129'216.0);
  EXPECT_EQ(r.hardware_per_token, r.training_per_token);  // no recomputation
  // Per step: x B * T = x 8 * 1024 = x 8192.
  EXPECT_EQ(r.forward_per_step, 6'611'296'845'824.0);
  EXPECT_EQ(r.training_per_step, 19'833'890'537'472.0);
  // The seed document's 96,661,929,984 per step is 205x too small (docs/flops.md).
  EXPECT_GT(r.training_per_step / 96'661'929'984.0, 205.0);
}

TEST(flops_test, seed_example_approximations) {
  const auto r = flops(seed_example(), seq_batch(1024, 8));
  // N = 354,336,768 (tied head counted once).
  EXPECT_EQ(approx(r, "forward_2n"), 708'673'536.0);
  EXPECT_EQ(approx(r, "training_6n"), 2'126'020'608.0);
  // Kaplan Table 1 rows, n_ctx = T = 1024, d_attn = 16 * 64 = 1024.
  EXPECT_EQ(approx(r, "kaplan_embed"), 4096.0);                    // 4 * 1024
  EXPECT_EQ(approx(r, "kaplan_attention_qkv"), 150'994'944.0);     // 2 * 24 * 1024 * 3 * 1024
  EXPECT_EQ(approx(r, "kaplan_attention_mask"), 50'331'648.0);     // 2 * 24 * 1024 * 1024
  EXPECT_EQ(approx(r, "kaplan_attention_project"), 50'331'648.0);  // 2 * 24 * 1024 * 1024
  EXPECT_EQ(approx(r, "kaplan_feedforward"), 402'653'184.0);       // 2 * 24 * 2 * 1024 * 4096
  EXPECT_EQ(approx(r, "kaplan_deembed"), 102'400'000.0);           // 2 * 1024 * 50000
  // 2 * N_non_embedding + mask: N_ne = 354,336,768 - 51,200,000 - 1,048,576 = 302,088,192.
  EXPECT_EQ(approx(r, "kaplan_forward"), 2.0 * 302'088'192 + 50'331'648.0);
  // PaLM: 6N + 12 * 24 * 16 * 64 * 1024 = 2,126,020,608 + 301,989,888.
  EXPECT_EQ(approx(r, "palm"), 2'428'010'496.0);
  // Narayanan Eq. 3 / (B s) = 96 l h^2 + 16 l s h + 6 h V
  //   = 2,415,919,104 + 402,653,184 + 307,200,000 = 3,125,772,288,
  // equal to our training + full recompute (this model has f = 4h and no GQA).
  EXPECT_DOUBLE_EQ(approx(r, "narayanan"), 3'125'772'288.0);
  // Korthikanti Eq. 7 / (B s) = 72 L h^2 + 12 L s h + 6 h V
  //   = 1,811,939,328 + 301,989,888 + 307,200,000 = 2,421,129,216 = our model FLOPs.
  EXPECT_DOUBLE_EQ(approx(r, "korthikanti_model"), r.training_per_token);
  // Eq. 8 adds another 12 L s h = 301,989,888.
  EXPECT_DOUBLE_EQ(approx(r, "korthikanti_selective"), 2'723'119'104.0);
}

TEST(flops_test, recompute_selective_adds_attention_core_full_adds_layers) {
  auto in      = seq_batch(1024, 8);
  in.recompute = Recompute::selective;
  const auto s = flops(seed_example(), in);
  // Forward QK^T + softmax·V = 2 * 50,331,648 = 100,663,296.
  EXPECT_EQ(s.recompute_per_token, 100'663'296.0);
  EXPECT_EQ(s.hardware_per_token, 2'421'129'216.0 + 100'663'296.0);
  EXPECT_EQ(s.training_per_token, 2'421'129'216.0);  // model FLOPs unchanged
  in.recompute = Recompute::full;
  const auto f = flops(seed_example(), in);
  // Every layer, not the head: 807,043,072 - 102,400,000 = 704,643,072.
  EXPECT_EQ(f.recompute_per_token, 704'643'072.0);
  EXPECT_EQ(f.hardware_per_token, 3'125'772'288.0);
  EXPECT_EQ(f.hardware_per_step, 3'125'772'288.0 * 8192);
}

TEST(flops_test, causal_halving_counts_mean_unmasked_keys) {
  auto in           = seq_batch(1024, 1);
  in.causal_halving = true;
  const auto r      = flops(seed_example(), in);
  // Mean keys per query (1024 + 1) / 2 = 512.5: 2 * 16 * 64 * 512.5 * 24 = 25,190,400.
  EXPECT_EQ(row(r, "attn_scores"), 25'190'400.0);
  EXPECT_EQ(row(r, "attn_values"), 25'190'400.0);
  EXPECT_EQ(r.forward_per_token_total, 807'043'072.0 - 100'663'296.0 + 50'380'800.0);
}

TEST(flops_test, gqa_llama_gated_mlp) {
  const auto r = flops(small_llama(), seq_batch(16, 1));
  // q: 2 * L * (8*8) * 64 = 2 * 2 * 64 * 64 = 16,384; k, v: 2 * 2 * (2*8) * 64 = 4,096.
  EXPECT_EQ(row(r, "attn_q_proj"), 16'384.0);
  EXPECT_EQ(row(r, "attn_k_proj"), 4'096.0);
  EXPECT_EQ(row(r, "attn_v_proj"), 4'096.0);
  EXPECT_EQ(row(r, "attn_o_proj"), 16'384.0);
  // Gated MLP: three matmuls of 2 * 2 * 160 * 64 = 40,960.
  EXPECT_EQ(row(r, "mlp_gate_proj"), 40'960.0);
  EXPECT_EQ(row(r, "mlp_up_proj"), 40'960.0);
  EXPECT_EQ(row(r, "mlp_down_proj"), 40'960.0);
  // Scores use all 8 query heads: 2 * 8 * 8 * 16 * 2 = 4,096 each.
  EXPECT_EQ(row(r, "attn_scores"), 4'096.0);
  EXPECT_EQ(row(r, "attn_values"), 4'096.0);
  EXPECT_EQ(row(r, "output_head"), 12'800.0);  // 2 * 64 * 100, untied
  EXPECT_EQ(r.forward_per_token_total, 184'832.0);
}

TEST(flops_test, moe_counts_router_active_and_shared_experts) {
  ModelSpec m = small_llama();
  m.n_layer = 2, m.n_head = 4, m.n_head_kv = 4, m.head_dim = 16, m.tied_head = true;
  m.n_expert = 8, m.n_expert_used = 2, m.n_ff_expert = 32, m.n_ff = 32;
  m.moe_layers.assign(2, true);
  const auto r = flops(m, seq_batch(8, 1));
  EXPECT_EQ(row(r, "moe_router"), 2'048.0);  // 2 * L * E * d = 2 * 2 * 8 * 64
  // Only k = 2 of 8 experts: 2 * L * k * 32 * 64 = 16,384 per matrix (not 65,536).
  EXPECT_EQ(row(r, "moe_experts_gate_proj"), 16'384.0);
  EXPECT_EQ(row(r, "moe_experts_up_proj"), 16'384.0);
  EXPECT_EQ(row(r, "moe_experts_down_proj"), 16'384.0);
  EXPECT_EQ(r.forward_per_token.find("mlp_up_proj"), nullptr);  // no dense layers
  // attention 4 * 2 * 2 * 64 * 64 = 65,536; scores + values 2 * (2 * 4 * 16 * 8 * 2) = 4,096;
  // head 2 * 64 * 100 = 12,800; total 65,536 + 2,048 + 49,152 + 4,096 + 12,800.
  EXPECT_EQ(r.forward_per_token_total, 133'632.0);
  // Shared experts of total width 64: 3 matmuls of 2 * 2 * 64 * 64 = 16,384.
  m.n_ff_shared = 64;
  const auto s  = flops(m, seq_batch(8, 1));
  EXPECT_EQ(row(s, "moe_shared_up_proj"), 16'384.0);
  EXPECT_EQ(s.forward_per_token_total, 133'632.0 + 3 * 16'384.0);
  // 2N with active N shown beside total N.
  EXPECT_LT(approx(s, "forward_2n_active"), approx(s, "forward_2n"));
}

TEST(flops_test, mla_projections_and_head_widths) {
  ModelSpec m = small_llama();
  m.n_layer = 1, m.n_head = 4, m.n_head_kv = 4, m.head_dim = 24, m.n_ff = 128, m.tied_head = true;
  m.attention    = AttentionKind::mla;
  m.kv_lora_rank = 32, m.qk_nope_head_dim = 16, m.qk_rope_head_dim = 8, m.v_head_dim = 16;
  const auto r = flops(m, seq_batch(10, 1));
  EXPECT_EQ(row(r, "attn_q_proj"), 12'288.0);             // 2 * (4 * 24) * 64
  EXPECT_EQ(row(r, "attn_kv_a_proj_with_mqa"), 5'120.0);  // 2 * (32 + 8) * 64
  EXPECT_EQ(row(r, "attn_kv_b_proj"), 8'192.0);           // 2 * (4 * (16 + 16)) * 32
  EXPECT_EQ(row(r, "attn_o_proj"), 8'192.0);              // 2 * 64 * (4 * 16)
  EXPECT_EQ(row(r, "attn_scores"), 1'920.0);              // 2 * 4 * (16 + 8) * 10
  EXPECT_EQ(row(r, "attn_values"), 1'280.0);              // 2 * 4 * 16 * 10
  // + gated MLP 3 * 2 * 128 * 64 = 49,152 + head 2 * 64 * 100 = 12,800.
  EXPECT_EQ(r.forward_per_token_total, 98'944.0);
  // With a query compression rank: q_a {32 x 64} and q_b {96 x 32} replace q_proj.
  m.q_lora_rank = 32;
  const auto q  = flops(m, seq_batch(10, 1));
  EXPECT_EQ(row(q, "attn_q_a_proj"), 4'096.0);  // 2 * 32 * 64
  EXPECT_EQ(row(q, "attn_q_b_proj"), 6'144.0);  // 2 * 96 * 32
  EXPECT_EQ(q.forward_per_token.find("attn_q_proj"), nullptr);
}

TEST(flops_test, sliding_window_layers_see_min_w_t_keys) {
  ModelSpec m = small_llama();
  m.n_layer = 4, m.n_head = 2, m.n_head_kv = 2, m.head_dim = 8, m.n_embd = 16;
  m.sliding_window = 4;
  m.sliding_layers = {true, false, true, false};
  const auto r     = flops(m, seq_batch(10, 1));
  // 2 * H * Q * (2 full layers * 10 + 2 sliding * min(4, 10)) = 32 * 28 = 896.
  EXPECT_EQ(row(r, "attn_scores"), 896.0);
  auto in           = seq_batch(10, 1);
  in.causal_halving = true;
  const auto h      = flops(m, in);
  // Full: (10 + 1) / 2 = 5.5; sliding: mean of min(i, 4), i = 1..10 = (1+2+3+4*7)/10 = 3.4.
  // 32 * (2 * 5.5 + 2 * 3.4) = 32 * 17.8 = 569.6.
  EXPECT_NEAR(row(h, "attn_scores"), 569.6, 1e-9);
  // A window wider than T changes nothing.
  m.sliding_window = 100;
  EXPECT_EQ(row(flops(m, seq_batch(10, 1)), "attn_scores"), 32.0 * 40);
}

TEST(flops_test, t5_encoder_decoder_per_position) {
  const ModelSpec m = model_from_catalog(*find_model("t5-small"));
  const auto r      = flops(m, seq_batch(512, 1));
  // d 512, 8 heads of 64, f 2048 (ReLU, 2 matmuls), 6 + 6 layers, V 32128, tied.
  EXPECT_EQ(row(r, "encoder_attn_q_proj"), 6.0 * 2 * 512 * 512);
  EXPECT_EQ(row(r, "decoder_cross_attn_k_proj"), 6.0 * 2 * 512 * 512);
  EXPECT_EQ(row(r, "encoder_attn_scores"), 6.0 * 2 * 8 * 64 * 512);
  EXPECT_EQ(row(r, "decoder_cross_attn_values"), 6.0 * 2 * 8 * 64 * 512);
  // Encoder layer: 4 * 524,288 + 2 * 2,097,152 + 2 * 524,288 = 7,340,032;
  // decoder layer: 8 * 524,288 + 2 * 2,097,152 + 4 * 524,288 = 10,485,760;
  // 6 * (7,340,032 + 10,485,760) + head 2 * 512 * 32128 = 106,954,752 + 32,899,072.
  EXPECT_EQ(r.forward_per_token_total, 139'853'824.0);
  // Causal halving touches the decoder self-attention only.
  auto in           = seq_batch(512, 1);
  in.causal_halving = true;
  const auto h      = flops(m, in);
  EXPECT_EQ(row(h, "encoder_attn_scores"), row(r, "encoder_attn_scores"));
  EXPECT_EQ(row(h, "decoder_attn_scores"), 6.0 * 2 * 8 * 64 * 256.5);
}

TEST(flops_test, bert_encoder_only_has_pooler_and_no_head) {
  const ModelSpec m = model_from_catalog(*find_model("bert-base-uncased"));
  auto in           = seq_batch(128, 1);
  in.causal_halving = true;  // ignored: bidirectional attention
  const auto r      = flops(m, in);
  EXPECT_EQ(r.forward_per_token.find("output_head"), nullptr);
  EXPECT_EQ(row(r, "attn_scores"), 12.0 * 2 * 768 * 128);
  EXPECT_EQ(row(r, "pooler"), 2.0 * 768 * 768 / 128);  // one token per sequence
  // 12 * (4 * 2 * 768^2 + 2 * 2 * 768 * 3072 + 2 * 2 * 768 * 128) + 9,216.
  EXPECT_EQ(r.forward_per_token_total, 174'597'120.0);
}

TEST(flops_test, huge_inputs_stay_finite) {
  // RoPE instead of the 1,024 learned positions, so that T may exceed 1,024; a lookup costs no
  // FLOPs, so the per-token counts are the seed model's.
  ModelSpec m  = seed_example();
  m.positions  = PositionKind::rope;
  const auto r = flops(m, seq_batch(1'000'000, 1'000'000'000));
  // Per token: 807,043,072 - 100,663,296 + 2 * (2 * 16 * 64 * 1e6) * 24
  //   = 706,379,776 + 98,304,000,000 = 99,010,379,776.
  EXPECT_EQ(r.forward_per_token_total, 99'010'379'776.0);
  EXPECT_TRUE(std::isfinite(r.hardware_per_step));
  // x 3 x B * T = x 3e15: 2.97031139328e26 FLOPs per step.
  EXPECT_DOUBLE_EQ(r.training_per_step, 2.97031139328e26);
  for (const auto& a : r.approximations.rows) EXPECT_TRUE(std::isfinite(a.value)) << a.key;
}

TEST(flops_test, every_catalog_model_is_within_kaplans_bounds) {
  // Kaplan et al. 2020, Table 1: a forward pass costs 2 FLOPs per active non-embedding
  // weight plus the attention scores and values, at most 2 x 2 x n_layer x s x d_attn per
  // token without a causal mask (causal kernels count about half). The lower bound holds for
  // every model; the upper adds the head's matmul (2 V d) and lets the scores of decoder-only
  // models use at most the full s x s square.
  for (const auto& e : model_catalog()) {
    const ModelSpec m     = model_from_catalog(e);
    const std::int64_t s  = std::min<std::int64_t>(2048, m.n_ctx);
    const auto r          = flops(m, seq_batch(s, 1));
    const auto p          = count_params(m);
    const double nonembed = static_cast<double>(p.active) - static_cast<double>(p.embedding);
    const double head     = 2.0 * static_cast<double>(m.n_vocab * m.n_embd);
    const double layers   = static_cast<double>(m.n_layer + m.n_layer_dec);
    const double d_attn   = static_cast<double>(
        m.n_head * std::max({m.head_dim, m.qk_nope_head_dim + m.qk_rope_head_dim, m.v_head_dim}));
    const double attention = 4.0 * layers * static_cast<double>(s) * d_attn;
    double recurrent       = 0;  // convolution and scan of Mamba / DeltaNet layers (ssm.hpp)
    for (const auto& x : recurrent_flops_per_token(m).rows) recurrent += x.value;
    double sum = 0;
    for (const auto& x : r.forward_per_token.rows) sum += x.value;
    EXPECT_DOUBLE_EQ(sum, r.forward_per_token_total) << e.name;
    EXPECT_GE(r.forward_per_token_total, 2 * nonembed) << e.name;
    EXPECT_LE(r.forward_per_token_total, 2 * nonembed + head + 2 * attention + recurrent) << e.name;
  }
}

TEST(flops_test, sequence_beyond_learned_positions_is_an_error) {
  EXPECT_NO_THROW(flops(seed_example(), seq_batch(1024, 1)));
  try {
    flops(seed_example(), seq_batch(1025, 1));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("(--seq)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1024 learned positions"), std::string::npos);
  }
}

TEST(flops_test, bad_workload_names_the_option) {
  try {
    flops(seed_example(), seq_batch(0, 1));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "--seq");
  }
  try {
    flops(seed_example(), seq_batch(10, -1));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "--batch");
  }
}

}  // namespace
}  // namespace sizeup

namespace sizeup {
namespace {

// Seed model per token (T = 1024): weight products inside layers W_l = 4·50,331,648 (q, k, v,
// o) + 2·201,326,592 (up, down) = 603,979,776; attention core C = 2·50,331,648 = 100,663,296;
// head W_h = 2·1,024·50,000 = 102,400,000; forward F = 807,043,072.
FlopsReport seed_flops() {
  FlopsInput in;
  in.seq_len = 1024;
  in.batch   = 8;
  return flops(test::seed_example(), in);
}

TEST(finetune_flops_test, full_is_three_forwards) {
  FinetuneFlopsInput in;
  const auto b = finetune_flops_per_token(test::seed_example(), seed_flops(), in);
  EXPECT_DOUBLE_EQ(b.find("training")->value, 3.0 * 807043072);
}

TEST(finetune_flops_test, lora_skips_weight_gradients_and_adds_adapters) {
  const ModelSpec m   = test::seed_example();
  const auto adapters = lora_adapters(m, {"q_proj", "v_proj"}, 16);
  // Adapters on q and v: 2 · 16 · (1,024 + 1,024) per matrix, 2 matrices x 24 layers.
  const FlopCount a = adapter_forward_flops_per_token(m, adapters);
  EXPECT_DOUBLE_EQ(a, 3145728.0);
  FinetuneFlopsInput in;
  in.mode                      = Finetune::lora;
  in.adapter_forward_per_token = a;
  const auto b                 = finetune_flops_per_token(m, seed_flops(), in);
  // dX = W_h + W_l + 2·C = 102,400,000 + 603,979,776 + 201,326,592 = 907,706,368; no dW.
  EXPECT_DOUBLE_EQ(b.find("backward_input_grads")->value, 907706368.0);
  EXPECT_DOUBLE_EQ(b.find("backward_weight_grads")->value, 0.0);
  // F + dX + 3·A = 807,043,072 + 907,706,368 + 9,437,184.
  EXPECT_DOUBLE_EQ(b.find("training")->value, 1724186624.0);
}

TEST(finetune_flops_test, frozen_bottom_half_skips_its_backward) {
  FinetuneFlopsInput in;
  in.mode           = Finetune::freeze;
  in.frozen_layers  = 12;
  in.head_trainable = false;  // tied to the frozen embedding
  const auto b      = finetune_flops_per_token(test::seed_example(), seed_flops(), in);
  // dX = W_h + (W_l + 2·C)/2 = 102,400,000 + 402,653,184; dW = W_l/2 = 301,989,888.
  EXPECT_DOUBLE_EQ(b.find("backward_input_grads")->value, 505053184.0);
  EXPECT_DOUBLE_EQ(b.find("backward_weight_grads")->value, 301989888.0);
  EXPECT_DOUBLE_EQ(b.find("training")->value, 1614086144.0);
}

}  // namespace
}  // namespace sizeup
