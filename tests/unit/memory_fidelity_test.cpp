// Loss implementations, autocast dtypes, the allocator/context model, framework recipes, and
// derivations that evaluate to their values. Values derived by hand in the comments.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>

#include "sizeup/allocator.hpp"
#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/framework.hpp"
#include "sizeup/memory_train.hpp"

namespace sizeup {
namespace {

using U = std::uint64_t;

// The small Llama-style model of activations_test: T = b*s = 128 tokens, h = 128, V = 1000.
ModelSpec llama() {
  ModelSpec m;
  m.name    = "llama";
  m.n_layer = 3, m.n_embd = 128, m.n_head = 8, m.n_head_kv = 2, m.head_dim = 16;
  m.n_ff = 176, m.n_vocab = 1000, m.n_ctx = 512;
  m.positions = PositionKind::rope, m.norm = NormKind::rmsnorm, m.mlp = MlpKind::gated;
  m.tied_head = false;
  return m;
}

ActivationInput torch_in(LossImpl loss) {
  ActivationInput in;
  in.micro_batch      = 2;
  in.seq_len          = 64;
  in.activation_bytes = 2;
  in.options          = {Recompute::none, AttentionImpl::flash, 0.0};
  in.loss             = loss;
  return in;
}

U row(const Breakdown<ByteCount>& b, const char* key) {
  const auto* r = b.find(key);
  return r ? r->value : 0;
}

TEST(memory_fidelity_test, standard_loss_holds_p_plus_12_bytes_per_logit_at_its_peak) {
  const auto r = activation_memory(llama(), torch_in(LossImpl::standard));
  // T*V = 128 000 logits: bf16 logits 2, fp32 log-probs 4, two fp32 gradients 8.
  EXPECT_EQ(row(r.outside_layers, "logits"), 128000u * 2);
  EXPECT_EQ(row(r.outside_layers, "loss_log_probs"), 128000u * 4);
  EXPECT_EQ(r.loss_peak_bytes, 128000u * 8);
  EXPECT_EQ(r.largest_tensor_bytes, 128000u * 4);  // one fp32 T x V tensor
}

TEST(memory_fidelity_test, chunked_loss_keeps_one_chunk_of_gradients) {
  const auto r = activation_memory(llama(), torch_in(LossImpl::chunked));
  // 8 chunks of ceil(64/8) = 8 positions: 2 sequences x 8 x 1000 logits per chunk, two fp32
  // gradients (128 000 B), or two bf16 head-weight gradients 2 x 1000 x 128 x 2 (512 000 B).
  EXPECT_EQ(r.loss_peak_bytes, 2u * 1000 * 128 * 2);
  EXPECT_EQ(row(r.outside_layers, "loss_log_probs"), 128000u * 4);
  EXPECT_EQ(row(r.outside_layers, "loss_total_weight"), 8u * 4);
}

TEST(memory_fidelity_test, fused_loss_keeps_no_logits) {
  const auto r = activation_memory(llama(), torch_in(LossImpl::fused));
  EXPECT_EQ(row(r.outside_layers, "logits"), 0u);
  // Liger: ceil(V/h) = ceil(1000/128) = 8; C = next_pow2(ceil(128/8)) = 16 tokens.
  EXPECT_EQ(r.loss_peak_bytes, 16u * 1000 * 2);
}

TEST(memory_fidelity_test, classifier_head_has_no_vocabulary_rows) {
  ActivationInput in = torch_in(LossImpl::standard);
  in.head            = HeadKind::classifier;
  const auto r       = activation_memory(llama(), in);
  EXPECT_EQ(r.loss_peak_bytes, 0u);
  EXPECT_EQ(row(r.outside_layers, "classifier_inputs"), 3u * 2 * 128 * 2);
}

TEST(memory_fidelity_test, autocast_saves_fp32_layernorm_inputs_softmax_and_one_copy_per_linear) {
  ModelSpec m = llama();
  m.norm      = NormKind::layernorm;
  ActivationInput in;
  in.micro_batch      = 2;
  in.seq_len          = 64;
  in.activation_bytes = 2;
  in.options          = {Recompute::none, AttentionImpl::eager, 0.0};
  const auto plain    = activation_memory(m, in);
  in.autocast         = true;
  in.residual_bytes   = 4;
  const auto ac       = activation_memory(m, in);
  // LayerNorm inputs: 2 norms x T x h in fp32 instead of bf16.
  EXPECT_EQ(row(ac.per_layer, "norm_input"), 2u * 128 * 128 * 4);
  EXPECT_EQ(row(plain.per_layer, "norm_input"), 2u * 128 * 128 * 2);
  // q, k and v cast the fp32 LayerNorm output separately: 3 bf16 copies.
  EXPECT_EQ(row(ac.per_layer, "qkv_input"), 3u * 128 * 128 * 2);
  // gate and up cast it separately too.
  EXPECT_EQ(row(ac.per_layer, "mlp_input"), 2u * 128 * 128 * 2);
  // softmax in fp32 (b a s s = 2*8*64*64 = 65536 probabilities) and its bf16 copy for P V.
  EXPECT_EQ(row(ac.per_layer, "attn_softmax"), 65536u * 4);
  EXPECT_EQ(row(ac.per_layer, "attn_probs_cast"), 65536u * 2);
}

TEST(memory_fidelity_test, device_memory_adds_fragmentation_and_context) {
  DeviceMemoryInput d;
  d.persistent_bytes        = 1000;
  d.transient_bytes         = 3 * 1048576;
  d.largest_transient_bytes = 3 * 1048576 + 1;  // rounded up to 4 MiB
  d.context_bytes           = 7;
  const auto r              = device_memory(d);
  EXPECT_EQ(r.allocated_bytes, 1000u + 3 * 1048576);
  EXPECT_EQ(r.fragmentation.value, 4u * 1048576);
  EXPECT_EQ(r.reserved_bytes, r.allocated_bytes + 4 * 1048576);
  EXPECT_EQ(r.device_bytes, r.reserved_bytes + 7);
  EXPECT_EQ(cuda_context(ContextLoading::eager).bytes, 1343u * 1048576);
  EXPECT_THROW(parse_context_loading("sometimes"), InputError);
}

// A tiny evaluator for substituted derivations: numbers, + · / ( ) and max(a, b), round_up.
// Division rounds up (ceil), as the memory rows do.
struct Eval {
  std::string s;
  std::size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ')) ++i;
  }
  bool eat(const std::string& t) {
    ws();
    if (s.compare(i, t.size(), t) == 0) {
      i += t.size();
      return true;
    }
    return false;
  }
  double atom() {
    ws();
    if (eat("max(") || eat("round_up(")) {
      const bool is_max = s[i - 2] == 'x';
      const double a    = expr();
      EXPECT_TRUE(eat(","));
      const double b = expr();
      EXPECT_TRUE(eat(")"));
      return is_max ? std::max(a, b) : std::ceil(a / b) * b;
    }
    if (eat("(")) {
      const double v = expr();
      EXPECT_TRUE(eat(")"));
      return v;
    }
    std::size_t n  = 0;
    const double v = std::stod(s.substr(i), &n);
    i += n;
    return v;
  }
  double term() {
    double v = atom();
    for (;;) {
      if (eat("·"))
        v *= atom();
      else if (eat("/"))
        v = std::ceil(v / atom());
      else
        return v;
    }
  }
  double expr() {
    double v = term();
    while (eat("+")) v += term();
    return v;
  }
};

void expect_derivations_evaluate(const TrainMemoryReport& r) {
  for (const auto& x : r.rows.rows) {
    Eval e{x.derivation.substituted};
    const double v = e.expr();
    EXPECT_EQ(e.i, e.s.size()) << x.key << ": " << x.derivation.substituted;
    // Activations multiply by a fractional in-flight count and round up once.
    EXPECT_NEAR(v, static_cast<double>(x.value), 1.0 + 1e-12 * static_cast<double>(x.value))
        << x.key << ": " << x.derivation.formula << " = " << x.derivation.substituted;
  }
}

TrainInput llama8b_run() {
  TrainInput in;
  in.workload.seq_len     = 2048;
  in.workload.micro_batch = 1;
  in.gpu_memory_bytes     = 85899345920;
  return in;
}

TEST(memory_fidelity_test, derivations_evaluate_to_their_values) {
  const ModelSpec m = model_from_catalog(*find_model("llama-3-8b"));
  TrainInput in     = llama8b_run();
  in.precision      = Precision::bf16;  // issue 8: printed "trainable · 4" = "8030261248 · 0"
  auto r            = train_memory(m, in);
  EXPECT_EQ(r.rows.find("master_bytes")->value, 0u);
  EXPECT_EQ(r.rows.find("master_bytes")->derivation.formula.find("· 4"), std::string::npos);
  expect_derivations_evaluate(r);
  in.precision = Precision::mixed_bf16;
  in.plan.dp   = 8;
  in.plan.zero = 3;
  in.gpus      = 8;
  expect_derivations_evaluate(train_memory(m, in));
  in.finetune.mode = Finetune::qlora;
  in.plan.zero     = 1;
  expect_derivations_evaluate(train_memory(m, in));
  in.autocast = true;
  expect_derivations_evaluate(train_memory(m, in));
}

TEST(memory_fidelity_test, autocast_recipe_is_4_plus_2_plus_4_plus_8_bytes) {
  // HF docs, Model training anatomy: fp32 weights + fp16 copy (6), fp32 gradients (4),
  // AdamW (8) = 18 bytes per parameter; the 16-bit copy only for matmul weights.
  const ModelSpec m = model_from_catalog(*find_model("llama-2-7b"));
  TrainInput in     = llama8b_run();
  in.overhead_bytes = 0;
  in.autocast       = true;
  const auto r      = train_memory(m, in, ActivationReport{});
  const U N = 6738415616, kEmbed = 131072000, norms = 65 * 4096;
  EXPECT_EQ(r.rows.find("weights_bytes")->value, 4 * N);
  EXPECT_EQ(r.rows.find("autocast_weight_cache_bytes")->value, 2 * (N - kEmbed - norms));
  EXPECT_EQ(r.rows.find("gradients_bytes")->value, 4 * N);
  EXPECT_EQ(r.rows.find("master_bytes")->value, 0u);
}

TEST(memory_fidelity_test, frameworks_set_their_defaults_and_keep_explicit_options) {
  TrainInput in;
  ExplicitOptions given;
  auto d = apply_framework(Framework::torchtune, given, in);
  EXPECT_EQ(in.precision, Precision::bf16);
  EXPECT_EQ(in.activation.recompute, Recompute::full);
  EXPECT_EQ(in.loss, LossImpl::chunked);
  EXPECT_EQ(train_recipe(in).master_bytes, 0);
  EXPECT_EQ(train_recipe(in).state_bytes, 2);
  EXPECT_FALSE(d.empty());
  in              = TrainInput{};
  given.recompute = true;
  apply_framework(Framework::qlora_paper, given, in);
  EXPECT_EQ(in.activation.recompute, Recompute::none);  // the user's choice stays
  EXPECT_EQ(in.finetune.mode, Finetune::qlora);
  EXPECT_EQ(in.finetune.lora_rank, 64);
  const TrainRecipe q = train_recipe(in);  // 16-bit adapters, fp32 paged AdamW, no master
  EXPECT_EQ(q.weight_bytes, 2);
  EXPECT_EQ(q.gradient_bytes, 2);
  EXPECT_EQ(q.master_bytes, 0);
  EXPECT_EQ(q.state_bytes, 4);
  EXPECT_THROW(parse_framework("keras"), InputError);
}

TEST(memory_fidelity_test, largest_micro_batch_and_affine_form_agree) {
  const ModelSpec m       = model_from_catalog(*find_model("llama-3.2-1b"));
  TrainInput in           = llama8b_run();
  in.activation.recompute = Recompute::full;
  const auto b            = largest_micro_batch(m, in);
  ASSERT_GT(b, 0);
  TrainInput at           = in;
  at.workload.micro_batch = b;
  EXPECT_TRUE(train_memory(m, at).fits);
  at.workload.micro_batch = b + 1;
  EXPECT_FALSE(train_memory(m, at).fits);
  const auto a            = train_memory_affine(m, in);
  at.workload.micro_batch = 4;
  // Exact for rows linear in b; the allocator's largest block is linear in b here too.
  EXPECT_EQ(a.fixed_bytes + 4 * a.per_sequence_bytes, train_memory(m, at).total_bytes);
}

TEST(memory_fidelity_test, suggestions_make_a_qlora_run_fit_on_a_24gb_gpu) {
  // Issue 13: llama-3-8b QLoRA at 4096 tokens on an RTX 4090 does not fit without
  // recomputation; --recompute full makes it fit.
  const ModelSpec m   = model_from_catalog(*find_model("llama-3-8b"));
  TrainInput in       = llama8b_run();
  in.workload.seq_len = 4096;
  in.finetune.mode    = Finetune::qlora;
  in.gpu_memory_bytes = 25769803776;  // 24 GiB
  ASSERT_FALSE(train_memory(m, in).fits);
  const auto s = fit_suggestions(m, in);
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.front().fits);
  bool recompute = false;
  for (const auto& x : s) recompute |= x.option == "recompute" && x.value == "full" && x.fits;
  EXPECT_TRUE(recompute);
}

TEST(memory_fidelity_test, stage_memory_of_the_whole_model_is_the_single_stage_total) {
  const ModelSpec m   = model_from_catalog(*find_model("llama-3-8b"));
  const TrainInput in = llama8b_run();
  const auto act      = activation_memory(m, activation_input(in));
  EXPECT_EQ(stage_memory(m, in, act, 0, 32, true, true).total_bytes,
            train_memory(m, in, act).total_bytes);
  // Half the layers, no embedding, no head: less than half the whole.
  EXPECT_LT(stage_memory(m, in, act, 8, 16, false, false).total_bytes,
            train_memory(m, in, act).total_bytes);
  EXPECT_THROW(stage_memory(m, in, act, 30, 4, false, true), InputError);
}

}  // namespace
}  // namespace sizeup
