#include "sizeup/memory_train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"
#include "sizeup/params.hpp"
#include "sizeup/tensors.hpp"
#include "sizeup/towers.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;
using U = std::uint64_t;

U mul(U a, U b) { return checked_mul(a, b, "--micro-batch"); }
U add(U a, U b) { return checked_add(a, b, "--micro-batch"); }
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
std::vector<I> local_shape(const Tensor& t, I tp, I ep) {
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
      s[0] = split(s[0], ep);
      if (t.expert_row_parallel())
        s[2] = split(s[2], tp);
      else
        s[1] = split(s[1], tp);
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
  U trainable_expert = 0;              // of which expert weights (sharded over S / e)
  U frozen_nf4_bytes = 0;              // QLoRA: NF4 storage of the frozen linear weights
  U frozen_nf4_elems = 0;              // elements stored that way
  U matmul_elems     = 0;              // for the fp8 weight cache
  U layer_elems      = 0;              // largest layer on the rank (ZeRO-3 gather buffers)
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
    const auto shape  = local_shape(t, plan.tp, plan.ep);
    const U per       = product(shape);
    const U all       = mul(per, static_cast<U>(h.count));
    const U frozen    = lora ? all : mul(per, static_cast<U>(h.frozen));
    const U trainable = all - frozen;
    sp.trainable      = add(sp.trainable, trainable);
    sp.frozen         = add(sp.frozen, frozen);
    if (t.split == Split::expert) sp.trainable_expert = add(sp.trainable_expert, trainable);
    if (t.is_matmul) sp.matmul_elems = add(sp.matmul_elems, all);
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

Row<ByteCount> row(std::string key, std::string label, U value, std::string formula,
                   std::string subst, std::string source) {
  return {std::move(key),
          std::move(label),
          value,
          {std::move(formula), std::move(subst), std::move(source)}};
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
  TrainRecipe r;
  r.weight_bytes     = p.weight_bytes;
  r.gradient_bytes   = in.grad_bytes > 0 ? in.grad_bytes : p.gradient_bytes;
  r.master_bytes     = p.master_bytes;
  r.activation_bytes = p.activation_bytes;
  r.compute_dtype    = p.compute_dtype;
  // Optimizer states take the dtype of the tensor they update: the fp32 master copy when there
  // is one, otherwise the working weights (pure bf16/fp16 training keeps 16-bit states).
  r.state_bytes     = p.master_bytes > 0 ? p.master_bytes : p.weight_bytes;
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
  return a;
}

void validate_plan(const ModelSpec& m, const TrainInput& in) {
  const auto& p = in.plan;
  const auto& w = in.workload;
  for (auto [v, f] : {std::pair<I, const char*>{p.dp, "--dp"},
                      {p.tp, "--tp"},
                      {p.pp, "--pp"},
                      {p.ep, "--ep"},
                      {p.cp, "--cp"},
                      {p.interleave, "--interleave"},
                      {w.micro_batch, "--micro-batch"},
                      {w.seq_len, "--seq"},
                      {in.gpus_per_node, "--gpus-per-node"}})
    require(v >= 1 && v <= 10000000, "invalid value", f,
            fmt::format("must be between 1 and 10^7, got {}", v));
  require(p.zero >= 0 && p.zero <= 3, "invalid ZeRO stage", "--zero", "must be 0, 1, 2 or 3");
  require(p.fsdp == FsdpMode::none || p.zero == 0, "contradictory sharding", "--fsdp",
          "give --fsdp or --zero, not both");
  require(m.n_head % p.tp == 0, "indivisible layout", "--tp",
          fmt::format("--tp {} must divide heads {}", p.tp, m.n_head));
  require(m.n_head_kv % p.tp == 0, "indivisible layout", "--tp",
          fmt::format("--tp {} must divide kv heads {}", p.tp, m.n_head_kv));
  if (m.n_ff > 0)
    require(m.n_ff % p.tp == 0, "indivisible layout", "--tp",
            fmt::format("--tp {} must divide ffn width {}", p.tp, m.n_ff));
  if (m.is_moe())
    require(m.n_ff_expert % p.tp == 0, "indivisible layout", "--tp",
            fmt::format("--tp {} must divide expert ffn width {}", p.tp, m.n_ff_expert));
  const I L = total_layers(m);
  require(L % p.pp == 0, "indivisible layout", "--pp",
          fmt::format("--pp {} must divide layers {}", p.pp, L));
  if (p.interleave > 1) {
    require(p.schedule == Schedule::interleaved, "interleave without interleaved schedule",
            "--interleave", "use --schedule interleaved");
    require(p.pp > 1, "interleaved schedule needs pipeline stages", "--interleave",
            "needs --pp >= 2");
    require((L / p.pp) % p.interleave == 0, "indivisible layout", "--interleave",
            fmt::format("--interleave {} must divide layers per stage {}", p.interleave, L / p.pp));
  }
  if (p.ep > 1) {
    require(m.is_moe(), "expert parallelism on a dense model", "--ep",
            "--ep needs a mixture-of-experts model");
    require(m.n_expert % p.ep == 0, "indivisible layout", "--ep",
            fmt::format("--ep {} must divide experts {}", p.ep, m.n_expert));
    require(p.dp % p.ep == 0, "indivisible layout", "--ep",
            fmt::format("--ep {} must divide --dp {} (experts are spread within data parallelism)",
                        p.ep, p.dp));
  }
  require(w.seq_len % p.cp == 0, "indivisible layout", "--cp",
          fmt::format("--cp {} must divide sequence length {}", p.cp, w.seq_len));
  if (p.sequence_parallel)
    require(w.seq_len % (p.tp * p.cp) == 0, "indivisible layout", "--sequence-parallel",
            fmt::format("tp·cp = {} must divide sequence length {}", p.tp * p.cp, w.seq_len));
  if (p.fsdp == FsdpMode::hybrid) {
    // Hybrid sharding (PyTorch FSDP HYBRID_SHARD): shard within a node, replicate across.
    const I group = std::clamp<I>(in.gpus_per_node / std::max<I>(1, p.tp * p.cp), 1, p.dp);
    require(p.dp % group == 0, "indivisible layout", "--gpus-per-node",
            fmt::format("hybrid sharding groups of {} data-parallel ranks per node must divide "
                        "dp {}",
                        group, p.dp));
  }
  check_sequence_length(m, w.seq_len, "--seq");
  const U gpus = mul(mul(static_cast<U>(p.dp), static_cast<U>(p.tp)),
                     mul(static_cast<U>(p.pp), static_cast<U>(p.cp)));
  if (in.gpus > 0)
    require(gpus == static_cast<U>(in.gpus), "inconsistent GPU count", "--gpus",
            fmt::format("gpus = dp·tp·pp·cp = {}·{}·{}·{} = {}, but --gpus is {}", p.dp, p.tp, p.pp,
                        p.cp, gpus, in.gpus));
  if (w.global_batch > 0)
    require(w.global_batch % (w.micro_batch * p.dp) == 0, "indivisible batch", "--global-batch",
            fmt::format("must be a multiple of micro-batch x dp = {}", w.micro_batch * p.dp));
  if (p.schedule == Schedule::interleaved && p.pp > 1) {
    const I mb =
        (w.global_batch > 0 ? w.global_batch : w.micro_batch * p.dp) / (w.micro_batch * p.dp);
    require(mb % p.pp == 0, "indivisible batch", "--global-batch",
            fmt::format("the interleaved schedule needs micro-batches per step ({}) to be a "
                        "multiple of --pp {} (Megatron-LM)",
                        mb, p.pp));
  }
  require(in.activation.dropout >= 0 && in.activation.dropout < 1, "invalid dropout", "--dropout",
          "must be in [0, 1)");
  require(in.headroom >= 0 && in.headroom < 1, "invalid headroom", "--headroom",
          "must be in [0, 1)");
  require(in.grad_bytes == 0 || in.grad_bytes == 2 || in.grad_bytes == 4, "invalid gradient dtype",
          "--grad-dtype", "must be fp32 or bf16");
  const auto& ft = in.finetune;
  if (ft.mode == Finetune::freeze)
    require(ft.frozen_layers >= 0 && ft.frozen_layers <= m.n_layer, "invalid frozen layers",
            "--frozen-layers", fmt::format("must be between 0 and {}", m.n_layer));
}

TrainMemoryReport train_memory(const ModelSpec& m, const TrainInput& in,
                               const ActivationReport& act) {
  validate_plan(m, in);
  const auto& p = in.plan;
  TrainMemoryReport r;
  r.recipe      = train_recipe(in);
  const auto& R = r.recipe;
  r.zero_stage  = effective_zero(p);
  I S           = p.dp;
  if (p.fsdp == FsdpMode::hybrid)
    S = std::clamp<I>(in.gpus_per_node / std::max<I>(1, p.tp * p.cp), 1, p.dp);
  r.shard_group         = S;
  const I S_expert      = std::max<I>(1, S / p.ep);
  const ParamsReport pr = count_params(m);
  r.params_total        = pr.total;
  const bool lora       = in.finetune.mode == Finetune::lora || in.finetune.mode == Finetune::qlora;
  const I micro         = in.workload.micro_batch;
  const I global        = in.workload.global_batch > 0 ? in.workload.global_batch : micro * p.dp;
  r.micro_batches       = global / (micro * p.dp);
  if (lora)
    r.adapters = lora_adapters(
        m, in.finetune.lora_targets.empty() ? default_lora_targets() : in.finetune.lora_targets,
        in.finetune.lora_rank);

  // In-flight micro-batches on the first stage (Megatron-LM theoretical_memory_usage.py).
  const I L = total_layers(m);
  if (p.pp > 1) {
    if (p.schedule == Schedule::interleaved)
      r.in_flight =
          static_cast<double>(p.pp) *
          (1.0 + static_cast<double>(p.pp - 1) / static_cast<double>(p.pp * p.interleave));
    else
      r.in_flight = static_cast<double>(std::min<I>(p.pp, r.micro_batches));
  }

  struct Stage {
    std::string name;
    Breakdown<ByteCount> rows;
    U total = 0, host = 0, params = 0;
    OptimizerStateReport opt;
  };
  auto build = [&](const std::string& name, StageRange range, bool first, bool last) {
    Stage st;
    st.name              = name;
    const StageParams sp = stage_params(m, in, range, first, last);
    // LoRA adapters live beside every targeted module of the stage's layers.
    U adapter                          = 0;
    std::vector<TrainableTensor> train = sp.train;
    const I layers_here                = range.hi - range.lo;
    for (const auto& a : r.adapters) {
      const I here = std::min<I>(a.count, layers_here);  // adapters of this stage's layers
      const U per  = static_cast<U>(in.finetune.lora_rank) * static_cast<U>(a.in + a.out);
      adapter      = add(adapter, mul(per, static_cast<U>(a.experts * here)));
      train.push_back({{in.finetune.lora_rank, a.in}, a.experts * here});
      train.push_back({{a.out, in.finetune.lora_rank}, a.experts * here});
    }
    const U trainable_dense  = sp.trainable - sp.trainable_expert + adapter;
    const U trainable_expert = sp.trainable_expert;
    const U trainable        = trainable_dense + trainable_expert;
    st.params                = sp.trainable + sp.frozen + adapter;
    auto sharded             = [&](U dense_bytes, U expert_bytes, bool shard) {
      return shard ? ceil_div(dense_bytes, S) + ceil_div(expert_bytes, S_expert)
                               : dense_bytes + expert_bytes;
    };
    const bool z1 = r.zero_stage >= 1, z2 = r.zero_stage >= 2, z3 = r.zero_stage >= 3;
    const std::string zsrc = "Rajbhandari et al. 2020 (ZeRO), Sec. 5";

    // Weights: trainable in the working dtype; frozen base in the working dtype, or NF4 for
    // QLoRA's linear weights.
    const U wb            = static_cast<U>(R.weight_bytes);
    const U frozen_plain  = sp.frozen - sp.frozen_nf4_elems;
    const U frozen_bytes  = add(mul(frozen_plain, wb), sp.frozen_nf4_bytes);
    const U weights_dense = add(mul(trainable_dense, wb), frozen_bytes);
    const U weights       = sharded(weights_dense, mul(trainable_expert, wb), z3);
    st.rows.rows.push_back(row(
        "weights_bytes", "weights", weights,
        z3 ? "(trainable·w + frozen) / S" : "trainable·w + frozen",
        fmt::format("({} · {} + {}){}", trainable, wb, frozen_bytes,
                    z3 ? fmt::format(" / {}", S) : ""),
        "working copy in the recipe dtype; " + zsrc + (sp.frozen_nf4_elems ? "; QLoRA NF4" : "")));
    if (R.fp8_cache_bytes > 0) {
      const U c = mul(sp.matmul_elems, static_cast<U>(R.fp8_cache_bytes));
      st.rows.rows.push_back(row("fp8_weight_cache_bytes", "fp8 copy of matmul weights", c,
                                 "matmul params · 1", fmt::format("{} · 1", sp.matmul_elems),
                                 "Transformer Engine fp8 weight cache (assumption: 1 byte; the "
                                 "transposed copy on Hopper is not counted)"));
    }
    const U gb    = static_cast<U>(R.gradient_bytes);
    const U grads = sharded(mul(trainable_dense, gb), mul(trainable_expert, gb), z2);
    st.rows.rows.push_back(
        row("gradients_bytes", "gradients", grads, z2 ? "trainable · g / S" : "trainable · g",
            fmt::format("{} · {}{}", trainable, gb, z2 ? fmt::format(" / {}", S) : ""),
            "one gradient per trainable parameter; " + zsrc));
    const U mb = static_cast<U>(R.master_bytes);
    U master   = sharded(mul(trainable_dense, mb), mul(trainable_expert, mb), z1);
    st.opt     = optimizer_state(in.optimizer, train, R.state_bytes);
    const double f =
        trainable ? static_cast<double>(trainable_expert) / static_cast<double>(trainable) : 0.0;
    const U oe     = static_cast<U>(std::llround(static_cast<double>(st.opt.total_bytes) * f));
    U opt          = sharded(st.opt.total_bytes - oe, oe, z1);
    const bool off = p.offload == Offload::optimizer;
    if (off) {
      st.host = add(master, opt);
      master = opt = 0;
    }
    st.rows.rows.push_back(
        row("master_bytes", "fp32 master weights", master,
            off ? "offloaded to host" : (z1 ? "trainable · 4 / S" : "trainable · 4"),
            fmt::format("{} · {}{}", trainable, mb, z1 ? fmt::format(" / {}", S) : ""),
            "Micikevicius et al. 2018, Sec. 3.1; " + zsrc));
    st.rows.rows.push_back(
        row("optimizer_bytes", std::string("optimizer states (") + to_string(in.optimizer) + ")",
            opt, off ? "offloaded to host" : (z1 ? "state / S" : "state"),
            fmt::format("{}{}", st.opt.total_bytes, z1 ? fmt::format(" / {}", S) : ""),
            "see optimizer rows; " + zsrc));

    // Activations: the stage's layers for each in-flight micro-batch; outside-layer tensors
    // (embedding output on the first stage, final norm / logits / loss on the last).
    const double flight = first ? r.in_flight : 1.0;
    const U layer_act   = add(mul(static_cast<U>(sp.dense_layers), act.layer_bytes),
                              mul(static_cast<U>(sp.moe_layers), act.moe_layer_bytes));
    // Outside-layer tensors: embedding side on the first stage, head side on the last; the
    // recompute peak (one layer live while recomputed) once on every stage.
    const U first_outside = sp.embedding_saves ? act.embedding_bytes : 0,
            last_outside = act.head_bytes, recompute_peak = act.recompute_peak_bytes;
    const U act_here =
        add(static_cast<U>(std::ceil(static_cast<double>(layer_act) * flight)),
            first ? static_cast<U>(std::ceil(static_cast<double>(first_outside) * flight)) : 0);
    const U act_total = add(act_here, recompute_peak);
    st.rows.rows.push_back(row(
        "activations_bytes", "activations", act_total,
        "(dense layers · A + moe layers · A_moe + embedding outputs) · in-flight + recompute peak",
        fmt::format("({} · {} + {} · {} + {}) · {:g} + {}", sp.dense_layers, act.layer_bytes,
                    sp.moe_layers, act.moe_layer_bytes, first ? first_outside : 0, flight,
                    recompute_peak),
        "activation model (activations.hpp); in-flight: Narayanan et al. 2021, Korthikanti et al. "
        "2022 Sec. 4.2.3"));
    // A trained vision tower saves its layers' activations for each image of each in-flight
    // micro-batch on the first stage; a frozen one runs without autograd and saves nothing.
    if (m.vision.present() && in.images > 0) {
      const ImageCost ic = image_cost(m, in.image_size);
      const double per   = in.freeze_towers
                               ? 0.0
                               : ic.activation_elements * static_cast<double>(R.activation_bytes) *
                                   static_cast<double>(in.images) *
                                   static_cast<double>(in.workload.micro_batch);
      const U v          = first ? static_cast<U>(std::ceil(per * flight)) : 0;
      st.rows.rows.push_back(
          row("tower_activations_bytes", "vision tower activations", v,
              in.freeze_towers ? "0 (towers frozen: no autograd graph)"
                               : "images · b · tower elements per image · a · in-flight",
              fmt::format("{} · {} · {:.0f} · {} · {:g}", in.images, in.workload.micro_batch,
                          ic.activation_elements, R.activation_bytes, first ? flight : 0.0),
              ic.rows.find("activation_elements")->derivation.source));
    }
    st.rows.rows.push_back(row("logits_bytes", "logits and loss buffers", last ? last_outside : 0,
                               "final norm, logits, loss of one micro-batch",
                               fmt::format("{}", last ? last_outside : 0),
                               "activation model, outside-layer rows"));
    // Communication buffers.
    U comm = 0;
    std::string cf, cs;
    if (z3) {
      comm = add(mul(mul(2, sp.layer_elems), wb), mul(sp.layer_elems, gb));
      cf   = "2 · layer params · w + layer params · g";
      cs   = fmt::format("2 · {} · {} + {} · {}", sp.layer_elems, wb, sp.layer_elems, gb);
    } else if (p.dp > 1) {
      comm = in.ddp_bucket_bytes;
      cf   = "one gradient bucket (25 MiB)";
      cs   = fmt::format("{}", comm);
    }
    st.rows.rows.push_back(row(
        "communication_bytes", "communication buffers", comm,
        cf.empty() ? "0 (no data parallelism)" : cf, cs.empty() ? "0" : cs,
        z3 ? "assumption: the current and the prefetched layer gathered, one layer of unsharded "
             "gradients before reduce-scatter (FSDP per-layer wrapping)"
           : "assumption: PyTorch DDP bucket_cap_mb = 25 with gradient_as_bucket_view"));
    st.rows.rows.push_back(row("overhead_bytes", "runtime overhead (CUDA context, workspaces)",
                               in.overhead_bytes, "assumption (--overhead)",
                               fmt::format("{}", in.overhead_bytes), "assumption, overridable"));
    for (const auto& x : st.rows.rows) st.total = add(st.total, x.value);
    return st;
  };

  const I per_stage = L / p.pp;
  Stage chosen;
  if (p.pp == 1) {
    chosen              = build("all", {0, L}, true, true);
    r.first_stage_bytes = r.last_stage_bytes = chosen.total;
  } else {
    Stage a             = build("first", {0, per_stage}, true, false);
    Stage b             = build("last", {L - per_stage, L}, false, true);
    r.first_stage_bytes = a.total;
    r.last_stage_bytes  = b.total;
    chosen              = a.total >= b.total ? std::move(a) : std::move(b);
  }
  r.stage             = chosen.name;
  r.rows              = chosen.rows;
  r.total_bytes       = chosen.total;
  r.host_bytes        = chosen.host;
  r.params_on_gpu     = chosen.params;
  r.optimizer         = chosen.opt;
  ParamCount adapters = 0;
  for (const auto& a : r.adapters) adapters += a.params;
  if (lora)
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
  r.notes.push_back(r.stage == "all"
                        ? std::string("no pipeline parallelism: every GPU holds all layers")
                        : fmt::format("most loaded GPU: {} pipeline stage ({}: {} B, "
                                      "{}: {} B)",
                                      r.stage, "first", r.first_stage_bytes, "last",
                                      r.last_stage_bytes));
  if (R.master_bytes > 0 && in.grad_bytes == 0)
    r.notes.push_back(
        "gradients accumulated in fp32 (mixed-precision default); --grad-dtype bf16 "
        "gives ZeRO's 2 + 2 + 12 = 16 bytes/parameter");
  if (p.pp > 1 && r.micro_batches < p.pp)
    r.notes.push_back(
        fmt::format("only {} micro-batch(es) per step for {} pipeline stages: the "
                    "pipeline is mostly idle; raise --global-batch",
                    r.micro_batches, p.pp));
  if (p.offload == Offload::optimizer)
    r.notes.push_back("master weights and optimizer states offloaded to host memory");
  if (in.finetune.mode == Finetune::qlora && in.optimizer == Optimizer::adam8bit)
    r.notes.push_back("paged 8-bit AdamW counted as resident on the GPU (worst case)");
  return r;
}

std::vector<SeedHeuristic> seed_heuristics(const ModelSpec& m, ParamCount n, std::int64_t b,
                                           std::int64_t s) {
  std::vector<SeedHeuristic> out;
  const U N = n, B = static_cast<U>(b), T = static_cast<U>(s), d = static_cast<U>(m.n_embd),
          L = static_cast<U>(m.n_layer), a = static_cast<U>(m.n_head);
  {
    SeedHeuristic h;
    h.source = "seed 002 (alpha = 5 heuristic)";
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
