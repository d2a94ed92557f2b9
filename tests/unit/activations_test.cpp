// Activation memory: Korthikanti et al. 2022 Table 2 to the byte, hand-derived PyTorch
// saved-tensor counts (GQA, flash vs eager, MoE), recompute modes, huge and bad inputs.
#include "sizeup/activations.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using U = std::uint64_t;

// A GPT-style model as in Korthikanti et al.: LayerNorm, GELU MLP of 4h, MHA, learned
// positions, biases, vocabulary 51200.
ModelSpec gpt(std::int64_t layers, std::int64_t h, std::int64_t a) {
  ModelSpec m;
  m.name    = "gpt";
  m.n_layer = layers, m.n_embd = h, m.n_head = a, m.n_head_kv = a, m.head_dim = h / a;
  m.n_ff = 4 * h, m.n_vocab = 51200, m.n_ctx = 2048;
  m.positions = PositionKind::learned, m.norm = NormKind::layernorm, m.norm_bias = true;
  m.mlp = MlpKind::plain, m.activation = "gelu";
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  return m;
}

ActivationInput korthikanti(std::int64_t b, std::int64_t s, std::int64_t t, bool sp, Recompute rc) {
  ActivationInput in;
  in.micro_batch       = b;
  in.seq_len           = s;
  in.activation_bytes  = 2;
  in.tp                = t;
  in.sequence_parallel = sp;
  in.options           = {rc, AttentionImpl::eager, 0.1};
  in.convention        = ActivationConvention::korthikanti;
  return in;
}

struct Shape {
  const char* name;
  U b, s, h, a, t;
};
// Table 3 of the paper (22B, 175B, 530B, 1T at their micro-batch and t = 8), the seed
// documents' 354M example, and an odd small one.
constexpr Shape kShapes[] = {{"22b", 4, 2048, 6144, 64, 8},      {"175b", 1, 2048, 12288, 96, 8},
                             {"530b", 1, 2048, 20480, 128, 8},   {"1t", 1, 2048, 25600, 160, 8},
                             {"seed354m", 8, 1024, 1024, 16, 4}, {"small", 3, 96, 192, 6, 2}};

class Table2 : public ::testing::TestWithParam<Shape> {};

U layer(const Shape& x, std::int64_t t, bool sp, Recompute rc) {
  const ModelSpec m = gpt(2, static_cast<std::int64_t>(x.h), static_cast<std::int64_t>(x.a));
  return activation_memory(m, korthikanti(static_cast<std::int64_t>(x.b),
                                          static_cast<std::int64_t>(x.s), t, sp, rc))
      .layer_bytes;
}

TEST_P(Table2, no_parallelism_is_sbh_34_plus_5as_over_h) {
  const Shape x = GetParam();
  // s*b*h*(34 + 5*a*s/h) = 34*s*b*h + 5*a*s^2*b
  EXPECT_EQ(layer(x, 1, false, Recompute::none), 34 * x.s * x.b * x.h + 5 * x.a * x.s * x.s * x.b);
}

TEST_P(Table2, tensor_parallel_is_sbh_10_plus_24_over_t_plus_5as_over_ht) {
  const Shape x = GetParam();
  const U sbh   = x.s * x.b * x.h;
  EXPECT_EQ(layer(x, static_cast<std::int64_t>(x.t), false, Recompute::none),
            10 * sbh + 24 * sbh / x.t + 5 * x.a * x.s * x.s * x.b / x.t);
}

TEST_P(Table2, sequence_parallel_divides_everything_by_t) {
  const Shape x = GetParam();
  const U sbh   = x.s * x.b * x.h;
  EXPECT_EQ(layer(x, static_cast<std::int64_t>(x.t), true, Recompute::none),
            (34 * sbh + 5 * x.a * x.s * x.s * x.b) / x.t);
}

TEST_P(Table2, selective_recompute_drops_the_5as_over_h_term) {
  const Shape x = GetParam();
  const U sbh   = x.s * x.b * x.h;
  EXPECT_EQ(layer(x, 1, false, Recompute::selective), 34 * sbh);
  EXPECT_EQ(layer(x, static_cast<std::int64_t>(x.t), false, Recompute::selective),
            10 * sbh + 24 * sbh / x.t);
  EXPECT_EQ(layer(x, static_cast<std::int64_t>(x.t), true, Recompute::selective), 34 * sbh / x.t);
}

TEST_P(Table2, full_recompute_keeps_2sbh) {
  const Shape x = GetParam();
  EXPECT_EQ(layer(x, 1, false, Recompute::full), 2 * x.s * x.b * x.h);
  EXPECT_EQ(layer(x, static_cast<std::int64_t>(x.t), false, Recompute::full), 2 * x.s * x.b * x.h);
}

INSTANTIATE_TEST_SUITE_P(activations_test, Table2, ::testing::ValuesIn(kShapes),
                         [](const ::testing::TestParamInfo<Shape>& p) { return p.param.name; });

TEST(activations_test, korthikanti_breakdown_of_the_34) {
  // Sec. 4.1: attention 11sbh + 5as^2b, MLP 19sbh, two LayerNorms 4sbh (t = 1, p = 2).
  const Shape x = kShapes[4];
  const auto r =
      activation_memory(gpt(24, 1024, 16), korthikanti(8, 1024, 1, false, Recompute::none));
  const U sbh  = x.s * x.b * x.h;
  const U as2b = x.a * x.s * x.s * x.b;
  auto v       = [&](const char* k) { return r.per_layer.find(k)->value; };
  const U attn = v("qkv_input") + v("q") + v("k") + v("v") + v("attn_softmax") +
                 v("attn_dropout_mask") + v("attn_dropout_output") + v("out_proj_input") +
                 v("attn_residual_dropout_mask");
  const U mlp =
      v("mlp_input") + v("mlp_act_input") + v("mlp_down_input") + v("mlp_residual_dropout_mask");
  EXPECT_EQ(attn, 11 * sbh + 5 * as2b);
  EXPECT_EQ(mlp, 19 * sbh);
  EXPECT_EQ(v("norm_input"), 4 * sbh);
  EXPECT_EQ(r.per_layer.rows.size(), 14u);
}

TEST(activations_test, seed_354m_example_per_layer_and_total) {
  // Seeds 000/002: B = 8, L = 1024, d = 1024, 24 layers, 16 heads. Their heuristic
  // 5 * B * L * d * 2 is 83,886,080 bytes (they print 84,886,016). Korthikanti's count is
  // s*b*h*(34 + 5*16*1024/1024) = 8,388,608 * 114 = 956,301,312 bytes per layer.
  const auto r =
      activation_memory(gpt(24, 1024, 16), korthikanti(8, 1024, 1, false, Recompute::none));
  EXPECT_EQ(r.layer_bytes, 956301312ull);
  EXPECT_EQ(r.n_dense_layers, 24);
  // Outside (Sec. 4.3, one micro-batch, no pipeline): embedding dropout mask sbh, final
  // LayerNorm input 2sbh, output-layer input 2sbh, fp32 logits 4sbv.
  const U sbh = 8ull * 1024 * 1024;
  EXPECT_EQ(r.outside_bytes, 5 * sbh + 4 * 8ull * 1024 * 51200);
  EXPECT_EQ(r.total_bytes, 24 * 956301312ull + r.outside_bytes);
  // Batch 32: four times the per-layer bytes.
  EXPECT_EQ(activation_memory(gpt(24, 1024, 16), korthikanti(32, 1024, 1, false, Recompute::none))
                .layer_bytes,
            4 * 956301312ull);
}

TEST(activations_test, korthikanti_outside_with_sequence_parallel_matches_sec_4_3) {
  // (sbhL/t) * (p/L + (4/L)(1 + v/h)) with pipeline size 1: sbh(1 + 4)/t + 4sbv/t.
  const auto r =
      activation_memory(gpt(48, 6144, 64), korthikanti(4, 2048, 8, true, Recompute::none));
  const U sbh = 4ull * 2048 * 6144;
  EXPECT_EQ(r.outside_bytes, 5 * sbh / 8 + 4 * 4ull * 2048 * 51200 / 8);
}

// A small Llama-style model: RMSNorm, RoPE, GQA 8 query / 2 kv heads of 16, SwiGLU 176.
ModelSpec llama() {
  ModelSpec m;
  m.name    = "llama";
  m.n_layer = 3, m.n_embd = 128, m.n_head = 8, m.n_head_kv = 2, m.head_dim = 16;
  m.n_ff = 176, m.n_vocab = 1000, m.n_ctx = 512;
  m.positions = PositionKind::rope, m.norm = NormKind::rmsnorm, m.mlp = MlpKind::gated;
  m.tied_head = false;
  return m;
}

ActivationInput torch_in(AttentionImpl attn, std::int64_t p) {
  ActivationInput in;
  in.micro_batch      = 2;
  in.seq_len          = 64;
  in.activation_bytes = static_cast<int>(p);
  in.options          = {Recompute::none, attn, 0.0};
  return in;
}

TEST(activations_test, pytorch_llama_eager_hand_derived) {
  // T = b*s = 128 tokens, h = 128, a*d = 128, k*d = 32, f = 176, p = 2.
  const U T = 128, h = 128, ad = 128, f = 176, p = 2, s = 64;
  const U norms = 2 * (T * h * 4 + T * h * 4 + T * 4 + T * h * p);  // fp32 x, x^2, rstd; x_hat
  const U attn  = T * h * p                                         // q/k/v input
                 + 2 * s * 16 * p                                   // cos, sin
                 + 3 * T * ad * p                                   // Q, K and V expanded
                 + 8                                                // 0-dim scale
                 + 2 * 8 * s * s * p                                // softmax output
                 + T * ad * p;                                      // o_proj input
  const U mlp  = T * h * p + 4 * T * f * p;  // input; gate out, silu out, up out, product
  const auto r = activation_memory(llama(), torch_in(AttentionImpl::eager, 2));
  EXPECT_EQ(r.layer_bytes, norms + attn + mlp);
  EXPECT_EQ(r.total_bytes, 3 * (norms + attn + mlp) + r.outside_bytes);
  // Outside: token ids, final RMSNorm, head input, bf16 logits, fp32 log-probs, labels, 4,
  // and at the start of backward the fp32 gradients of the log-probs and of the upcast logits.
  EXPECT_EQ(r.outside_bytes, T * 8 + (T * h * 8 + T * 4 + T * h * p) + T * h * p + T * 1000 * p +
                                 T * 1000 * 4 + T * 8 + 4 + 2 * T * 1000 * 4);
  EXPECT_EQ(r.loss_peak_bytes, 2 * T * 1000 * 4);
}

TEST(activations_test, flash_keeps_kv_width_and_logsumexp_instead_of_scores) {
  const auto eager = activation_memory(llama(), torch_in(AttentionImpl::eager, 2));
  const auto flash = activation_memory(llama(), torch_in(AttentionImpl::flash, 2));
  const U T = 128, s = 64, p = 2;
  EXPECT_EQ(flash.per_layer.find("k")->value, T * 32 * p);  // k heads * d, not expanded
  EXPECT_EQ(eager.per_layer.find("k")->value, T * 128 * p);
  EXPECT_EQ(flash.per_layer.find("attn_logsumexp")->value, 2 * 8 * s * 4);
  EXPECT_EQ(flash.per_layer.find("attn_softmax"), nullptr);
  // eager - flash = K and V expansion + scores + scale - logsumexp
  EXPECT_EQ(eager.layer_bytes - flash.layer_bytes,
            2 * T * (128 - 32) * p + 2 * 8 * s * s * p + 8 - 2 * 8 * s * 4);
}

TEST(activations_test, eager_mqa_with_one_sequence_keeps_unexpanded_k_and_v) {
  // One kv head and b = 1: repeat_kv and matmul only make stride-0 views (measured).
  ModelSpec m        = llama();
  m.n_head_kv        = 1;
  ActivationInput in = torch_in(AttentionImpl::eager, 2);
  in.micro_batch     = 1;
  EXPECT_EQ(activation_memory(m, in).per_layer.find("k")->value, 64u * 16 * 2);
  in.micro_batch = 2;  // b > 1: matmul folds b and heads into one batch dim by copying
  EXPECT_EQ(activation_memory(m, in).per_layer.find("k")->value, 128u * 128 * 2);
  in.options.recompute = Recompute::selective;  // the copy happens inside the checkpoint
  const auto sel       = activation_memory(m, in);
  EXPECT_EQ(sel.per_layer.find("k")->value, 128u * 16 * 2);
  EXPECT_EQ(sel.per_layer.find("attn_softmax"), nullptr);
}

TEST(activations_test, gqa_korthikanti_counts_k_and_v_at_kv_width) {
  ActivationInput in = torch_in(AttentionImpl::eager, 2);
  in.convention      = ActivationConvention::korthikanti;
  const auto r       = activation_memory(llama(), in);
  EXPECT_EQ(r.per_layer.find("k")->value, 128u * 32 * 2);
  EXPECT_EQ(r.per_layer.find("v")->value, 128u * 32 * 2);
  EXPECT_EQ(r.per_layer.find("q")->value, 128u * 128 * 2);
}

ModelSpec mixtral() {
  ModelSpec m = llama();
  m.n_expert = 8, m.n_expert_used = 2, m.n_ff_expert = 96;
  m.moe_layers.assign(3, true);
  return m;
}

TEST(activations_test, moe_copies_each_token_to_its_k_experts) {
  const auto r = activation_memory(mixtral(), torch_in(AttentionImpl::flash, 4));
  EXPECT_EQ(r.n_moe_layers, 3);
  EXPECT_EQ(r.n_dense_layers, 0);
  const U T = 128, N = T * 2, h = 128, fe = 96, p = 4, E = 8;
  const U router  = T * h * p + T * E * p + T * 2 * 8 + T * 2 * p + T * p;
  const U experts = N * 16 + N * h * p + 4 * N * fe * p + N * h * p + N * p + N * h * p;
  // Attention and norms are those of the dense layer; only the MLP rows differ.
  const U dense_mlp = T * h * p + 4 * T * 176 * p;
  EXPECT_EQ(r.moe_layer_bytes, r.layer_bytes - dense_mlp + router + experts);
  EXPECT_EQ(r.total_bytes, 3 * r.moe_layer_bytes + r.outside_bytes);
}

TEST(activations_test, moe_capacity_factor_pads_every_expert_buffer) {
  ActivationInput in     = torch_in(AttentionImpl::flash, 2);
  in.moe_capacity_factor = 1.25;  // capacity = ceil(1.25 * 128 * 2 / 8) = 40 rows per expert
  const auto r           = activation_memory(mixtral(), in);
  EXPECT_EQ(r.moe_layer.find("expert_input")->value, 8u * 40 * 128 * 2);
}

TEST(activations_test, tensor_parallel_pytorch_splits_interior_only) {
  ActivationInput in = torch_in(AttentionImpl::eager, 2);
  in.tp              = 4;
  const auto r       = activation_memory(llama(), in);
  EXPECT_EQ(r.per_layer.find("qkv_input")->value, 128u * 128 * 2);       // replicated
  EXPECT_EQ(r.per_layer.find("mlp_gate_output")->value, 128u * 44 * 2);  // 176 / 4
  in.sequence_parallel = true;
  EXPECT_EQ(activation_memory(llama(), in).per_layer.find("qkv_input")->value, 128u * 32 * 2);
}

TEST(activations_test, context_parallel_shards_the_sequence) {
  ActivationInput in = torch_in(AttentionImpl::eager, 2);
  in.cp              = 2;
  const auto r       = activation_memory(llama(), in);
  EXPECT_EQ(r.per_layer.find("q")->value, 2u * 32 * 128 * 2);
  EXPECT_EQ(r.per_layer.find("attn_softmax")->value, 2u * 8 * 32 * 64 * 2);  // s/c x s
}

TEST(activations_test, full_recompute_reports_the_recompute_peak) {
  ActivationInput in   = torch_in(AttentionImpl::eager, 2);
  const U none         = activation_memory(llama(), in).layer_bytes;
  in.options.recompute = Recompute::full;
  const auto r         = activation_memory(llama(), in);
  EXPECT_EQ(r.layer_bytes, 128u * 128 * 2);
  EXPECT_EQ(r.outside_layers.find("recompute_peak")->value, none);
  EXPECT_EQ(r.recompute_peak_bytes, none);
  // Pipeline split of the outside rows: ids on the first stage, norm/head/loss on the last.
  EXPECT_EQ(r.embedding_bytes, 128u * 8);
  EXPECT_EQ(r.loss_peak_bytes, 2u * 128 * 1000 * 4);  // fp32 grads of log-probs and logits
  EXPECT_EQ(r.head_bytes, r.outside_bytes - r.embedding_bytes - none - r.loss_peak_bytes);
  EXPECT_EQ(r.head_bytes, (128u * 128 * 8 + 128 * 4 + 128 * 128 * 2) + 128 * 128 * 2 +
                              128 * 1000 * 2 + 128 * 1000 * 4 + 128 * 8 + 4);
}

TEST(activations_test, huge_flash_workload_does_not_overflow) {
  // 1e5 sequences of 1e6 tokens (1e11) through a 8192-wide, 80-layer model in bf16 with
  // flash attention: about 4e18 bytes, more than 2^32 but less than 2^64.
  ModelSpec m = llama();
  m.n_embd = 8192, m.n_head = 64, m.n_head_kv = 8, m.head_dim = 128, m.n_ff = 28672;
  m.n_layer          = 80;
  ActivationInput in = torch_in(AttentionImpl::flash, 2);
  in.micro_batch     = 100000;
  in.seq_len         = 1000000;
  const auto r       = activation_memory(m, in);
  EXPECT_EQ(r.per_layer.find("q")->value, 100000000000ull * 8192 * 2);
  EXPECT_GT(r.total_bytes, 80 * r.layer_bytes);
}

TEST(activations_test, overflowing_scores_are_an_input_error) {
  ActivationInput in = torch_in(AttentionImpl::eager, 2);
  in.micro_batch     = 1000000;
  in.seq_len         = 1000000000;  // b * a * s^2 * p = 1.6e25 bytes
  try {
    activation_memory(llama(), in);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "seq");  // the larger of the two workload sizes is named
  }
  in.micro_batch = 1000000000000;  // b = 1e12, s = 1e7: b * a * s^2 * p = 6.4e27 bytes
  in.seq_len     = 10000000;
  try {
    activation_memory(llama(), in);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "batch");
  }
}

TEST(activations_test, bad_inputs_name_their_field) {
  auto field = [](auto mutate) {
    ActivationInput in = torch_in(AttentionImpl::eager, 2);
    mutate(in);
    try {
      activation_memory(llama(), in);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("none");
  };
  EXPECT_EQ(field([](ActivationInput& i) { i.micro_batch = 0; }), "batch");
  EXPECT_EQ(field([](ActivationInput& i) { i.seq_len = -1; }), "seq");
  EXPECT_EQ(field([](ActivationInput& i) { i.tp = 0; }), "tp");
  EXPECT_EQ(field([](ActivationInput& i) { i.cp = 0; }), "cp");
  EXPECT_EQ(field([](ActivationInput& i) { i.options.dropout = 1.0; }), "dropout");
  EXPECT_EQ(field([](ActivationInput& i) { i.activation_bytes = 0; }), "activation_dtype");
}

}  // namespace
}  // namespace sizeup
