// Activation memory: the tensors one transformer layer saves for backward, listed one row per
// tensor kind, for two conventions (activations.hpp).
//
// Legend (as activations.hpp): b micro-batch, s sequence length on this rank (s/c with context
// parallelism), T = b*s tokens, h hidden size, a query heads, k kv heads, d head width,
// f MLP inner width, E experts, e experts per token, t tensor-parallel ranks, p bytes per
// activation element, m bytes per dropout-mask element, V vocabulary.
//
// Sharding: "tp" rows are the attention/MLP interior, split across the t ranks by Megatron's
// column/row-parallel linears (Shoeybi et al. 2019, Sec. 3); "sp" rows (norm inputs, dropout
// masks, the replicated inputs of the first linears) are split only with sequence parallelism
// (Korthikanti et al. 2022, Sec. 4.2.2); the rest is replicated.
#include "sizeup/activations.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using U = std::uint64_t;

// Overflow of a byte count is reported against the workload size that drives it.
constexpr const char* kOverflowField = "--batch";

constexpr const char* kKorthikanti =
    "Korthikanti et al. 2022, Sec. 4.1 and Table 2 (16-bit activations, 1-byte dropout masks)";
constexpr const char* kTorch     = "PyTorch eager autograd (tools/autograd/derivatives.yaml)";
constexpr const char* kLinear    = "PyTorch: linear/addmm saves its input for the weight gradient";
constexpr const char* kLayerNorm = "PyTorch native_layer_norm saves input, mean and rstd";
constexpr const char* kRmsNorm =
    "HF LlamaRMSNorm in PyTorch: fp32 upcast; pow saves x, mean saves x^2, rsqrt saves its "
    "result, the weight multiply saves the normalised x";
constexpr const char* kDropout =
    "PyTorch dropout: CUDA native_dropout saves a bool mask (1 byte); the CPU kernel saves the "
    "scaled noise tensor (p bytes)";
constexpr const char* kFlash =
    "Dao et al. 2022, FlashAttention, Alg. 2: saves Q, K, V, output and the fp32 logsumexp";
constexpr const char* kCheckpoint =
    "torch.utils.checkpoint / Megatron full recompute: only the layer input is kept (Chen et al. "
    "2016, Korthikanti et al. 2022 Sec. 5)";

enum class Shard { none, tp, sp };  // replicated; split by t; split by t with sequence parallel

struct Factor {
  std::string sym;
  U value;
};

struct Ctx {
  U b = 0, s = 0, s_full = 0, h = 0, a = 0, kv = 0, dq = 0, dv = 0, p = 0, mask = 0, stat = 0;
  U t = 1, V = 0, E = 0, e = 0;
  bool sp = false;
  std::string s_sym;  // "s" or "s/c"
  ActivationConvention conv = ActivationConvention::pytorch;
  bool torch() const { return conv == ActivationConvention::pytorch; }
};

std::string join(const std::vector<Factor>& fs, bool syms) {
  std::string out;
  for (const auto& f : fs) {
    if (!out.empty()) out += " * ";
    out += syms ? f.sym : std::to_string(f.value);
  }
  return out;
}

class Rows {
 public:
  explicit Rows(const Ctx& c) : c_(c) {}

  // Adds a row whose value is the product of the factors, divided (rounded up) by t when the
  // shard applies.
  void add(const std::string& key, const std::string& label, const std::vector<Factor>& fs,
           Shard shard, const std::string& source) {
    U prod = 1;
    for (const auto& f : fs) prod = checked_mul(prod, f.value, kOverflowField);
    const bool split = shard == Shard::tp || (shard == Shard::sp && c_.sp);
    const U div      = split ? c_.t : 1;
    const U value    = prod / div + (prod % div != 0 ? 1 : 0);
    Derivation d{join(fs, true), join(fs, false), source};
    if (split) {
      d.formula += " / t";
      d.substituted += " / " + std::to_string(c_.t);
    }
    out.rows.push_back({key, label, value, d});
  }

  Breakdown<ByteCount> out;

 private:
  const Ctx& c_;
};

U sum(const Breakdown<ByteCount>& b) {
  U total = 0;
  for (const auto& r : b.rows) total = checked_add(total, r.value, kOverflowField);
  return total;
}

// Norm rows for n norms (n = 2 in a pre-norm layer).
void norm_rows(Rows& r, const Ctx& c, NormKind kind, U n, const std::string& prefix,
               const std::string& what) {
  if (n == 0) return;
  const Factor N{"n_norm", n}, b{"b", c.b}, s{c.s_sym, c.s}, h{"h", c.h}, p{"p", c.p};
  if (!c.torch()) {
    // Korthikanti: "LayerNorm stores its input with size 2sbh" (statistics not counted).
    r.add(prefix + "input", what + " input", {N, b, s, h, p}, Shard::sp, kKorthikanti);
    return;
  }
  if (kind == NormKind::layernorm) {
    r.add(prefix + "input", what + " input", {N, b, s, h, p}, Shard::sp, kLayerNorm);
    r.add(prefix + "mean_rstd", what + " mean and rstd (one each per token)",
          {N, {"2", 2}, b, s, {c.stat == 4 ? "4 (fp32)" : "p", c.stat}}, Shard::sp, kLayerNorm);
    return;
  }
  r.add(prefix + "input_fp32", what + " input upcast to fp32 (the input itself when p = 4)",
        {N, b, s, h, {"4", 4}}, Shard::sp, kRmsNorm);
  r.add(prefix + "squared", what + " x^2 in fp32 (kept by mean)", {N, b, s, h, {"4", 4}}, Shard::sp,
        kRmsNorm);
  r.add(prefix + "rstd", what + " rstd in fp32 (one per token)", {N, b, s, {"4", 4}}, Shard::sp,
        kRmsNorm);
  r.add(prefix + "normalized", what + " normalised x in the activation dtype", {N, b, s, h, p},
        Shard::sp, kRmsNorm);
}

void attention_rows(Rows& r, const Ctx& c, const ModelSpec& m, const ActivationOptions& o) {
  const bool flash      = o.attention == AttentionImpl::flash;
  const bool drop_s2    = o.recompute == Recompute::selective;  // core attention recomputed
  const bool dropout    = o.dropout > 0;
  const std::string src = c.torch() ? std::string(kTorch) : kKorthikanti;
  const Factor b{"b", c.b}, s{c.s_sym, c.s}, h{"h", c.h}, p{"p", c.p}, a{"a", c.a};
  const Factor dq{"d", c.dq}, dv{m.attention == AttentionKind::mla ? "d_v" : "d", c.dv};
  // Eager PyTorch (HF repeat_kv) expands K and V to all query heads before the matmuls, so
  // the saved copies have a heads; flash attention and Korthikanti keep k heads. Exceptions
  // (measured): with one kv head, expand+reshape is a view (stride 0 over heads); the copy is
  // then made only by matmul folding b and heads into one batch dimension, which is a view
  // too when b = 1, and happens inside the recomputed region with selective recompute (the
  // checkpoint keeps the view, whose storage is the k-head projection).
  const bool one_kv    = c.kv == 1 && c.a > 1;
  const bool expand_kv = c.torch() && !flash && !(one_kv && (c.b == 1 || drop_s2));
  const Factor kh      = expand_kv ? a : Factor{"k", c.kv};

  r.add("qkv_input", "q/k/v projection input (norm output, shared by the three)", {b, s, h, p},
        Shard::sp, c.torch() ? kLinear : kKorthikanti);
  if (c.torch() && m.positions == PositionKind::rope) {
    const U rd = m.rope_dims > 0 ? static_cast<U>(m.rope_dims) : c.dq;
    r.add("rope_cos_sin", "RoPE cos and sin tables (kept by the rotations of q and k)",
          {{"2", 2}, s, {"d_rope", rd}, p}, Shard::none, kTorch);
  }
  r.add("q", "Q (after RoPE if any), kept for Q K^T", {b, s, a, dq, p}, Shard::tp, src);
  r.add(
      "k",
      expand_kv ? "K expanded to all query heads (repeat_kv), kept for Q K^T" : "K, kept for Q K^T",
      {b, s, kh, dq, p}, Shard::tp, src);
  r.add("v", expand_kv ? "V expanded to all query heads (repeat_kv), kept for P V" : "V",
        {b, s, kh, dv, p}, Shard::tp, src);
  const Factor sk{"s_kv", c.s_full};  // keys seen by each query (whole sequence)
  if (flash) {
    r.add("attn_logsumexp", "attention logsumexp (fp32, per head and query)", {b, a, s, {"4", 4}},
          Shard::tp, kFlash);
  } else if (!drop_s2) {
    if (c.torch())
      r.add("attn_scale", "softmax scale (0-dim float64 kept by the division of the scores)",
            {{"8", 8}}, Shard::none, kTorch);
    r.add("attn_softmax", "softmax output (s x s scores per head)", {b, a, s, sk, p}, Shard::tp,
          src);
    if (dropout) {
      r.add("attn_dropout_mask", "attention-dropout mask", {b, a, s, sk, {"m", c.mask}}, Shard::tp,
            c.torch() ? kDropout : kKorthikanti);
      r.add("attn_dropout_output", "attention-dropout output (kept for P V)", {b, a, s, sk, p},
            Shard::tp, src);
    }
  }
  r.add("out_proj_input",
        flash ? "attention output (kept by flash attention and as output-projection input)"
              : "output-projection input (attention output)",
        {b, s, a, dv, p}, Shard::tp, c.torch() ? kLinear : kKorthikanti);
  if (dropout)
    r.add("attn_residual_dropout_mask", "dropout mask after attention", {b, s, h, {"m", c.mask}},
          Shard::sp, c.torch() ? kDropout : kKorthikanti);
}

// The MLP interior of width f for `tokens` rows (T for a dense MLP, routed copies for experts).
void mlp_interior_rows(Rows& r, const Ctx& c, const ModelSpec& m, const std::string& prefix,
                       const std::string& what, const std::vector<Factor>& tokens, Factor f) {
  const std::string src = c.torch() ? std::string(kTorch) : kKorthikanti;
  auto with             = [&](std::initializer_list<Factor> extra) {
    std::vector<Factor> v = tokens;
    v.insert(v.end(), extra);
    return v;
  };
  const Factor p{"p", c.p};
  if (m.mlp == MlpKind::plain) {
    r.add(prefix + "act_input", what + " " + m.activation + " input", with({f, p}), Shard::tp, src);
    r.add(prefix + "down_input", what + " down-projection input", with({f, p}), Shard::tp, src);
    return;
  }
  r.add(prefix + "gate_output", what + " gate output (" + m.activation + " input)", with({f, p}),
        Shard::tp, src);
  r.add(prefix + "act_output", what + " " + m.activation + " output (kept by the product)",
        with({f, p}), Shard::tp, src);
  r.add(prefix + "up_output", what + " up-projection output (kept by the product)", with({f, p}),
        Shard::tp, src);
  r.add(prefix + "down_input", what + " down-projection input (gate * up)", with({f, p}), Shard::tp,
        src);
}

void mlp_tail_rows(Rows& r, const Ctx& c, const ActivationOptions& o) {
  if (o.dropout > 0)
    r.add("mlp_residual_dropout_mask", "dropout mask after the MLP",
          {{"b", c.b}, {c.s_sym, c.s}, {"h", c.h}, {"m", c.mask}}, Shard::sp,
          c.torch() ? kDropout : kKorthikanti);
}

bool shares_mlp_input(const ModelSpec& m) { return m.parallel_block && m.norms_per_layer == 1; }

void dense_mlp_rows(Rows& r, const Ctx& c, const ModelSpec& m, const ActivationOptions& o) {
  const Factor b{"b", c.b}, s{c.s_sym, c.s}, h{"h", c.h}, p{"p", c.p};
  if (!shares_mlp_input(m))
    r.add("mlp_input", "MLP up/gate input (norm output)", {b, s, h, p}, Shard::sp,
          c.torch() ? kLinear : kKorthikanti);
  mlp_interior_rows(r, c, m, "mlp_", "MLP", {b, s}, {"f", static_cast<U>(m.n_ff)});
  mlp_tail_rows(r, c, o);
}

// Routed copies: dropless top-e routing gives every token e copies (T*e); with a capacity
// factor every expert has a buffer of ceil(factor*T*e/E) rows (Fedus et al. 2021, Switch
// Transformer, Sec. 2.2), E buffers in all.
U routed_rows(const Ctx& c, double capacity_factor) {
  const U te = checked_mul(checked_mul(c.b, c.s, kOverflowField), c.e, kOverflowField);
  if (capacity_factor <= 0) return te;
  const double cap =
      std::ceil(capacity_factor * static_cast<double>(te) / static_cast<double>(c.E));
  if (!(cap < 9.0e18))
    throw InputError("value too large", "--moe-capacity-factor", "expert capacity overflows");
  return checked_mul(static_cast<U>(cap), c.E, kOverflowField);
}

// Mixtral-style sparse MoE (HF MixtralSparseMoeBlock; refmodels.SparseMoE).
void moe_rows(Rows& r, const Ctx& c, const ModelSpec& m, const ActivationInput& in) {
  const Factor b{"b", c.b}, s{c.s_sym, c.s}, h{"h", c.h}, p{"p", c.p}, E{"E", c.E}, e{"e", c.e};
  const U n = routed_rows(c, in.moe_capacity_factor);
  const Factor N{in.moe_capacity_factor > 0 ? "E*capacity" : "b*s*e", n};
  if (!shares_mlp_input(m))
    r.add("mlp_input", "router and expert-dispatch input (norm output)", {b, s, h, p}, Shard::sp,
          kLinear);
  r.add("router_probs", "router softmax output", {b, s, E, p}, Shard::none, kTorch);
  r.add("router_topk_indices", "top-k expert indices (int64)", {b, s, e, {"8", 8}}, Shard::none,
        kTorch);
  r.add("router_topk_weights", "top-k routing weights (kept by the renormalisation)", {b, s, e, p},
        Shard::none, kTorch);
  r.add("router_topk_sum", "sum of the top-k weights (kept by the renormalisation)", {b, s, p},
        Shard::none, kTorch);
  r.add("expert_token_indices", "per-expert token and slot indices (two int64 per copy)",
        {N, {"16", 16}}, Shard::none, kTorch);
  r.add("expert_input", "tokens copied to each of their experts", {N, h, p}, Shard::none, kLinear);
  mlp_interior_rows(r, c, m, "expert_", "expert", {N}, {"f_e", static_cast<U>(m.n_ff_expert)});
  r.add("expert_output", "expert output (kept by the routing-weight product)", {N, h, p},
        Shard::none, kTorch);
  r.add("expert_routing_weight", "routing weight column per copy", {N, p}, Shard::none, kTorch);
  r.add("expert_weighted_output", "weighted expert output (kept by index_add)", {N, h, p},
        Shard::none, kTorch);
  if (m.n_ff_shared > 0)
    mlp_interior_rows(r, c, m, "shared_expert_", "shared expert", {b, s},
                      {"f_shared", static_cast<U>(m.n_ff_shared)});
  mlp_tail_rows(r, c, in.options);
}

Breakdown<ByteCount> layer_rows(const Ctx& c, const ModelSpec& m, const ActivationInput& in,
                                bool moe, Recompute recompute) {
  Rows r(c);
  if (recompute == Recompute::full) {
    r.add("layer_input", "layer input (checkpoint; the rest is recomputed in backward)",
          {{"b", c.b}, {c.s_sym, c.s}, {"h", c.h}, {"p", c.p}}, Shard::sp, kCheckpoint);
    return r.out;
  }
  ActivationOptions o = in.options;
  o.recompute         = recompute;
  norm_rows(r, c, m.norm, static_cast<U>(std::max<std::int64_t>(m.norms_per_layer, 0)), "norm_",
            "norm");
  attention_rows(r, c, m, o);
  if (moe)
    moe_rows(r, c, m, in);
  else
    dense_mlp_rows(r, c, m, o);
  return r.out;
}

void check_input(const ActivationInput& in) {
  if (in.micro_batch < 1) throw InputError("invalid micro-batch", "--batch", "must be >= 1");
  if (in.seq_len < 1) throw InputError("invalid sequence length", "--seq", "must be >= 1");
  if (in.activation_bytes < 1 || in.activation_bytes > 8)
    throw InputError("invalid activation dtype", "--activation-dtype",
                     "bytes per element must be 1..8");
  if (in.tp < 1) throw InputError("invalid tensor parallelism", "--tp", "must be >= 1");
  if (in.cp < 1) throw InputError("invalid context parallelism", "--cp", "must be >= 1");
  if (!(in.options.dropout >= 0 && in.options.dropout < 1))
    throw InputError("invalid dropout", "--dropout", "must be in [0, 1)");
  if (!(in.moe_capacity_factor >= 0 && std::isfinite(in.moe_capacity_factor)))
    throw InputError("invalid capacity factor", "--moe-capacity-factor", "must be >= 0");
}

Breakdown<ByteCount> outside_rows(const Ctx& c, const ModelSpec& m, const ActivationInput& in) {
  Rows r(c);
  const Factor b{"b", c.b}, s{c.s_sym, c.s}, h{"h", c.h}, p{"p", c.p}, V{"V", c.V};
  const bool dropout = in.options.dropout > 0;
  if (!c.torch()) {
    // Korthikanti Sec. 4.3: embedding dropout mask, final LayerNorm input, output-layer input
    // and the fp32 logits: (sbhL/t)(p/L + (4/L)(1 + v/h)) for one micro-batch, p = 1.
    if (dropout)
      r.add("embedding_dropout_mask", "embedding dropout mask", {b, s, h, {"1", 1}}, Shard::sp,
            kKorthikanti);
    if (m.final_norm)
      r.add("final_norm_input", "final norm input", {b, s, h, p}, Shard::sp, kKorthikanti);
    r.add("lm_head_input", "output-layer input", {b, s, h, p}, Shard::sp, kKorthikanti);
    r.add("logits_fp32", "logits in fp32 for the loss", {b, s, V, {"4", 4}}, Shard::tp,
          kKorthikanti);
  } else {
    r.add("token_ids", "token ids (int64, kept by the embedding backward)", {b, s, {"8", 8}},
          Shard::none, kTorch);
    if (m.positions == PositionKind::learned)
      r.add("position_ids", "position ids (int64, kept by the position embedding)", {s, {"8", 8}},
            Shard::none, kTorch);
    if (dropout)
      r.add("embedding_dropout_mask", "embedding dropout mask", {b, s, h, {"m", c.mask}}, Shard::sp,
            kDropout);
    if (m.embedding_norm) norm_rows(r, c, m.norm, 1, "embedding_norm_", "embedding norm");
    if (m.final_norm) norm_rows(r, c, m.norm, 1, "final_norm_", "final norm");
    r.add("lm_head_input", "output-head input", {b, s, h, p}, Shard::sp, kLinear);
    r.add("logits", "logits in the activation dtype (model output, live until the loss backward)",
          {b, s, V, p}, Shard::tp, "the model output; not saved by autograd");
    r.add("loss_log_probs",
          "log-softmax of the fp32-upcast logits (HF casts logits.float() before cross_entropy)",
          {b, s, V, {"4", 4}}, Shard::tp, "PyTorch cross_entropy = log_softmax + nll_loss");
    r.add("loss_targets", "shifted labels (int64, kept by nll_loss)", {b, s, {"8", 8}}, Shard::none,
          "PyTorch nll_loss saves target");
    r.add("loss_total_weight", "nll_loss total weight (fp32 scalar)", {{"4", 4}}, Shard::none,
          "PyTorch nll_loss saves total_weight");
  }
  return r.out;
}

}  // namespace

static ActivationReport build_report(const ModelSpec& m, const ActivationInput& in) {
  validate(m);
  check_input(in);
  if (m.has_recurrent_layers())
    throw InputError("unsupported model", "mixer_layers",
                     "saved activations of recurrent (Mamba, DeltaNet) layers are not modelled "
                     "yet; params, infer and flops count them");
  // Megatron splits whole heads across ranks (Shoeybi et al. 2019, Sec. 3); a split of 12 heads
  // over 5 ranks has no layout, and its bytes would be fractions rounded per row. Fewer KV heads
  // than ranks are replicated, so then the KV heads must divide the ranks instead.
  const std::int64_t K = m.n_head_kv;
  if (m.n_head % in.tp != 0 || (K >= in.tp ? K % in.tp != 0 : in.tp % K != 0))
    throw InputError("indivisible layout", "--tp",
                     fmt::format("--tp {} must divide heads {}, and divide or be a multiple of kv "
                                 "heads {}",
                                 in.tp, m.n_head, K));
  Ctx c;
  c.conv   = in.convention;
  c.b      = static_cast<U>(in.micro_batch);
  c.s      = static_cast<U>((in.seq_len + in.cp - 1) / in.cp);
  c.s_full = static_cast<U>(in.seq_len);
  c.s_sym  = in.cp > 1 ? "s/c" : "s";
  c.h      = static_cast<U>(m.n_embd);
  c.a      = static_cast<U>(m.n_head);
  c.kv     = static_cast<U>(m.attention == AttentionKind::mla ? m.n_head : m.n_head_kv);
  c.dq = static_cast<U>(m.attention == AttentionKind::mla ? m.qk_nope_head_dim + m.qk_rope_head_dim
                                                          : m.head_dim);
  c.dv = static_cast<U>(m.attention == AttentionKind::mla ? m.v_head_dim : m.head_dim);
  c.p  = static_cast<U>(in.activation_bytes);
  const bool cpu = in.cpu_kernels && c.torch();
  c.mask         = cpu ? c.p : 1;
  c.stat         = cpu ? c.p : 4;
  c.t            = static_cast<U>(in.tp);
  c.sp           = in.sequence_parallel && in.tp > 1;
  c.V            = static_cast<U>(m.n_vocab);
  c.E            = static_cast<U>(std::max<std::int64_t>(m.n_expert, 0));
  c.e            = static_cast<U>(std::max<std::int64_t>(m.n_expert_used, 0));

  const std::int64_t layers = m.n_layer + (m.encoder_decoder ? m.n_layer_dec : 0);
  ActivationReport rep;
  rep.n_moe_layers   = m.is_moe() ? m.n_moe_layers() : 0;
  rep.n_dense_layers = layers - rep.n_moe_layers;
  const Recompute rc = in.options.recompute;

  rep.per_layer   = layer_rows(c, m, in, false, rc);
  rep.layer_bytes = sum(rep.per_layer);
  if (rep.n_moe_layers > 0) {
    rep.moe_layer       = layer_rows(c, m, in, true, rc);
    rep.moe_layer_bytes = sum(rep.moe_layer);
  }
  rep.outside_layers = outside_rows(c, m, in);
  if (rc == Recompute::full) {
    // While layer i is recomputed in backward, its full set of saved tensors is live again.
    U peak            = 0;
    std::string which = "dense";
    if (rep.n_dense_layers > 0) peak = sum(layer_rows(c, m, in, false, Recompute::none));
    if (rep.n_moe_layers > 0) {
      const U moe = sum(layer_rows(c, m, in, true, Recompute::none));
      if (moe > peak) peak = moe, which = "MoE";
    }
    rep.outside_layers.rows.push_back(
        {"recompute_peak",
         "one layer's saved tensors, live while it is recomputed in backward",
         peak,
         {"max over layer kinds of the no-recompute layer bytes",
          fmt::format("{} layer: {}", which, peak), kCheckpoint}});
  }
  rep.outside_bytes = sum(rep.outside_layers);
  for (const auto& row : rep.outside_layers.rows) {
    const bool embedding =
        row.key == "token_ids" || row.key == "position_ids" || row.key.rfind("embedding_", 0) == 0;
    if (row.key == "recompute_peak")
      rep.recompute_peak_bytes = row.value;
    else if (embedding)
      rep.embedding_bytes += row.value;
    else
      rep.head_bytes += row.value;
  }
  U total = checked_mul(rep.layer_bytes, static_cast<U>(rep.n_dense_layers), kOverflowField);
  total   = checked_add(
        total, checked_mul(rep.moe_layer_bytes, static_cast<U>(rep.n_moe_layers), kOverflowField),
        kOverflowField);
  rep.total_bytes = checked_add(total, rep.outside_bytes, kOverflowField);
  return rep;
}

// A 64-bit overflow is raised against --batch; the larger of batch and sequence drives it.
ActivationReport activation_memory(const ModelSpec& m, const ActivationInput& in) {
  try {
    return build_report(m, in);
  } catch (const InputError& e) {
    const bool overflow = e.field() == kOverflowField && e.reason() == "overflows 64 bits";
    if (!overflow || in.seq_len <= in.micro_batch) throw;
    throw InputError(e.subject(), "--seq", e.reason());
  }
}

}  // namespace sizeup
