#include "sizeup/step_time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "sizeup/error.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;
double D(I v) { return static_cast<double>(v); }

bool is_layer_tensor(const Tensor& t) { return t.name.find(".*.") != std::string::npos; }

// Forward and backward seconds of one weight product Y[T x n] = X[T x k] · W^T on one rank;
// backward: dX = dY · W (T x k x n) and dW = dY^T · X (n x k x T).
struct FwdBwd {
  double fwd = 0, bwd = 0;
};
FwdBwd weight_gemm(const DeviceModel& dev, double T, double n, double k, double count,
                   double elem) {
  FwdBwd r;
  r.fwd = gemm_seconds(dev, T, n, k, count, elem);
  r.bwd = gemm_seconds(dev, T, k, n, count, elem) + gemm_seconds(dev, n, k, T, count, elem);
  return r;
}

// (n, k) of a weight {out, in} on one rank of t tensor- and e expert-parallel ranks.
void local_nk(const StepContext::Gemm& g, double t, double& n, double& k) {
  n = g.out;
  k = g.in;
  if (g.split == 1 || g.split == 3) n /= t;
  if (g.split == 2 || g.split == 4) k /= t;
}

std::string num(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

StepContext step_context(const ModelSpec& m, const TrainInput& in, const DeviceModel& device) {
  StepContext c;
  c.device          = device;
  c.d               = D(m.n_embd);
  const bool mla    = m.attention == AttentionKind::mla;
  c.n_head          = D(m.n_head);
  c.head_dim_qk     = mla ? D(m.qk_nope_head_dim + m.qk_rope_head_dim) : D(m.head_dim);
  c.head_dim_v      = mla ? D(m.v_head_dim) : D(m.head_dim);
  c.q_width         = c.n_head * c.head_dim_qk;
  c.kv_width        = mla ? D(m.kv_lora_rank) : D(m.kv_width());
  c.gated           = m.mlp == MlpKind::gated;
  c.causal          = m.causal;
  c.rope            = m.positions == PositionKind::rope;
  c.n_layer         = D(m.n_layer + (m.encoder_decoder ? m.n_layer_dec : 0));
  c.n_moe_layers    = D(m.n_moe_layers());
  c.n_expert        = D(m.n_expert);
  c.n_expert_used   = D(m.n_expert_used);
  c.mlp_act_width   = D(m.n_ff);
  c.norms_per_layer = D(m.norms_per_layer);
  c.seq             = D(in.workload.seq_len);
  c.tied_head       = m.tied_head;
  for (const Tensor& t : tensor_table(m)) {
    const double elems  = static_cast<double>(t.elements_per_layer());
    const bool tp_split = t.split == Split::column || t.split == Split::row;
    if (!is_layer_tensor(t)) {
      if (t.component == Component::token_embedding) c.embed_params += elems;
      if (t.component == Component::output_head && !t.tied) c.head_params += elems;
      if (t.component == Component::output_head) {
        c.head_out = D(t.shape[0]);
        c.head_in  = D(t.shape.back());
      }
      continue;
    }
    switch (t.component) {
      case Component::attention:
        (tp_split ? c.attn_params_tp : c.attn_params_rep) += elems;
        break;
      case Component::mlp:
        (tp_split ? c.mlp_params_tp : c.attn_params_rep) += elems;
        break;
      case Component::routed_experts:
        c.moe_params_tp += elems;
        break;
      case Component::shared_experts:
      case Component::router:
        c.moe_params_rep += tp_split ? elems / 1.0 : elems;  // shared experts: see moe below
        break;
      default:
        c.attn_params_rep += elems;
    }
    if (!t.is_matmul || t.shape.size() < 2) continue;
    StepContext::Gemm g;
    if (t.split == Split::expert) {
      g.out   = D(t.shape[1]);
      g.in    = D(t.shape[2]);
      g.split = t.module == "down_proj" ? 4 : 3;
      c.moe_gemms.push_back(g);
      continue;
    }
    g.out   = D(t.shape[0]);
    g.in    = D(t.shape[1]);
    g.split = t.split == Split::column ? 1 : (t.split == Split::row ? 2 : 0);
    if (t.component == Component::attention)
      c.attn_gemms.push_back(g);
    else if (t.component == Component::mlp)
      c.mlp_gemms.push_back(g);
    else
      c.moe_gemms.push_back(g);  // router, shared experts
  }
  if (c.head_out == 0) {  // no head tensor listed (tied): the embedding's shape
    c.head_out = D(m.n_vocab);
    c.head_in  = c.d;
  }
  FlopsInput fi;
  fi.seq_len                            = in.workload.seq_len;
  fi.batch                              = 1;
  fi.recompute                          = Recompute::full;
  const FlopsReport full                = flops(m, fi);
  fi.recompute                          = Recompute::selective;
  const FlopsReport sel                 = flops(m, fi);
  c.model_flops_per_token               = full.training_per_token;
  c.recompute_full_flops_per_token      = full.recompute_per_token;
  c.recompute_selective_flops_per_token = sel.recompute_per_token;
  const TrainRecipe r                   = train_recipe(in);
  c.weight_bytes                        = r.weight_bytes;
  c.grad_bytes                          = r.gradient_bytes;
  c.act_bytes                           = r.activation_bytes;
  c.master_bytes                        = r.master_bytes;
  c.fp8                                 = in.precision == Precision::fp8;
  // Optimizer states per parameter, in the state dtype (Adam-type: 2, momentum SGD: 1).
  switch (in.optimizer) {
    case Optimizer::adamw:
    case Optimizer::adafactor:
      c.optimizer_bytes_per_param = 2.0 * r.state_bytes;
      break;
    case Optimizer::adam8bit:
      c.optimizer_bytes_per_param = 2.0;
      break;
    case Optimizer::sgd:
      c.optimizer_bytes_per_param = 0.0;
      break;
    case Optimizer::sgd_momentum:
    case Optimizer::lion:
      c.optimizer_bytes_per_param = 1.0 * r.state_bytes;
      break;
  }
  c.attention = in.activation.attention;
  c.dropout   = in.activation.dropout;
  return c;
}

Layout layout_of(const TrainInput& in) {
  const auto& p = in.plan;
  Layout l;
  l.dp    = p.dp;
  l.tp    = p.tp;
  l.pp    = p.pp;
  l.v     = p.pp > 1 ? p.interleave : 1;
  l.ep    = p.ep;
  l.cp    = p.cp;
  l.zero  = effective_zero(p);
  l.shard = p.dp;
  if (p.fsdp == FsdpMode::hybrid)
    l.shard = std::clamp<I>(in.gpus_per_node / std::max<I>(1, p.tp * p.cp), 1, p.dp);
  l.sp    = p.sequence_parallel;
  l.micro = in.workload.micro_batch;
  const I global =
      in.workload.global_batch > 0 ? in.workload.global_batch : in.workload.micro_batch * p.dp;
  l.micro_batches = std::max<I>(1, global / (in.workload.micro_batch * p.dp));
  l.recompute     = in.activation.recompute;
  l.offload       = p.offload == Offload::optimizer;
  return l;
}

MicroCosts micro_costs(const StepContext& c, const Layout& l) {
  const DeviceModel& dev = c.device;
  MicroCosts r;
  const double t = D(l.tp), cp = D(l.cp), e = D(l.ep), b = D(l.micro);
  const double T    = b * c.seq / cp;  // tokens of one micro-batch on one rank
  const double p    = c.act_bytes;
  const double elem = c.fp8 ? 1.0 : p;  // GEMM operand bytes
  // Matmuls of a dense layer (attention projections + MLP).
  double gf = 0, gb = 0;
  for (const auto* list : {&c.attn_gemms, &c.mlp_gemms})
    for (const auto& g : *list) {
      double n = 0, k = 0;
      local_nk(g, t, n, k);
      const FwdBwd x = weight_gemm(dev, T, n, k, 1, elem);
      gf += x.fwd;
      gb += x.bwd;
    }
  // Attention core of one layer: heads / t on this rank, T queries against the sequence's keys.
  const double heads = c.n_head / t, S = c.seq, Tq = c.seq / cp;
  double af = 0, ab = 0, smax_f = 0, smax_b = 0;
  if (c.attention == AttentionImpl::flash) {
    // Fused kernel skips fully masked blocks of a causal mask: half the score work.
    const double fl =
        2.0 * heads * b * Tq * S * (c.head_dim_qk + c.head_dim_v) * (c.causal ? 0.5 : 1.0);
    af = attention_seconds(dev, fl);
    ab = attention_seconds(dev, 2.5 * fl);  // FA-2 backward: 5 products vs 2 (Dao 2023, Sec. 3)
  } else {
    const double cnt = b * heads;
    af               = gemm_seconds(dev, Tq, S, c.head_dim_qk, cnt, p) +
         gemm_seconds(dev, Tq, c.head_dim_v, S, cnt, p);
    ab = gemm_seconds(dev, Tq, c.head_dim_qk, S, cnt, p) +
         gemm_seconds(dev, S, c.head_dim_qk, Tq, cnt, p) +
         gemm_seconds(dev, Tq, S, c.head_dim_v, cnt, p) +
         gemm_seconds(dev, S, c.head_dim_v, Tq, cnt, p);
    // Scores materialised: fused scale-mask-softmax reads and writes p bytes per score;
    // attention dropout reads and writes them and a 1-byte mask; backward 3p (+ 2p + 1).
    const double scores = b * heads * Tq * S;
    const double drop   = c.dropout > 0 ? 1.0 : 0.0;
    smax_f              = memory_seconds(dev, scores * (2 * p + drop * (2 * p + 1)));
    smax_b              = memory_seconds(dev, scores * (3 * p + drop * (2 * p + 1)));
  }
  // Memory-bound kernels per layer: norms, residual adds with dropout, the MLP activation,
  // rotary embeddings, fp8 casts. Without sequence parallelism every tensor-parallel rank
  // repeats the norm/residual work on the full hidden state (Korthikanti et al. 2022, Sec. 4.2.2).
  const double de   = c.d / (l.sp ? t : 1.0);
  const double drop = c.dropout > 0 ? 1.0 : 0.0;
  const double fw   = c.mlp_act_width / t;
  double mem_f      = T * (c.norms_per_layer * 2 * p * de + 2 * (3 * p + drop) * de);
  double mem_b      = T * (c.norms_per_layer * 3 * p * de + 2 * (2 * p + drop) * de);
  mem_f += T * fw * (c.gated ? 3 * p : 2 * p);
  mem_b += T * fw * (c.gated ? 5 * p : 3 * p);
  if (c.rope) {
    mem_f += T * 2 * p * (c.q_width + c.kv_width) / t;
    mem_b += T * 2 * p * (c.q_width + c.kv_width) / t;
  }
  if (c.fp8) {  // cast of each GEMM input to fp8 (read p, write 1); backward casts the grads too
    const double casted = T * (2 * c.d + c.q_width / t + fw);
    mem_f += casted * (p + 1);
    mem_b += 2 * casted * (p + 1);
  }
  const double mf = memory_seconds(dev, mem_f) + smax_f;
  const double mb = memory_seconds(dev, mem_b) + smax_b;
  r.gemm_fwd      = gf;
  r.attn_fwd      = af;
  r.mem_fwd       = mf;
  r.dense_fwd     = gf + af + mf;
  r.dense_bwd     = gb + ab + mb;
  // MoE layer: the dense layer's attention part, then experts on T·k routed tokens.
  if (c.n_moe_layers > 0) {
    double ef = 0, eb = 0;
    double attn_gf = 0, attn_gb = 0;
    for (const auto& g : c.attn_gemms) {
      double n = 0, k = 0;
      local_nk(g, t, n, k);
      const FwdBwd x = weight_gemm(dev, T, n, k, 1, elem);
      attn_gf += x.fwd;
      attn_gb += x.bwd;
    }
    const double local_experts = c.n_expert / e;
    const double per_expert    = T * c.n_expert_used * e / c.n_expert;  // balanced routing
    for (const auto& g : c.moe_gemms) {
      double n = 0, k = 0;
      local_nk(g, t, n, k);
      const bool expert = g.split >= 3;
      const FwdBwd x =
          weight_gemm(dev, expert ? per_expert : T, n, k, expert ? local_experts : 1, elem);
      ef += x.fwd;
      eb += x.bwd;
    }
    // Permutation of routed tokens (gather/scatter of T·k·d, read + write) in and out.
    const double perm = T * c.n_expert_used * c.d * 2 * p * 2;
    r.moe_fwd         = attn_gf + ef + af + mf + memory_seconds(dev, perm);
    r.moe_bwd         = attn_gb + eb + ab + mb + memory_seconds(dev, perm);
  }
  switch (l.recompute) {
    case Recompute::full:
      r.dense_recompute = r.dense_fwd;
      r.moe_recompute   = r.moe_fwd;
      break;
    case Recompute::selective:
      r.dense_recompute = r.moe_recompute = af + smax_f;
      break;
    case Recompute::none:
      break;
  }
  // Tensor parallelism: 2 all-reduces of T·d·p forward and 2 backward (+2 for a full
  // recompute); sequence parallelism turns each into reduce-scatter + all-gather (same volume).
  if (l.tp > 1) {
    const GroupPlacement g = place_group(l.tp, 1, dev.domain_gpus);
    const double bytes     = T * c.d * p;
    const double one       = l.sp ? collective_seconds(dev, Collective::reduce_scatter, bytes, g) +
                                  collective_seconds(dev, Collective::all_gather, bytes, g)
                                  : collective_seconds(dev, Collective::all_reduce, bytes, g);
    const double n         = l.recompute == Recompute::full ? 6.0 : 4.0;
    r.tp_comm              = n * one;
    // Overlapped (userbuffers): hidden behind the layer's GEMMs, only the excess exposed.
    if (l.tp_overlap) r.tp_comm = std::max(0.0, r.tp_comm - (gf + gb));
  }
  // Context parallelism: (c - 1) ring steps of this rank's K and V block forward, K, V and
  // their gradients backward, overlapped with the attention of the block in flight.
  if (l.cp > 1) {
    const GroupPlacement g = place_group(l.cp, l.tp, dev.domain_gpus);
    const double kv        = T * 2 * c.kv_width / t * p;
    const double step =
        collective_seconds(dev, Collective::p2p, kv, GroupPlacement{2, g.local >= 2 ? 2 : 1});
    const double fwd = (cp - 1) * step;
    r.cp_comm        = std::max(0.0, fwd - af) + std::max(0.0, 2 * fwd - ab);
    if (l.recompute != Recompute::none) r.cp_comm += std::max(0.0, fwd - af);
  }
  // Expert parallelism: dispatch and combine all-to-alls of T·k·d, forward and backward.
  if (l.ep > 1 && c.n_moe_layers > 0) {
    const GroupPlacement g = place_group(l.ep, l.tp * l.cp, dev.domain_gpus);
    const double bytes     = T * c.n_expert_used * c.d * p;
    const double n         = l.recompute == Recompute::full ? 6.0 : 4.0;
    r.ep_comm              = n * collective_seconds(dev, Collective::all_to_all, bytes, g);
  }
  // Head: logits GEMM and a vocab-parallel cross-entropy (logits read, fp32 softmax written,
  // the same backward); embedding: a gather forward, a scatter-add backward.
  {
    const FwdBwd h  = weight_gemm(dev, T, c.head_out / t, c.head_in, 1, p);
    const double ce = T * c.head_out / t * (p + 4);
    r.head_fwd      = h.fwd + memory_seconds(dev, ce);
    r.head_bwd      = h.bwd + memory_seconds(dev, ce);
    r.embed_fwd     = memory_seconds(dev, T * c.d * p);
    r.embed_bwd     = memory_seconds(dev, T * c.d * 4);
    if (l.tp > 1) {  // vocab-parallel embedding: all-reduce (or reduce-scatter) of T·d
      const GroupPlacement g = place_group(l.tp, 1, dev.domain_gpus);
      r.embed_fwd += collective_seconds(
          dev, l.sp ? Collective::reduce_scatter : Collective::all_reduce, T * c.d * p, g);
    }
  }
  if (l.pp > 1) {
    // Scatter/gather: each tensor-parallel rank sends 1/t of the activation.
    const double bytes = T * c.d * p / t;
    r.p2p              = collective_seconds(dev, Collective::p2p, bytes,
                                            place_group(2, l.tp * l.cp * l.dp, dev.domain_gpus));
  }
  (void)e;
  return r;
}

void balanced_stage_layers(I layers, I p, I* out) {
  const I base = layers / p, rem = layers % p;
  for (I s = 0; s < p; ++s) out[s] = base;
  if (p == 1) {
    out[0] = layers;
    return;
  }
  I left = rem;
  for (I s = 1; s + 1 < p && left > 0; ++s, --left) ++out[s];
  if (left > 0) {
    ++out[p - 1];
    --left;
  }
  if (left > 0) ++out[0];
}

StepBreakdown compose_step(const StepContext& c, const Layout& l, const MicroCosts& mc,
                           const I* stage_layers, const StepOptions& o) {
  StepBreakdown r;
  const DeviceModel& dev = c.device;
  const I p              = l.pp;
  const double m         = D(l.micro_batches);
  const double t = D(l.tp), e = D(l.ep);
  const double fm = c.n_layer > 0 ? c.n_moe_layers / c.n_layer : 0.0;  // MoE share of layers
  // Per layer, one micro-batch.
  const double comp = (1 - fm) * (mc.dense_fwd + mc.dense_bwd) + fm * (mc.moe_fwd + mc.moe_bwd);
  const double rc   = (1 - fm) * mc.dense_recompute + fm * mc.moe_recompute;
  const double comm = mc.tp_comm + mc.cp_comm + fm * mc.ep_comm;
  const double per_layer = comp + rc + comm;
  const double v         = D(l.v);
  const double p2p       = p > 1 ? 2 * v * mc.p2p : 0.0;
  // Parameters of one layer on one rank.
  const double layer_params = c.attn_params_tp / t + c.attn_params_rep +
                              (1 - fm) * c.mlp_params_tp / t +
                              fm * (c.moe_params_tp / (t * e) + c.moe_params_rep / t);
  const double embed_params = c.embed_params / t;
  const double head_params  = (c.tied_head ? (p > 1 ? c.embed_params : 0.0) : c.head_params) / t;

  // Stage layer counts: first, last, and the largest in between.
  I first = 0, last = 0, mid = 0, total = 0;
  if (stage_layers) {
    first = stage_layers[0];
    last  = stage_layers[p - 1];
    for (I s = 1; s + 1 < p; ++s) mid = std::max(mid, stage_layers[s]);
    for (I s = 0; s < p; ++s) total += stage_layers[s];
  } else {
    const I L = static_cast<I>(c.n_layer), base = L / p, rem = L % p;
    total = L;
    if (p == 1) {
      first = last = L;
    } else {
      const I mids_extra = std::min<I>(rem, p - 2);
      mid                = p > 2 ? base + (mids_extra > 0 ? 1 : 0) : 0;
      last               = base + (rem > p - 2 ? 1 : 0);
      first              = base + (rem > p - 1 ? 1 : 0);
    }
  }
  auto stage_time = [&](I n, bool is_first, bool is_last) {
    return D(n) * per_layer + (is_first ? mc.embed_fwd + mc.embed_bwd : 0.0) +
           (is_last ? mc.head_fwd + mc.head_bwd : 0.0) + p2p;
  };
  const double t_first = stage_time(first, true, p == 1);
  const double t_last  = p > 1 ? stage_time(last, false, true) : t_first;
  const double t_mid   = p > 2 ? stage_time(mid, false, false) : 0.0;
  double t_max         = std::max({t_first, t_last, t_mid});
  I n_max              = t_max == t_first ? first : (t_max == t_last ? last : mid);
  const bool max_first = t_max == t_first, max_last = p == 1 || (!max_first && t_max == t_last);
  double sum_stages =
      D(total) * per_layer + mc.embed_fwd + mc.embed_bwd + mc.head_fwd + mc.head_bwd + D(p) * p2p;
  const double stage_params =
      D(n_max) * layer_params + (max_first ? embed_params : 0.0) + (max_last ? head_params : 0.0);

  // ZeRO-3 / FSDP: per micro-batch, all-gather the stage's weights for forward and again for
  // backward, reduce-scatter its gradients; prefetched, so only what exceeds the compute of the
  // micro-batch is exposed, plus the first layer's gather, which nothing precedes.
  double z_exposed = 0;
  if (l.zero >= 3 && l.shard > 1) {
    const GroupPlacement g = place_group(l.shard, l.tp * l.cp, dev.domain_gpus);
    const double ag =
        collective_seconds(dev, Collective::all_gather, stage_params * c.weight_bytes, g);
    const double rs =
        collective_seconds(dev, Collective::reduce_scatter, stage_params * c.grad_bytes, g);
    const double zc   = 2 * ag + rs;
    const double work = t_max - p2p;
    z_exposed         = std::max(0.0, zc - work) + (n_max > 0 ? ag / D(n_max) : 0.0);
    t_max += z_exposed;
    sum_stages += D(p) * z_exposed;
  }
  const double bubble = p > 1 ? (D(p) - 1) / v * (sum_stages / D(p)) : 0.0;
  // Rows of the slowest stage, times m micro-batches.
  const double nm     = D(n_max);
  r.compute           = m * (nm * comp + (max_first ? mc.embed_fwd + mc.embed_bwd : 0.0) +
                   (max_last ? mc.head_fwd + mc.head_bwd : 0.0));
  r.recompute         = m * nm * rc;
  r.tp_comm           = m * nm * mc.tp_comm;
  r.cp_comm           = m * nm * mc.cp_comm;
  r.ep_comm           = m * nm * fm * mc.ep_comm;
  r.pp_p2p            = m * p2p;
  r.zero_gather       = m * z_exposed;
  r.pp_bubble         = bubble;
  r.stage_max_seconds = t_max;
  r.first_layers      = first;
  r.last_layers       = last;
  r.max_layers        = n_max;

  // Data-parallel gradient reduction of the stage's parameters (Megatron rank order: the
  // group's members are t·c ranks apart). ZeRO-0: all-reduce; ZeRO-1/2: reduce-scatter of
  // gradients, then all-gather of updated weights; ZeRO-3: reduced per micro-batch above.
  // Hybrid sharding adds an all-reduce of 1/S of the gradients across the dp/S replicas.
  double dp = 0, dp_after = 0;
  if (l.dp > 1) {
    const GroupPlacement g  = place_group(l.dp, l.tp * l.cp, dev.domain_gpus);
    const double grad_bytes = stage_params * c.grad_bytes;
    if (l.zero == 0) {
      dp = collective_seconds(dev, Collective::all_reduce, grad_bytes, g);
    } else if (l.zero <= 2) {
      dp       = collective_seconds(dev, Collective::reduce_scatter, grad_bytes, g);
      dp_after = collective_seconds(dev, Collective::all_gather, stage_params * c.weight_bytes, g);
    }
    if (l.zero >= 3 && l.shard < l.dp) {
      const GroupPlacement rep =
          place_group(l.dp / l.shard, l.tp * l.cp * l.shard, dev.domain_gpus);
      dp += collective_seconds(dev, Collective::all_reduce, grad_bytes / D(l.shard), rep);
    }
  }
  // Overlap rule: the reduction runs during the backward pass of the last micro-batch on the
  // stage (gradients are final only then); what exceeds that backward, plus the last bucket
  // (one layer's share, produced when backward ends), is exposed.
  double dp_exposed = dp;
  if (o.dp_overlap && dp > 0) {
    const double bwd_window = nm * ((1 - fm) * mc.dense_bwd + fm * mc.moe_bwd);
    dp_exposed              = std::max(0.0, dp - bwd_window) + (nm > 0 ? dp / nm : dp);
    dp_exposed              = std::min(dp_exposed, dp);
  }
  r.dp_comm = dp_exposed + dp_after;
  // Optimizer update, memory-bound on the GPU: per local parameter read master, gradient and
  // states, write master, states and the working weight (Adam: 4+g+8 read, 4+8+w written).
  const double local = stage_params / (l.zero >= 1 ? D(l.shard) : 1.0);
  if (l.offload) {
    // Gradients down and updated weights up over PCIe; the CPU update itself is not timed.
    r.offload = local * (c.grad_bytes + c.weight_bytes) / dev.pcie_bandwidth_bytes_per_s;
  } else {
    const double bytes = local * (2.0 * c.master_bytes + c.grad_bytes +
                                  2.0 * c.optimizer_bytes_per_param + c.weight_bytes);
    r.optimizer        = memory_seconds(dev, bytes);
  }
  r.step_seconds = r.compute + r.recompute + r.tp_comm + r.cp_comm + r.ep_comm + r.pp_p2p +
                   r.zero_gather + r.pp_bubble + r.dp_comm + r.optimizer + r.offload;
  return r;
}

StepTimeReport step_time(const ModelSpec& m, const TrainInput& in, const DeviceModel& device,
                         const StepOptions& o) {
  validate_plan(m, in);
  const StepContext c = step_context(m, in, device);
  Layout l            = layout_of(in);
  l.tp_overlap        = o.tp_overlap;
  const I L           = static_cast<I>(c.n_layer);
  StepTimeReport rep;
  rep.stage_layers.assign(static_cast<std::size_t>(l.pp), 0);
  if (!o.stage_layers.empty()) {
    if (static_cast<I>(o.stage_layers.size()) != l.pp)
      throw InputError(
          "invalid stage layers", "stage_layers",
          fmt::format("{} counts given for {} pipeline stages", o.stage_layers.size(), l.pp));
    I sum = 0;
    for (I n : o.stage_layers) {
      if (n < 1)
        throw InputError("invalid stage layers", "stage_layers", "each stage needs a layer");
      sum += n;
    }
    if (sum != L)
      throw InputError("invalid stage layers", "stage_layers",
                       fmt::format("the counts sum to {}, the model has {} layers", sum, L));
    rep.stage_layers = o.stage_layers;
  } else {
    balanced_stage_layers(L, l.pp, rep.stage_layers.data());
  }
  const MicroCosts mc = micro_costs(c, l);
  const StepBreakdown s =
      compose_step(c, l, mc, o.stage_layers.empty() ? nullptr : rep.stage_layers.data(), o);
  const double gpus             = D(in.plan.gpus());
  const double tokens           = D(l.micro_batches * l.micro * l.dp) * c.seq;
  rep.step_seconds              = s.step_seconds;
  rep.tokens_per_second         = tokens / s.step_seconds;
  rep.tokens_per_second_per_gpu = rep.tokens_per_second / gpus;
  const double rc_per_token     = l.recompute == Recompute::full ? c.recompute_full_flops_per_token
                                  : l.recompute == Recompute::selective
                                      ? c.recompute_selective_flops_per_token
                                      : 0.0;
  const double model_flops      = c.model_flops_per_token * tokens;
  const double hw_flops         = (c.model_flops_per_token + rc_per_token) * tokens;
  rep.tflops_per_gpu            = model_flops / s.step_seconds / gpus / 1e12;
  rep.hardware_tflops_per_gpu   = hw_flops / s.step_seconds / gpus / 1e12;
  rep.mfu                       = model_flops / (s.step_seconds * gpus * device.peak_flops_per_s);
  rep.hfu                       = hw_flops / (s.step_seconds * gpus * device.peak_flops_per_s);

  const std::string mstr = fmt::format("{}", l.micro_batches);
  const std::string nstr = fmt::format("{}", s.max_layers);
  auto add = [&](const char* key, const char* label, double v, std::string f, std::string sub,
                 std::string src) {
    rep.rows.rows.push_back({key, label, v, {std::move(f), std::move(sub), std::move(src)}});
  };
  add("compute_seconds", "compute (matmuls, attention, memory-bound ops)", s.compute,
      "m · (n_s · (fwd + bwd) + embedding/head on the stage)",
      fmt::format(
          "{} · ({} · ({} + {}) + edges); per layer fwd = GEMM {} + attention {} + memory {} s",
          mstr, nstr, num(mc.dense_fwd), num(mc.dense_bwd), num(mc.gemm_fwd), num(mc.attn_fwd),
          num(mc.mem_fwd)),
      "GEMMs at kGemmPeakFraction of the dense peak x tile/wave quantization; memory-bound ops at "
      "kMemoryBwFraction of HBM; slowest pipeline stage");
  add("recompute_seconds", "recomputation", s.recompute, "m · n_s · recompute per layer",
      fmt::format("{} · {} · {}", mstr, nstr, num((1 - 0) * mc.dense_recompute)),
      "Korthikanti et al. 2022, Sec. 5 (full: the forward again; selective: attention core)");
  add("tp_comm_seconds", "tensor-parallel communication", s.tp_comm,
      l.sp ? "m · n_s · (2 fwd + 2 bwd) · (RS + AG of b·T·d·p)"
           : "m · n_s · (2 fwd + 2 bwd) · AR(b·T·d·p)",
      fmt::format("{} · {} · {}", mstr, nstr, num(mc.tp_comm)),
      "Shoeybi et al. 2019, Sec. 3; Korthikanti et al. 2022, Sec. 4.2.2; ring on the NVLink "
      "domain");
  add("cp_comm_seconds", "context-parallel ring exchange (exposed)", s.cp_comm,
      "m · n_s · max(0, (c-1) · p2p(KV) - attention)",
      fmt::format("{} · {} · {}", mstr, nstr, num(mc.cp_comm)), "Liu et al. 2023 (Ring Attention)");
  add("ep_comm_seconds", "expert-parallel all-to-all", s.ep_comm,
      "m · n_s · MoE share · 4 · A2A(b·T·k·d·p)",
      fmt::format("{} · {} · {}", mstr, nstr, num(mc.ep_comm)), "GShard; DeepSpeed-MoE");
  add("pp_p2p_seconds", "pipeline sends", s.pp_p2p, "m · 2 · v · p2p(b·T·d·p / t)",
      fmt::format("{} · 2 · {} · {}", mstr, l.v, num(mc.p2p)),
      "Narayanan et al. 2021, Sec. 4.1 (scatter/gather)");
  add("pp_bubble_seconds", "pipeline bubble", s.pp_bubble, "(p - 1) / v · mean stage time",
      fmt::format("({} - 1) / {} · mean stage time", l.pp, l.v),
      "Narayanan et al. 2021, Sec. 2.2: bubble fraction (p - 1) / (v · m)");
  add("zero_gather_seconds", "ZeRO-3/FSDP gathers (exposed)", s.zero_gather,
      "m · (max(0, 2 AG(W) + RS(G) - stage compute) + first layer's AG)",
      fmt::format("{} · ...", mstr), "Rajbhandari et al. 2020, Sec. 7.2.2 (3 x parameter volume)");
  add("dp_comm_seconds", "data-parallel gradient reduction (exposed)", s.dp_comm,
      o.dp_overlap ? "max(0, reduce - last backward) + last bucket (+ weight all-gather, ZeRO-1/2)"
                   : "reduce after backward (+ weight all-gather, ZeRO-1/2)",
      fmt::format("dp = {}, ZeRO {}", l.dp, l.zero),
      "ring/tree all-reduce (Thakur et al. 2005); overlap rule stated in step_time.hpp");
  add("optimizer_seconds", "optimizer update", s.optimizer,
      "local params · (2·master + g + 2·states + w) / (f · HBM)", "", "memory-bound update");
  add("offload_seconds", "optimizer offload transfers", s.offload, "local params · (g + w) / PCIe",
      "", "ZeRO-Offload (Ren et al. 2021): gradients down, weights up");
  rep.notes.push_back(fmt::format("stage layers: first {}, last {}, slowest stage {}",
                                  s.first_layers, s.last_layers, s.max_layers));
  if (l.offload) rep.notes.push_back("the CPU optimizer update itself is not timed");
  return rep;
}

}  // namespace sizeup
