#include "sizeup/memory_train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"
#include "sizeup/fit.hpp"
#include "sizeup/layout.hpp"
#include "sizeup/params.hpp"
#include "sizeup/tensors.hpp"
#include "sizeup/towers.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;
using U = std::uint64_t;

U mul(U a, U b) { return checked_mul(a, b, "micro_batch"); }
U add(U a, U b) { return checked_add(a, b, "micro_batch"); }
U ceil_div(U a, U b) { return b == 0 ? a : (a + b - 1) / b; }

void require(bool ok, const std::string& what, const std::string& field, const std::string& why) {
  if (!ok) throw InputError(what, field, why);
}

// Layer range [lo, hi) of pipeline stage `s`, over all layers of the model.
struct StageRange {
  I lo = 0, hi = 0;
};

I total_layers(const ModelSpec& m) { return m.n_layer + (m.encoder_decoder ? m.n_layer_dec : 0); }

I overlap(I a0, I a1, I b0, I b1) { return std::max<I>(0, std::min(a1, b1) - std::max(a0, b0)); }

bool is_layer_tensor(const Tensor& t) { return t.in_layers(); }

// Tensors before the repeated layers (embeddings, their norm and projection) live on the first
// pipeline stage; those after them (final norm, head, pooler) on the last.
bool first_stage_tensor(const Tensor& t) { return t.placement == Placement::input; }

// Stacks whose layers differ in mixer (attention, Mamba, DeltaNet) or lack an MLP (ssm.hpp).
bool is_hybrid_stack(const ModelSpec& m) {
  return !m.mixer_layers.empty() || !m.mlp_free_layers.empty();
}

// Whether layer i of a hybrid stack holds a copy of the per-layer tensor t.
bool layer_holds(const ModelSpec& m, const Tensor& t, I i) {
  switch (t.component) {
    case Component::attention:
      return m.mixer_of(i) == Mixer::attention;
    case Component::ssm:
      return m.mixer_of(i) != Mixer::attention && m.mixer_of(i) != Mixer::none;
    case Component::mlp:
      return !m.is_mlp_free_layer(i) && !m.is_moe_layer(i);
    case Component::router:
    case Component::routed_experts:
    case Component::shared_experts:
      return m.is_moe_layer(i);
    default:
      return true;
  }
}

// Copies of a per-layer tensor held by the layers [lo, hi) of the stage, of which `frozen`
// lie in the first k (frozen) layers.
struct Held {
  I count = 0, frozen = 0;
};

Held held_on_stage(const ModelSpec& m, const Tensor& t, StageRange r, I frozen_layers) {
  I s0 = 0, s1 = m.n_layer;  // the stack's layer range
  if (m.encoder_decoder && t.stack == Stack::decoder) {
    s0 = m.n_layer;
    s1 = m.n_layer + m.n_layer_dec;
  }
  const bool moe_part = t.component == Component::router ||
                        t.component == Component::routed_experts ||
                        t.component == Component::shared_experts;
  const bool dense_mlp = t.component == Component::mlp && m.is_moe();
  Held h;
  if (is_hybrid_stack(m) && !m.encoder_decoder) {
    for (I i = std::max(r.lo, s0); i < std::min(r.hi, s1); ++i) {
      if (!layer_holds(m, t, i)) continue;
      ++h.count;
      if (i < frozen_layers) ++h.frozen;
    }
    return h;
  }
  if (moe_part || dense_mlp) {
    for (I i = std::max(r.lo, s0); i < std::min(r.hi, s1); ++i) {
      if (m.is_moe_layer(i - s0) != moe_part) continue;
      ++h.count;
      if (i < frozen_layers) ++h.frozen;
    }
    return h;
  }
  if (t.repeat >= s1 - s0) {
    h.count  = overlap(r.lo, r.hi, s0, s1);
    h.frozen = overlap(r.lo, r.hi, s0, std::min(s1, frozen_layers));
    return h;
  }
  // Held by the first `repeat` layers of the stack only (e.g. T5's relative position bias).
  h.count  = overlap(r.lo, r.hi, s0, s0 + t.repeat);
  h.frozen = overlap(r.lo, r.hi, s0, std::min(s0 + t.repeat, frozen_layers));
  return h;
}

// Shape of the tensor on one tensor-/expert-parallel rank (Megatron-LM Sec. 3: column-parallel
// splits the output dim, row-parallel the input dim, vocab-parallel the vocabulary rows).
// Key and value projections split min(tp, n_kv) ways (layout.hpp: replicated KV heads).
std::vector<I> local_shape(const Tensor& t, I tp, I ep, I kv_tp) {
  if (t.proj == Proj::k || t.proj == Proj::v) tp = kv_tp;
  std::vector<I> s = t.shape;
  auto split       = [](I v, I n) { return (v + n - 1) / n; };
  switch (t.split) {
    case Split::column:
    case Split::vocab:
      s[0] = split(s[0], tp);
      break;
    case Split::row:
      if (s.size() >= 2) s[1] = split(s[1], tp);
      break;
    case Split::expert:  // {E, out, in}: experts over ep, each expert split by tp (Megatron ETP =
                         // TP)
      // An expert bias {E, out} has no input dimension: a row-parallel layer's bias is whole
      // on every rank, a column-parallel one is split like its outputs.
      s[0] = split(s[0], ep);
      if (t.expert_row_parallel()) {
        if (s.size() >= 3) s[2] = split(s[2], tp);
      } else if (s.size() >= 2) {
        s[1] = split(s[1], tp);
      }
      break;
    case Split::replicated:
      break;
  }
  return s;
}

U product(const std::vector<I>& s) {
  U n = 1;
  for (auto d : s) n = mul(n, static_cast<U>(d));
  return n;
}

// Parameters of one stage, split by role and by sharding group.
struct StageParams {
  U trainable = 0, frozen = 0;         // elements on this rank (dense + experts)
  U trainable_expert       = 0;        // of which expert weights (sharded over S / e)
  U frozen_nf4_bytes       = 0;        // QLoRA: NF4 storage of the frozen linear weights
  U frozen_nf4_elems       = 0;        // elements stored that way
  U matmul_elems           = 0;        // for the fp8 weight cache
  U trainable_matmul_elems = 0;        // for the autocast weight cache
  U layer_elems            = 0;        // largest layer on the rank (ZeRO-3 gather buffers)
  std::vector<TrainableTensor> train;  // for the optimizer
  I dense_layers = 0, moe_layers = 0;  // layers that save activations for backward
  bool embedding_saves = true;         // false when frozen layers sit above the embedding
};

StageParams stage_params(const ModelSpec& m, const TrainInput& in, StageRange r, bool first,
                         bool last) {
  const auto& plan = in.plan;
  const auto& ft   = in.finetune;
  const bool lora  = ft.mode == Finetune::lora || ft.mode == Finetune::qlora;
  const I frozen_k = ft.mode == Finetune::freeze ? ft.frozen_layers : 0;
  StageParams sp;
  U dense_layer = 0, moe_layer = 0;
  for (const auto& t : tensor_table(m)) {
    const bool layer_t = is_layer_tensor(t);
    Held h;
    if (layer_t) {
      h = held_on_stage(m, t, r, frozen_k);
    } else if (t.tied) {
      // A tied head on a later stage than the embedding keeps its own copy of the embedding
      // (Megatron-LM share_embeddings_and_output_weights, gradients all-reduced).
      if (!(last && !first)) continue;
      h.count = 1;
    } else {
      const bool on_first = first_stage_tensor(t);
      if (!(on_first ? first : last)) continue;
      h.count = t.repeat;  // e.g. several multi-token-prediction layers after the last layer
      if (ft.mode == Finetune::freeze && on_first) h.frozen = 1;  // freeze: embeddings frozen
    }
    if (h.count == 0) continue;
    if (in.freeze_towers && is_tower_component(t.component)) h.frozen = h.count;  // towers.hpp
    const auto shape =
        local_shape(t, plan.tp, plan.ep,
                    m.attention == AttentionKind::standard ? kv_shards(m, plan.tp) : plan.tp);
    const U per       = product(shape);
    const U all       = mul(per, static_cast<U>(h.count));
    const U frozen    = lora ? all : mul(per, static_cast<U>(h.frozen));
    const U trainable = all - frozen;
    sp.trainable      = add(sp.trainable, trainable);
    sp.frozen         = add(sp.frozen, frozen);
    if (t.split == Split::expert) sp.trainable_expert = add(sp.trainable_expert, trainable);
    if (t.is_matmul) sp.matmul_elems = add(sp.matmul_elems, all);
    if (t.is_matmul) sp.trainable_matmul_elems = add(sp.trainable_matmul_elems, trainable);
    if (ft.mode == Finetune::qlora && layer_t && t.is_matmul && t.shape.size() >= 2) {
      sp.frozen_nf4_elems = add(sp.frozen_nf4_elems, all);
      sp.frozen_nf4_bytes = add(sp.frozen_nf4_bytes, mul(nf4_bytes(per), h.count));
    }
    if (trainable > 0) {
      // HF MoE blocks hold each expert as its own nn.Linear: the optimizer sees E_local
      // {out, in} tensors (one `step` each, per-expert 8-bit blocks and Adafactor factors).
      if (t.split == Split::expert && shape.size() == 3)
        sp.train.push_back({{shape[1], shape[2]}, static_cast<I>(trainable / per) * shape[0]});
      else
        sp.train.push_back({shape, static_cast<I>(trainable / per)});
    }
    if (layer_t) {
      const bool moe_part = t.component == Component::router ||
                            t.component == Component::routed_experts ||
                            t.component == Component::shared_experts;
      if (moe_part)
        moe_layer += per;
      else if (t.component == Component::mlp && m.is_moe())
        dense_layer += per;  // dense MLP of a mixed model
      else {
        dense_layer += per;
        moe_layer += per;
      }
    }
  }
  sp.layer_elems = std::max(dense_layer, m.is_moe() ? moe_layer : 0);
  // Freeze: below the first trained layer no tensor requires a gradient, so autograd saves
  // nothing there (embeddings are frozen too).
  sp.embedding_saves = frozen_k == 0;
  for (I i = std::max(r.lo, frozen_k); i < std::min(r.hi, m.n_layer); ++i)
    (m.is_moe_layer(i) ? sp.moe_layers : sp.dense_layers)++;
  if (r.hi > m.n_layer) sp.dense_layers += r.hi - std::max(r.lo, m.n_layer);
  return sp;
}

// A derivation built from the same factors as the value: a sum of terms, each a sum of
// products divided (rounded up) by an optional divisor.
struct Fac {
  std::string sym;
  U value;
};
struct Term {
  std::vector<std::vector<Fac>> products;  // summed
  Fac div{"", 1};                          // ceil(sum / div) when div.value > 1 or named
};

U product_of(const std::vector<Fac>& fs) {
  U v = 1;
  for (const auto& f : fs) v = mul(v, f.value);
  return v;
}

std::string join_term(const Term& t, bool syms) {
  std::string out;
  for (const auto& p : t.products) {
    if (!out.empty()) out += " + ";
    std::string prod;
    for (const auto& f : p) {
      if (!prod.empty()) prod += " · ";
      prod += syms ? f.sym : std::to_string(f.value);
    }
    out += prod;
  }
  if (!t.div.sym.empty()) {
    if (t.products.size() > 1) out = "(" + out + ")";
    out += " / " + (syms ? t.div.sym : std::to_string(t.div.value));
  }
  return out;
}

U term_value(const Term& t) {
  U sum = 0;
  for (const auto& p : t.products) sum = add(sum, product_of(p));
  return t.div.sym.empty() ? sum : ceil_div(sum, t.div.value);
}

Row<ByteCount> expr_row(std::string key, std::string label, const std::vector<Term>& terms,
                        std::string source) {
  U value = 0;
  std::string f, s;
  for (const auto& t : terms) {
    value = add(value, term_value(t));
    f += (f.empty() ? "" : " + ") + join_term(t, true);
    s += (s.empty() ? "" : " + ") + join_term(t, false);
  }
  if (terms.empty()) f = s = "0";
  return {std::move(key), std::move(label), value, {f, s, std::move(source)}};
}

Row<ByteCount> row(std::string key, std::string label, U value, std::string formula,
                   std::string subst, std::string source) {
  return {std::move(key),
          std::move(label),
          value,
          {std::move(formula), std::move(subst), std::move(source)}};
}

constexpr const char* kZeroSrc = "Rajbhandari et al. 2020 (ZeRO), Sec. 5";

// What every stage of the run shares.
struct RunCtx {
  TrainRecipe recipe;
  int zero         = 0;
  I S              = 1;  // ZeRO/FSDP shard group
  I S_expert       = 1;  // expert shard group S / e
  I L              = 0;  // all layers
  I micro_batches  = 1;
  double in_flight = 1;
  bool lora        = false;
  std::vector<LoraAdapter> adapters;
};

RunCtx run_ctx(const ModelSpec& m, const TrainInput& in) {
  const auto& p = in.plan;
  RunCtx c;
  c.recipe = train_recipe(in);
  c.zero   = effective_zero(p);
  c.S      = p.dp;
  if (p.fsdp == FsdpMode::hybrid)
    c.S = std::clamp<I>(in.gpus_per_node / std::max<I>(1, p.tp * p.cp), 1, p.dp);
  c.S_expert      = std::max<I>(1, c.S / p.ep);
  c.lora          = in.finetune.mode == Finetune::lora || in.finetune.mode == Finetune::qlora;
  const I micro   = in.workload.micro_batch;
  const I global  = in.workload.global_batch > 0 ? in.workload.global_batch : micro * p.dp;
  c.micro_batches = global / (micro * p.dp);
  if (c.lora)
    c.adapters = lora_adapters(
        m, in.finetune.lora_targets.empty() ? default_lora_targets() : in.finetune.lora_targets,
        in.finetune.lora_rank);
  c.L = total_layers(m);
  // In-flight micro-batches on the first stage (Megatron-LM theoretical_memory_usage.py).
  if (p.pp > 1) {
    if (p.schedule == Schedule::interleaved)
      c.in_flight =
          static_cast<double>(p.pp) *
          (1.0 + static_cast<double>(p.pp - 1) / static_cast<double>(p.pp * p.interleave));
    else
      c.in_flight = static_cast<double>(std::min<I>(p.pp, c.micro_batches));
  }
  return c;
}

// The parameters of one stage with its adapters, split by sharding group.
struct StageShape {
  StageParams sp;
  U adapter         = 0;  // adapter elements on this stage
  U trainable_dense = 0, trainable_expert = 0;
  std::vector<TrainableTensor> train;  // for the optimizer
};

StageShape stage_shape(const ModelSpec& m, const TrainInput& in, const RunCtx& c, StageRange range,
                       bool first, bool last) {
  StageShape st;
  st.sp    = stage_params(m, in, range, first, last);
  st.train = st.sp.train;
  // LoRA adapters live beside every targeted module of the stage's layers.
  const I layers_here = range.hi - range.lo;
  for (const auto& a : c.adapters) {
    const I here = std::min<I>(a.count, layers_here);
    const U per  = static_cast<U>(in.finetune.lora_rank) * static_cast<U>(a.in + a.out);
    st.adapter   = add(st.adapter, mul(per, static_cast<U>(a.experts * here)));
    st.train.push_back({{in.finetune.lora_rank, a.in}, a.experts * here});
    st.train.push_back({{a.out, in.finetune.lora_rank}, a.experts * here});
  }
  st.trainable_dense  = st.sp.trainable - st.sp.trainable_expert;
  st.trainable_expert = st.sp.trainable_expert;
  return st;
}

// Dense bytes over S, expert bytes over S / e, when `shard`.
Term sharded_term(std::vector<std::vector<Fac>> products, bool shard, const RunCtx& c,
                  bool expert = false) {
  Term t{std::move(products), {}};
  if (shard)
    t.div = expert ? Fac{"S_e", static_cast<U>(c.S_expert)} : Fac{"S", static_cast<U>(c.S)};
  return t;
}

// Weights: trainable in the working dtype w, adapters in a, frozen in f or NF4 (QLoRA).
Row<ByteCount> weights_row(const StageShape& st, const RunCtx& c) {
  const auto& R  = c.recipe;
  const bool z3  = c.zero >= 3;
  const U frozen = st.sp.frozen - st.sp.frozen_nf4_elems;
  std::vector<std::vector<Fac>> dense;
  if (st.trainable_dense > 0)
    dense.push_back({{"trainable", st.trainable_dense}, {"w", static_cast<U>(R.weight_bytes)}});
  if (st.adapter > 0)
    dense.push_back({{"adapters", st.adapter}, {"a", static_cast<U>(R.adapter_bytes)}});
  if (frozen > 0) dense.push_back({{"frozen", frozen}, {"f", static_cast<U>(R.frozen_bytes)}});
  if (st.sp.frozen_nf4_bytes > 0) dense.push_back({{"nf4_bytes", st.sp.frozen_nf4_bytes}});
  std::vector<Term> terms;
  if (!dense.empty()) terms.push_back(sharded_term(dense, z3, c));
  if (st.trainable_expert > 0)
    terms.push_back(sharded_term(
        {{{"trainable_expert", st.trainable_expert}, {"w", static_cast<U>(R.weight_bytes)}}}, z3, c,
        true));
  return expr_row("weights_bytes", "weights", terms,
                  std::string("working copy in the recipe dtype; ") + kZeroSrc +
                      (st.sp.frozen_nf4_elems ? "; QLoRA NF4 (finetune.hpp)" : ""));
}

Row<ByteCount> fp8_cache_row(const StageShape& st, const RunCtx& c) {
  return expr_row("fp8_weight_cache_bytes", "fp8 copy of matmul weights",
                  {{{{{"matmul params", st.sp.matmul_elems},
                      {"fp8", static_cast<U>(c.recipe.fp8_cache_bytes)}}}}},
                  "Transformer Engine fp8 weight cache (assumption: 1 byte; the transposed copy "
                  "on Hopper is not counted)");
}

// torch.autocast caches the 16-bit cast of each weight that requires a gradient (leaf tensors)
// until the autocast region exits: forward and backward.
Row<ByteCount> autocast_cache_row(const StageShape& st, const RunCtx& c) {
  std::vector<std::vector<Fac>> p;
  const U cache = static_cast<U>(c.recipe.autocast_cache_bytes);
  if (st.sp.trainable_matmul_elems > 0)
    p.push_back({{"trainable matmul params", st.sp.trainable_matmul_elems}, {"2", cache}});
  if (st.adapter > 0) p.push_back({{"adapters", st.adapter}, {"2", cache}});
  std::vector<Term> terms;
  if (!p.empty()) terms.push_back(sharded_term(p, c.zero >= 3, c));
  return expr_row("autocast_weight_cache_bytes", "16-bit copies of the weights (autocast cache)",
                  terms,
                  "PyTorch torch.autocast cache_enabled=True (casts of leaf tensors that "
                  "require grad kept until the autocast region exits)");
}

Row<ByteCount> gradients_row(const StageShape& st, const RunCtx& c) {
  const bool z2 = c.zero >= 2;
  const Fac g{"g", static_cast<U>(c.recipe.gradient_bytes)};
  std::vector<std::vector<Fac>> dense;
  if (st.trainable_dense > 0) dense.push_back({{"trainable", st.trainable_dense}, g});
  if (st.adapter > 0) dense.push_back({{"adapters", st.adapter}, g});
  std::vector<Term> terms;
  if (!dense.empty()) terms.push_back(sharded_term(dense, z2, c));
  if (st.trainable_expert > 0)
    terms.push_back(sharded_term({{{"trainable_expert", st.trainable_expert}, g}}, z2, c, true));
  return expr_row("gradients_bytes", "gradients", terms,
                  std::string("one gradient per trainable parameter; ") + kZeroSrc);
}

Row<ByteCount> master_row(const StageShape& st, const RunCtx& c, bool offloaded) {
  const std::string src = std::string("Micikevicius et al. 2018, Sec. 3.1; ") + kZeroSrc;
  if (offloaded)
    return row("master_bytes", "fp32 master weights", 0, "0 (offloaded to host)", "0", src);
  const bool z1 = c.zero >= 1;
  const Fac mb{"m", static_cast<U>(c.recipe.master_bytes)};
  std::vector<Term> terms;
  if (c.recipe.master_bytes > 0) {
    std::vector<std::vector<Fac>> dense;
    if (st.trainable_dense > 0) dense.push_back({{"trainable", st.trainable_dense}, mb});
    if (st.adapter > 0) dense.push_back({{"adapters", st.adapter}, mb});
    if (!dense.empty()) terms.push_back(sharded_term(dense, z1, c));
    if (st.trainable_expert > 0)
      terms.push_back(sharded_term({{{"trainable_expert", st.trainable_expert}, mb}}, z1, c, true));
  }
  auto r = expr_row("master_bytes", "fp32 master weights", terms, src);
  if (c.recipe.master_bytes == 0) {
    r.derivation.formula     = "0 (no master copy: m = 0 in this recipe)";
    r.derivation.substituted = "0";
  }
  return r;
}

// Optimizer states: computed tensor by tensor (optimizer.hpp), the expert share sharded over S/e.
Row<ByteCount> optimizer_row(const StageShape& st, const RunCtx& c, Optimizer o,
                             const OptimizerStateReport& opt, bool offloaded) {
  const std::string label = std::string("optimizer states (") + to_string(o) + ")";
  const std::string src   = std::string("see optimizer rows; ") + kZeroSrc;
  if (offloaded) return row("optimizer_bytes", label, 0, "0 (offloaded to host)", "0", src);
  const U trainable = st.trainable_dense + st.adapter + st.trainable_expert;
  const double f =
      trainable ? static_cast<double>(st.trainable_expert) / static_cast<double>(trainable) : 0.0;
  const U oe    = static_cast<U>(std::llround(static_cast<double>(opt.total_bytes) * f));
  const bool z1 = c.zero >= 1;
  std::vector<Term> terms;
  if (opt.total_bytes - oe > 0)
    terms.push_back(sharded_term({{{"state", opt.total_bytes - oe}}}, z1, c));
  if (oe > 0) terms.push_back(sharded_term({{{"state_expert", oe}}}, z1, c, true));
  return expr_row("optimizer_bytes", label, terms, src);
}

// Saved activations of the stage's layers for each in-flight micro-batch, and the embedding
// side's on the first stage.
Row<ByteCount> activations_row(const StageShape& st, const RunCtx& c, const ActivationReport& act,
                               bool first) {
  const double flight = first ? c.in_flight : 1.0;
  const U embedding   = first && st.sp.embedding_saves ? act.embedding_bytes : 0;
  const U saved       = add(add(mul(static_cast<U>(st.sp.dense_layers), act.layer_bytes),
                                mul(static_cast<U>(st.sp.moe_layers), act.moe_layer_bytes)),
                            embedding);
  const U value       = static_cast<U>(std::ceil(static_cast<double>(saved) * flight));
  return row("activations_bytes", "activations (saved for backward)", value,
             "(dense layers · A + moe layers · A_moe + embedding) · in-flight",
             fmt::format("({} · {} + {} · {} + {}) · {:g}", st.sp.dense_layers, act.layer_bytes,
                         st.sp.moe_layers, act.moe_layer_bytes, embedding, flight),
             "activation model (activations.hpp); in-flight: Narayanan et al. 2021, Korthikanti "
             "et al. 2022 Sec. 4.2.3");
}

// A trained vision tower saves its layers' activations for each image of each in-flight
// micro-batch on the first stage; a frozen one runs without autograd and saves nothing.
Row<ByteCount> tower_activations_row(const ModelSpec& m, const TrainInput& in, const RunCtx& c,
                                     bool first) {
  const ImageCost ic  = image_cost(m, in.image_size);
  const double flight = first ? c.in_flight : 0.0;
  const double per    = in.freeze_towers
                            ? 0.0
                            : ic.activation_elements * static_cast<double>(c.recipe.activation_bytes) *
                               static_cast<double>(in.images) *
                               static_cast<double>(in.workload.micro_batch);
  const U v           = static_cast<U>(std::ceil(per * flight));
  return row("tower_activations_bytes", "vision tower activations", v,
             in.freeze_towers ? "0 (towers frozen: no autograd graph)"
                              : "images · b · tower elements per image · a · in-flight",
             fmt::format("{} · {} · {:.0f} · {} · {:g}", in.images, in.workload.micro_batch,
                         ic.activation_elements, c.recipe.activation_bytes, flight),
             ic.rows.find("activation_elements")->derivation.source);
}

Row<ByteCount> logits_row(const ActivationReport& act, bool last) {
  const U v = last ? act.head_bytes : 0;
  return row("logits_bytes", "final norm, logits and loss tensors", v,
             last ? "head rows of one micro-batch (outside the layers)" : "0 (not the last stage)",
             std::to_string(v), "activation model, outside-layer rows");
}

// At the start of backward the loss's gradient buffers are live on the last stage; with full
// recomputation one layer's tensors are live again while it is recomputed (later, once the loss
// buffers are freed): the peak takes the larger of the two.
Row<ByteCount> backward_peak_row(const ActivationReport& act, bool last) {
  const U loss = last ? act.loss_peak_bytes : 0, rc = act.recompute_peak_bytes;
  return row("backward_peak_bytes", "transient at the peak (loss gradients or a recomputed layer)",
             std::max(loss, rc), "max(loss backward buffers, recompute peak)",
             fmt::format("max({}, {})", loss, rc),
             "activation model rows loss_backward_buffers / loss_chunk_logits and recompute_peak");
}

Row<ByteCount> communication_row(const StageShape& st, const RunCtx& c, const TrainInput& in) {
  const auto& R = c.recipe;
  if (c.zero >= 3)
    return expr_row(
        "communication_bytes", "communication buffers",
        {{{{{"2", 2}, {"layer params", st.sp.layer_elems}, {"w", static_cast<U>(R.weight_bytes)}},
           {{"layer params", st.sp.layer_elems}, {"g", static_cast<U>(R.gradient_bytes)}}}}},
        "assumption: the current and the prefetched layer gathered, one layer of "
        "unsharded gradients before reduce-scatter (FSDP per-layer wrapping)");
  if (in.plan.dp > 1)
    return row("communication_bytes", "communication buffers", in.ddp_bucket_bytes,
               "one gradient bucket", std::to_string(in.ddp_bucket_bytes),
               "PyTorch DDP bucket_cap_mb = 25 with gradient_as_bucket_view (or the framework's "
               "bucket)");
  return row("communication_bytes", "communication buffers", 0, "0 (no data parallelism)", "0",
             "no gradient all-reduce");
}

// Builds the rows of one stage and closes them with the allocator and context rows.
StageMemory build_stage(const ModelSpec& m, const TrainInput& in, const RunCtx& c,
                        const ActivationReport& act, const std::string& name, StageRange range,
                        bool first, bool last) {
  StageMemory st;
  st.name            = name;
  const StageShape s = stage_shape(m, in, c, range, first, last);
  st.params          = s.sp.trainable + s.sp.frozen + s.adapter;
  const bool off     = in.plan.offload == Offload::optimizer;
  st.optimizer       = optimizer_state(in.optimizer, s.train, c.recipe.state_bytes);
  auto& rows         = st.rows.rows;
  rows.push_back(weights_row(s, c));
  if (c.recipe.fp8_cache_bytes > 0) rows.push_back(fp8_cache_row(s, c));
  if (c.recipe.autocast_cache_bytes > 0) rows.push_back(autocast_cache_row(s, c));
  rows.push_back(gradients_row(s, c));
  const auto master = master_row(s, c, false);
  const auto opt    = optimizer_row(s, c, in.optimizer, st.optimizer, false);
  if (off) {
    st.host_bytes = add(master.value, opt.value);
    rows.push_back(master_row(s, c, true));
    rows.push_back(optimizer_row(s, c, in.optimizer, st.optimizer, true));
  } else {
    rows.push_back(master);
    rows.push_back(opt);
  }
  const std::size_t n_persistent = rows.size();
  rows.push_back(activations_row(s, c, act, first));
  if (m.vision.present() && in.images > 0) rows.push_back(tower_activations_row(m, in, c, first));
  rows.push_back(logits_row(act, last));
  rows.push_back(backward_peak_row(act, last));
  rows.push_back(communication_row(s, c, in));
  U persistent = 0, transient = 0;
  for (std::size_t i = 0; i < rows.size(); ++i)
    (i < n_persistent ? persistent : transient) =
        add(i < n_persistent ? persistent : transient, rows[i].value);
  st.allocated_bytes = add(persistent, transient);
  st.transient_bytes = transient;
  if (in.overhead_bytes) {
    rows.push_back(row("overhead_bytes", "runtime overhead (given)", *in.overhead_bytes,
                       "flat overhead given by the user", std::to_string(*in.overhead_bytes),
                       "user input (replaces the allocator and CUDA context model)"));
    st.reserved_bytes = st.allocated_bytes;
    st.device_bytes   = add(st.allocated_bytes, *in.overhead_bytes);
  } else {
    DeviceMemoryInput d;
    d.persistent_bytes = persistent;
    d.transient_bytes  = transient;
    // The largest transient request: one activation tensor, or a gathered layer (ZeRO-3).
    d.largest_transient_bytes = act.largest_tensor_bytes;
    const CudaContext ctx     = cuda_context(in.context_loading);
    d.context_bytes           = ctx.bytes;
    d.context_source          = ctx.derivation.source;
    DeviceMemoryReport dm     = device_memory(d);
    dm.context.derivation     = ctx.derivation;
    rows.push_back(dm.fragmentation);
    rows.push_back(dm.context);
    st.reserved_bytes = dm.reserved_bytes;
    st.device_bytes   = dm.device_bytes;
  }
  for (const auto& x : rows) st.total_bytes = add(st.total_bytes, x.value);
  return st;
}

}  // namespace

int effective_zero(const ParallelPlan& p) {
  switch (p.fsdp) {
    case FsdpMode::full:
    case FsdpMode::hybrid:
      return 3;
    case FsdpMode::grad_op:
      return 2;
    case FsdpMode::none:
      break;
  }
  return p.zero;
}

TrainRecipe train_recipe(const TrainInput& in) {
  const PrecisionRecipe p = recipe_for(in.precision);
  const DtypeOverrides& o = in.dtypes;
  TrainRecipe r;
  r.weight_bytes     = p.weight_bytes;
  r.gradient_bytes   = in.grad_bytes > 0 ? in.grad_bytes : p.gradient_bytes;
  r.master_bytes     = p.master_bytes;
  r.activation_bytes = p.activation_bytes;
  r.compute_dtype    = p.compute_dtype;
  if (in.autocast) {
    // torch.autocast over an fp32 model: the fp32 weights are the ones the optimizer updates
    // (no separate master copy), gradients take the weights' dtype, and a 16-bit copy of each
    // trainable weight is cached for the matmuls.
    r.weight_bytes         = 4;
    r.master_bytes         = 0;
    r.gradient_bytes       = in.grad_bytes > 0 ? in.grad_bytes : 4;
    r.autocast_cache_bytes = 2;
  }
  r.frozen_bytes  = r.weight_bytes;
  r.adapter_bytes = r.weight_bytes;
  if (o.weight_bytes > 0) r.weight_bytes = o.weight_bytes;
  if (o.frozen_bytes > 0) r.frozen_bytes = o.frozen_bytes;
  if (o.adapter_bytes > 0) r.adapter_bytes = o.adapter_bytes;
  if (o.gradient_bytes > 0 && in.grad_bytes == 0) r.gradient_bytes = o.gradient_bytes;
  if (o.master_bytes >= 0) r.master_bytes = o.master_bytes;
  // Optimizer states take the dtype of the tensor they update: the fp32 master copy when there
  // is one, otherwise the working weights (pure bf16/fp16 training keeps 16-bit states).
  r.state_bytes = r.master_bytes > 0 ? r.master_bytes : r.weight_bytes;
  if (o.state_bytes > 0) r.state_bytes = o.state_bytes;
  r.fp8_cache_bytes = in.precision == Precision::fp8 ? 1 : 0;
  return r;
}

ActivationInput activation_input(const TrainInput& in) {
  ActivationInput a;
  a.micro_batch         = in.workload.micro_batch;
  a.seq_len             = in.workload.seq_len;
  a.activation_bytes    = train_recipe(in).activation_bytes;
  a.options             = in.activation;
  a.tp                  = in.plan.tp;
  a.sequence_parallel   = in.plan.sequence_parallel;
  a.cp                  = in.plan.cp;
  a.moe_capacity_factor = in.moe_capacity_factor;
  a.loss                = in.loss;
  a.head                = in.head;
  a.autocast            = in.autocast;
  // The residual stream follows the trainable weights' dtype (fp32 under autocast over an fp32
  // model; the base dtype for LoRA, whose frozen weights carry the stream).
  const TrainRecipe r = train_recipe(in);
  const bool lora     = in.finetune.mode == Finetune::lora || in.finetune.mode == Finetune::qlora;
  a.residual_bytes    = in.autocast ? (lora ? std::min(r.frozen_bytes, 4) : r.weight_bytes) : 0;
  return a;
}

void validate_plan(const ModelSpec& m, const TrainInput& in) {
  const auto& p = in.plan;
  const auto& w = in.workload;
  for (auto [v, f] : {std::pair<I, const char*>{p.dp, "dp"},
                      {p.tp, "tp"},
                      {p.pp, "pp"},
                      {p.ep, "ep"},
                      {p.cp, "cp"},
                      {p.interleave, "interleave"},
                      {w.micro_batch, "micro_batch"},
                      {w.seq_len, "seq"},
                      {in.gpus_per_node, "gpus_per_node"}})
    require(v >= 1 && v <= 10000000, "invalid value", f,
            fmt::format("must be between 1 and 10^7, got {}", v));
  require(p.zero >= 0 && p.zero <= 3, "invalid ZeRO stage", "zero", "must be 0, 1, 2 or 3");
  require(p.fsdp == FsdpMode::none || p.zero == 0, "contradictory sharding", "fsdp",
          "give fsdp or zero, not both");
  check_tensor_parallel(m, p.tp);  // layout.hpp: KV heads split, or replicated when fewer
  if (m.n_ff > 0)
    require(m.n_ff % p.tp == 0, "indivisible layout", "tp",
            fmt::format("tp {} must divide ffn width {}", p.tp, m.n_ff));
  if (m.is_moe())
    require(m.n_ff_expert % p.tp == 0, "indivisible layout", "tp",
            fmt::format("tp {} must divide expert ffn width {}", p.tp, m.n_ff_expert));
  const I L = total_layers(m);
  require(L % p.pp == 0, "indivisible layout", "pp",
          fmt::format("pp {} must divide layers {}", p.pp, L));
  if (p.interleave > 1) {
    require(p.schedule == Schedule::interleaved, "interleave without interleaved schedule",
            "interleave", "use schedule interleaved");
    require(p.pp > 1, "interleaved schedule needs pipeline stages", "interleave", "needs pp >= 2");
    require((L / p.pp) % p.interleave == 0, "indivisible layout", "interleave",
            fmt::format("interleave {} must divide layers per stage {}", p.interleave, L / p.pp));
  }
  if (p.ep > 1) {
    require(m.is_moe(), "expert parallelism on a dense model", "ep",
            "ep needs a mixture-of-experts model");
    require(m.n_expert % p.ep == 0, "indivisible layout", "ep",
            fmt::format("ep {} must divide experts {}", p.ep, m.n_expert));
    require(p.dp % p.ep == 0, "indivisible layout", "ep",
            fmt::format("ep {} must divide dp {} (experts are spread within data parallelism)",
                        p.ep, p.dp));
  }
  require(w.seq_len % p.cp == 0, "indivisible layout", "cp",
          fmt::format("cp {} must divide sequence length {}", p.cp, w.seq_len));
  if (p.sequence_parallel)
    require(w.seq_len % (p.tp * p.cp) == 0, "indivisible layout", "sequence_parallel",
            fmt::format("tp·cp = {} must divide sequence length {}", p.tp * p.cp, w.seq_len));
  if (p.fsdp == FsdpMode::hybrid) {
    // Hybrid sharding (PyTorch FSDP HYBRID_SHARD): shard within a node, replicate across.
    const I group = std::clamp<I>(in.gpus_per_node / std::max<I>(1, p.tp * p.cp), 1, p.dp);
    require(p.dp % group == 0, "indivisible layout", "gpus_per_node",
            fmt::format("hybrid sharding groups of {} data-parallel ranks per node must divide "
                        "dp {}",
                        group, p.dp));
  }
  check_sequence_length(m, w.seq_len, "seq");
  const U gpus = mul(mul(static_cast<U>(p.dp), static_cast<U>(p.tp)),
                     mul(static_cast<U>(p.pp), static_cast<U>(p.cp)));
  if (in.gpus > 0)
    require(gpus == static_cast<U>(in.gpus), "inconsistent GPU count", "gpus",
            fmt::format("gpus = dp·tp·pp·cp = {}·{}·{}·{} = {}, but gpus is {}", p.dp, p.tp, p.pp,
                        p.cp, gpus, in.gpus));
  if (w.global_batch > 0)
    require(w.global_batch % (w.micro_batch * p.dp) == 0, "indivisible batch", "global_batch",
            fmt::format("must be a multiple of micro-batch x dp = {}", w.micro_batch * p.dp));
  if (p.schedule == Schedule::interleaved && p.pp > 1) {
    const I mb =
        (w.global_batch > 0 ? w.global_batch : w.micro_batch * p.dp) / (w.micro_batch * p.dp);
    require(mb % p.pp == 0, "indivisible batch", "global_batch",
            fmt::format("the interleaved schedule needs micro-batches per step ({}) to be a "
                        "multiple of pp {} (Megatron-LM)",
                        mb, p.pp));
  }
  require(in.activation.dropout >= 0 && in.activation.dropout < 1, "invalid dropout", "dropout",
          "must be in [0, 1)");
  require(in.headroom >= 0 && in.headroom < 1, "invalid headroom", "headroom", "must be in [0, 1)");
  require(in.grad_bytes == 0 || in.grad_bytes == 2 || in.grad_bytes == 4, "invalid gradient dtype",
          "grad_dtype", "must be fp32 or bf16");
  const auto& ft = in.finetune;
  if (ft.mode == Finetune::freeze)
    require(ft.frozen_layers >= 0 && ft.frozen_layers <= m.n_layer, "invalid frozen layers",
            "frozen_layers", fmt::format("must be between 0 and {}", m.n_layer));
}

StageMemory stage_memory(const ModelSpec& m, const TrainInput& in, const ActivationReport& act,
                         std::int64_t first_layer, std::int64_t layers, bool first, bool last) {
  validate_plan(m, in);
  const RunCtx c = run_ctx(m, in);
  require(first_layer >= 0 && layers >= 1 && first_layer + layers <= c.L, "invalid stage", "layers",
          fmt::format("layers [{}, {}) are not within the model's {} layers", first_layer,
                      first_layer + layers, c.L));
  const std::string name = first && last ? "all" : first ? "first" : last ? "last" : "middle";
  return build_stage(m, in, c, act, name, {first_layer, first_layer + layers}, first, last);
}

TrainMemoryReport train_memory(const ModelSpec& m, const TrainInput& in,
                               const ActivationReport& act) {
  validate_plan(m, in);
  const auto& p  = in.plan;
  const RunCtx c = run_ctx(m, in);
  TrainMemoryReport r;
  r.recipe              = c.recipe;
  r.zero_stage          = c.zero;
  r.shard_group         = c.S;
  r.micro_batches       = c.micro_batches;
  r.in_flight           = c.in_flight;
  r.adapters            = c.adapters;
  const ParamsReport pr = count_params(m);
  r.params_total        = pr.total;

  // The most loaded stage: the first (embedding, in-flight micro-batches) or the last (head,
  // logits, loss); with p = 1 one stage holds everything.
  const I L = c.L, per_stage = L / p.pp;
  StageMemory chosen;
  if (p.pp == 1) {
    chosen              = build_stage(m, in, c, act, "all", {0, L}, true, true);
    r.first_stage_bytes = r.last_stage_bytes = chosen.total_bytes;
    r.first_stage_allocated_bytes = r.last_stage_allocated_bytes = chosen.allocated_bytes;
    r.first_stage_transient_bytes = r.last_stage_transient_bytes = chosen.transient_bytes;
  } else {
    StageMemory a       = build_stage(m, in, c, act, "first", {0, per_stage}, true, false);
    StageMemory b       = build_stage(m, in, c, act, "last", {L - per_stage, L}, false, true);
    r.first_stage_bytes = a.total_bytes;
    r.last_stage_bytes  = b.total_bytes;
    r.first_stage_allocated_bytes = a.allocated_bytes;
    r.first_stage_transient_bytes = a.transient_bytes;
    r.last_stage_allocated_bytes  = b.allocated_bytes;
    r.last_stage_transient_bytes  = b.transient_bytes;
    chosen                        = a.total_bytes >= b.total_bytes ? std::move(a) : std::move(b);
  }
  r.stage             = chosen.name;
  r.rows              = chosen.rows;
  r.total_bytes       = chosen.total_bytes;
  r.allocated_bytes   = chosen.allocated_bytes;
  r.reserved_bytes    = chosen.reserved_bytes;
  r.device_bytes      = chosen.device_bytes;
  r.overhead_bytes    = chosen.device_bytes - chosen.allocated_bytes;
  r.host_bytes        = chosen.host_bytes;
  r.params_on_gpu     = chosen.params;
  r.optimizer         = chosen.optimizer;
  ParamCount adapters = 0;
  for (const auto& a : r.adapters) adapters += a.params;
  if (c.lora)
    r.trainable_params = adapters;
  else if (in.finetune.mode == Finetune::freeze || in.freeze_towers) {
    // Whole-model trainable count: all parameters minus embeddings and the first k layers
    // (freeze), minus the vision tower and projector (--freeze-towers).
    TrainInput whole     = in;
    whole.plan           = ParallelPlan{};
    const StageParams sp = stage_params(m, whole, {0, L}, true, true);
    r.trainable_params   = sp.trainable;
  } else {
    r.trainable_params = pr.total;
  }
  if (in.gpu_memory_bytes > 0) {
    r.limit_bytes =
        static_cast<ByteCount>(static_cast<double>(in.gpu_memory_bytes) * (1.0 - in.headroom));
    r.fits = r.total_bytes <= r.limit_bytes;
  }
  const auto& R = r.recipe;
  r.notes.push_back(r.stage == "all"
                        ? std::string("no pipeline parallelism: every GPU holds all layers")
                        : fmt::format("most loaded GPU: {} pipeline stage ({}: {} B, "
                                      "{}: {} B)",
                                      r.stage, "first", r.first_stage_bytes, "last",
                                      r.last_stage_bytes));
  if (R.master_bytes > 0 && in.grad_bytes == 0 && R.gradient_bytes == 4)
    r.notes.push_back(
        "gradients accumulated in fp32 (mixed-precision default); grad_dtype bf16 "
        "gives ZeRO's 2 + 2 + 12 = 16 bytes/parameter");
  if (in.autocast)
    r.notes.push_back(
        "torch.autocast over fp32 weights: no separate master copy, fp32 gradients, a cached "
        "16-bit copy of each trainable matmul weight, fp32 norms and softmax");
  if (p.pp > 1 && r.micro_batches < p.pp)
    r.notes.push_back(
        fmt::format("only {} micro-batch(es) per step for {} pipeline stages: the "
                    "pipeline is mostly idle; raise global_batch",
                    r.micro_batches, p.pp));
  if (p.offload == Offload::optimizer)
    r.notes.push_back("master weights and optimizer states offloaded to host memory");
  if (in.finetune.mode == Finetune::qlora && in.optimizer == Optimizer::adam8bit)
    r.notes.push_back("paged 8-bit AdamW counted as resident on the GPU (worst case)");
  if (!in.overhead_bytes)
    r.notes.push_back(fmt::format(
        "allocated {} B (tensors at the peak), reserved {} B (+ caching-allocator "
        "fragmentation), device {} B (+ CUDA context, {} module loading): the fit uses device",
        r.allocated_bytes, r.reserved_bytes, r.device_bytes, to_string(in.context_loading)));
  return r;
}

namespace {

// The same step at micro-batch b with as many micro-batches per step as `in` has, so that the
// pipeline's in-flight count and the interleaved schedule's rule stay as they are.
TrainInput at_micro_batch(const TrainInput& in, std::int64_t b) {
  const I dp = std::max<I>(1, in.plan.dp), micro = std::max<I>(1, in.workload.micro_batch);
  const I steps = in.workload.global_batch > 0 ? in.workload.global_batch / (micro * dp) : 1;
  TrainInput t  = in;
  t.workload.micro_batch  = b;
  t.workload.global_batch = b * dp * std::max<I>(1, steps);
  return t;
}

}  // namespace

AffineMemory train_memory_affine(const ModelSpec& m, const TrainInput& in) {
  const TrainInput one = at_micro_batch(in, 1), two = at_micro_batch(in, 2);
  const ByteCount m1 = train_memory(m, one).total_bytes, m2 = train_memory(m, two).total_bytes;
  AffineMemory a;
  a.per_sequence_bytes = m2 >= m1 ? m2 - m1 : 0;
  a.fixed_bytes        = m1 >= a.per_sequence_bytes ? m1 - a.per_sequence_bytes : 0;
  return a;
}

std::int64_t largest_micro_batch(const ModelSpec& m, const TrainInput& in) {
  if (in.gpu_memory_bytes == 0) return 0;
  auto fits_at = [&](std::int64_t b) {
    try {
      return train_memory(m, at_micro_batch(in, b)).fits;
    } catch (const InputError&) {
      return false;  // e.g. a byte count beyond 64 bits: it does not fit either
    }
  };
  return largest_fitting(1 << 20, fits_at);
}

std::vector<FitSuggestion> fit_suggestions(const ModelSpec& m, const TrainInput& in) {
  std::vector<FitSuggestion> out;
  if (in.gpu_memory_bytes == 0) return out;
  const TrainMemoryReport base = train_memory(m, in);
  if (base.fits) return out;
  auto attempt = [&](const std::string& change, const std::string& option, const std::string& value,
                     TrainInput t) {
    try {
      const auto r = train_memory(m, t);
      if (r.total_bytes < base.total_bytes)
        out.push_back({change, option, value, {}, r.total_bytes, r.fits});
    } catch (const InputError&) {
      // a change the layout does not allow is not suggested
    }
  };
  const auto& p = in.plan;
  if (in.activation.recompute != Recompute::full) {
    TrainInput t           = in;
    t.activation.recompute = Recompute::full;
    attempt("recompute every layer's activations in backward", "recompute", "full", t);
    if (in.activation.recompute == Recompute::none) {
      t.activation.recompute = Recompute::selective;
      attempt("recompute the core attention in backward", "recompute", "selective", t);
    }
  }
  if (in.workload.micro_batch > 1) {
    TrainInput t = in;
    t.workload.global_batch =
        in.workload.global_batch > 0 ? in.workload.global_batch : in.workload.micro_batch * p.dp;
    const std::int64_t best = largest_micro_batch(m, in);
    std::int64_t b          = best > 0 ? best : 1;
    while (b > 1 && t.workload.global_batch % (b * p.dp) != 0) --b;
    t.workload.micro_batch = b;
    attempt("smaller micro-batch, same global batch by gradient accumulation", "micro_batch",
            std::to_string(b), t);
  }
  if (in.loss == LossImpl::standard && in.head == HeadKind::lm && m.n_vocab > 0) {
    TrainInput t = in;
    t.loss       = LossImpl::fused;
    attempt("fused linear cross-entropy (no logits kept)", "loss", "fused", t);
  }
  if (p.dp > 1 && effective_zero(p) < 3 && p.fsdp == FsdpMode::none) {
    TrainInput t = in;
    t.plan.zero  = 3;
    attempt("shard weights, gradients and optimizer states over the data-parallel GPUs", "zero",
            "3", t);
  }
  if (in.finetune.mode == Finetune::full || in.finetune.mode == Finetune::freeze) {
    TrainInput t    = in;
    t.finetune.mode = Finetune::lora;
    attempt("train LoRA adapters instead of the weights", "finetune", "lora", t);
  }
  if (in.finetune.mode != Finetune::qlora) {
    TrainInput t    = in;
    t.finetune.mode = Finetune::qlora;
    attempt("LoRA adapters over a 4-bit NF4 base", "finetune", "qlora", t);
  }
  if (p.offload == Offload::none) {
    TrainInput t   = in;
    t.plan.offload = Offload::optimizer;
    attempt("keep master weights and optimizer states in host memory", "offload", "optimizer", t);
  }
  if (in.optimizer == Optimizer::adamw) {
    TrainInput t = in;
    t.optimizer  = Optimizer::adam8bit;
    attempt("8-bit AdamW states", "optimizer", "adam8bit", t);
  }
  {
    // More GPUs with ZeRO-3: the fewest data-parallel replicas (up to 4096) that fit.
    for (std::int64_t dp = std::max<std::int64_t>(2, p.dp * 2); dp <= 4096; dp *= 2) {
      TrainInput t            = in;
      t.plan.dp               = dp;
      t.gpus                  = 0;
      t.workload.global_batch = 0;
      if (t.plan.fsdp == FsdpMode::none) t.plan.zero = 3;
      try {
        const auto r = train_memory(m, t);
        if (r.fits) {
          FitSuggestion s;
          s.change      = fmt::format("{} GPUs, weights and states sharded (ZeRO-3 over dp {})",
                                      dp * p.tp * p.pp * p.cp, dp);
          s.option      = "gpus";
          s.value       = std::to_string(dp * p.tp * p.pp * p.cp);
          s.total_bytes = r.total_bytes;
          s.fits        = true;
          if (t.plan.fsdp == FsdpMode::none) s.also.push_back({"zero", "3"});
          out.push_back(s);
          break;
        }
      } catch (const InputError&) {
        break;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const FitSuggestion& a, const FitSuggestion& b) {
    if (a.fits != b.fits) return a.fits;
    return a.total_bytes < b.total_bytes;
  });
  return out;
}

std::vector<SeedHeuristic> seed_heuristics(const ModelSpec& m, ParamCount n, std::int64_t b,
                                           std::int64_t s) {
  std::vector<SeedHeuristic> out;
  const U N = n, B = static_cast<U>(b), T = static_cast<U>(s), d = static_cast<U>(m.n_embd),
          L = static_cast<U>(m.n_layer), a = static_cast<U>(m.n_head);
  {
    SeedHeuristic h;
    h.source = "seed 002 (alpha = 5 heuristic)";
    h.title  = "The 354M worked example: parameters and training memory (alpha = 5 heuristic)";
    h.rows.rows.push_back(row("weights_bytes", "fp16 weights", mul(2, N), "2N",
                              fmt::format("2 · {}", N), "seed 002"));
    h.rows.rows.push_back(row("gradients_bytes", "fp16 gradients", mul(2, N), "2N",
                              fmt::format("2 · {}", N), "seed 002"));
    h.rows.rows.push_back(row("optimizer_bytes", "Adam m, v in fp32 (no master copy)", mul(8, N),
                              "2 · 4N", fmt::format("8 · {}", N), "seed 002"));
    h.rows.rows.push_back(row("activations_bytes", "activations",
                              mul(mul(mul(mul(10, B), T), d), L), "5 · B · L · d · 2 · N_layers",
                              fmt::format("5 · {} · {} · {} · 2 · {}", B, T, d, L), "seed 002"));
    out.push_back(std::move(h));
  }
  {
    SeedHeuristic h;
    h.source = "seed 004 (Transformer Math 101, no recomputation, t = 1)";
    h.title  = "Transformer Math 101 (EleutherAI), no recomputation, t = 1";
    h.rows.rows.push_back(row("weights_bytes", "mixed-precision model", mul(2, N), "2N",
                              fmt::format("2 · {}", N), "seed 004"));
    h.rows.rows.push_back(row("gradients_bytes", "fp16 gradients", mul(2, N), "2N",
                              fmt::format("2 · {}", N), "seed 004"));
    h.rows.rows.push_back(row("optimizer_bytes", "AdamW: fp32 copy + momentum + variance",
                              mul(12, N), "12N", fmt::format("12 · {}", N), "seed 004"));
    const U sbhL = mul(mul(mul(T, B), d), L);
    const U act  = add(mul(sbhL, 34), mul(mul(mul(mul(5, B), T), T), mul(a, L)));
    h.rows.rows.push_back(row("activations_bytes", "s·b·h·L·(34 + 5·a·s/h)", act,
                              "s·b·h·L·(10 + 24 + 5·a·s/h)",
                              fmt::format("{}·{}·{}·{}·(34 + 5·{}·{}/{})", T, B, d, L, a, T, d),
                              "seed 004; Korthikanti et al. 2022, Eq. 2 (16-bit)"));
    out.push_back(std::move(h));
  }
  for (auto& h : out)
    for (const auto& x : h.rows.rows) h.total_bytes = add(h.total_bytes, x.value);
  return out;
}

}  // namespace sizeup
