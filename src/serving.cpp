// Serving step times and static-batch latency/throughput. See include/sizeup/serving.hpp for
// the legend and sources; docs/serving.md for the formulas and the validation.
#include "sizeup/serving.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/error.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

double comp(const ComponentWeights& w, Component c) { return w.bytes[static_cast<int>(c)]; }
double elems(const ComponentWeights& w, Component c) {
  return w.matmul_elements[static_cast<int>(c)];
}

// Bytes per activation element: fp32 when serving fp32, else 16-bit.
double act_bytes(WeightFormat f) { return f == WeightFormat::fp32 ? 4.0 : 2.0; }

// Dequantising a weight or KV element costs about this many operations on the vector units
// (scale multiply and zero subtract / bit unpack), which run at 1/16 of the tensor-core
// peak on A100/H100 (19.5 of 312 TFLOP/s fp32 vs bf16 on A100; NVIDIA A100 whitepaper).
constexpr double kDequantOpsPerElement = 2.0;
constexpr double kVectorToTensorRatio  = 1.0 / 16.0;

struct Ctx {
  const ModelSpec& m;
  InferenceInput in;
  ServingLayout layout;
  ServingHardware hw;
  ServingEfficiency eff;
  ComponentWeights w;
  double kv_token_layer = 0;  // KV bytes per token per layer per GPU (all layers / L)
  double kv_token       = 0;  // all layers
  I L                   = 0;
};

void check(const ModelSpec& m, const ServingLayout& l, const ServingHardware& hw,
           const ServingEfficiency& e) {
  if (l.tp < 1) throw InputError("invalid tensor parallelism", "tp", "must be at least 1");
  if (l.pp < 1) throw InputError("invalid pipeline parallelism", "pp", "must be at least 1");
  if (l.ep < 1) throw InputError("invalid expert parallelism", "ep", "must be at least 1");
  if (l.pp > m.n_layer)
    throw InputError("invalid pipeline parallelism", "pp",
                     fmt::format("{} stages for {} layers", l.pp, m.n_layer));
  if (l.ep > 1) {
    if (!m.is_moe())
      throw InputError("invalid expert parallelism", "ep", "the model has no routed experts");
    if (m.n_expert % l.ep != 0 || l.gpus() % l.ep != 0)
      throw InputError("invalid expert parallelism", "ep",
                       fmt::format("{} ranks must divide {} experts and the {} GPUs of a replica",
                                   l.ep, m.n_expert, l.gpus()));
  }
  if (!(hw.peak_flops_per_s > 0) || !(hw.bandwidth_bytes_per_s > 0))
    throw InputError("incomplete accelerator", "gpu",
                     "step times need memory bandwidth and peak FLOP/s");
  auto frac = [](double v, const char* f) {
    if (!(v > 0 && v <= 1)) throw InputError("invalid efficiency", f, "must be in (0, 1]");
  };
  frac(e.matmul, "matmul_efficiency");
  frac(e.memory, "memory_efficiency");
  frac(e.link, "link_efficiency");
  if (!(e.collective_latency_seconds >= 0) || !(e.step_overhead_seconds >= 0))
    throw InputError("invalid latency", "collective_latency", "must be non-negative");
}

Ctx make_ctx(const ModelSpec& m, const InferenceInput& in0, const ServingLayout& layout,
             const ServingHardware& hw, const ServingEfficiency& eff) {
  check(m, layout, hw, eff);
  if (m.encoder_decoder || !m.causal)
    throw InputError("unsupported model", "model", "serving step times cover decoder-only models");
  InferenceInput in = in0;
  in.tp             = layout.tp;
  in.batch          = 1;
  in.context        = 1;
  Ctx c{m, in, layout, hw, eff, weights_by_component(m, in), 0, 0, m.n_layer};
  c.kv_token       = inference_memory(m, in).kv_cache_bytes;
  c.kv_token_layer = c.kv_token / static_cast<double>(m.n_layer);
  return c;
}

// Link bandwidth of a group of n GPUs: NVLink inside a node, the network across nodes.
double link_rate(const Ctx& c, I n) {
  const double bw = n <= c.hw.gpus_per_node || c.hw.inter_node_bytes_per_s <= 0
                        ? c.hw.link_bytes_per_s
                        : c.hw.inter_node_bytes_per_s;
  return bw * c.eff.link;
}

// A compute/memory operator: roofline time at the efficient peak and bandwidth.
OpCost roofline_op(const Ctx& c, std::string key, std::string label, double flops,
                   double vector_ops, double weight, double kv_read, double kv_write, double act,
                   std::string formula) {
  OpCost o;
  o.key              = std::move(key);
  o.label            = std::move(label);
  o.flops            = flops;
  o.weight_bytes     = weight;
  o.kv_read_bytes    = kv_read;
  o.kv_write_bytes   = kv_write;
  o.activation_bytes = act;
  const double rate  = c.hw.peak_flops_per_s * c.eff.matmul;
  const double tc    = flops / rate + vector_ops / (rate * kVectorToTensorRatio);
  const double bytes = weight + kv_read + kv_write + act;
  const double tm    = bytes / (c.hw.bandwidth_bytes_per_s * c.eff.memory);
  o.seconds          = std::max(tc, tm);
  o.bound            = tc > tm ? "compute" : "memory";
  o.derivation       = {
            "max(FLOPs / (peak * eff_mm) + dequant ops / (peak/16 * eff_mm), bytes / (BW * eff_mem))",
            fmt::format("{}; max({:.4g} / {:.4g} + {:.4g} / {:.4g}, {:.4g} / {:.4g}) = {:.4g} s", formula,
                        flops, rate, vector_ops, rate * kVectorToTensorRatio, bytes,
                        c.hw.bandwidth_bytes_per_s * c.eff.memory, o.seconds),
            "roofline per operator (Williams et al. 2009); efficiencies from the shared performance "
                  "model"};
  return o;
}

// Sum over b sequences of the context each new query attends to: queries at positions
// past+1 .. past+T, each seeing min(pos, w) tokens (w = 0: no window).
double attended_pairs(double b, double T, double past, double w) {
  auto sum_to = [&](double n) {  // sum_{j=1..n} min(j, w)
    if (w <= 0 || n <= w) return n * (n + 1) / 2;
    return w * (w + 1) / 2 + (n - w) * w;
  };
  return b * (sum_to(past + T) - sum_to(past));
}

}  // namespace

double expected_distinct_experts(double n_expert, double k, double tokens) {
  if (n_expert <= 0) return 0;
  return n_expert * (1 - std::pow(1 - k / n_expert, tokens));
}

StepTime serving_step(const ModelSpec& m, const InferenceInput& in, const ServingLayout& layout,
                      const ServingHardware& hw, const ServingEfficiency& eff,
                      const StepShape& sh) {
  if (sh.sequences < 1 || sh.new_tokens < 1 || sh.past_tokens < 0)
    throw InputError("invalid step", "batch", "needs at least one sequence and one new token");
  const Ctx c       = make_ctx(m, in, layout, hw, eff);
  const double b    = static_cast<double>(sh.sequences);
  const double T    = static_cast<double>(sh.new_tokens);
  const double P    = static_cast<double>(sh.past_tokens);
  const double B    = b * T;  // tokens in the step
  const double t    = static_cast<double>(layout.tp);
  const double d    = static_cast<double>(m.n_embd);
  const double L    = static_cast<double>(c.L);
  const double ab   = act_bytes(in.weights);
  const bool decode = sh.new_tokens == 1;
  StepTime st;
  auto add = [&](OpCost o) {
    st.flops += o.flops;
    st.bytes += o.weight_bytes + o.kv_read_bytes + o.kv_write_bytes + o.activation_bytes;
    if (o.bound == "compute") st.compute_seconds += o.seconds;
    if (o.bound == "memory") st.memory_seconds += o.seconds;
    if (o.bound == "communication") st.comm_seconds += o.seconds;
    st.seconds += o.seconds;
    st.ops.push_back(std::move(o));
  };
  // Share of quantised elements per matmul element: dequantised once per step per element.
  const double total_elems = [&] {
    double s = 0;
    for (double e : c.w.matmul_elements) s += e;
    return s;
  }();
  const double qshare = total_elems > 0 ? c.w.quantized_elements / total_elems : 0;

  // Token embedding: one row per new token.
  add(roofline_op(c, "embedding", "token embedding lookup", 0, 0, B * d * ab, 0, 0, B * d * ab,
                  fmt::format("B * d * a = {} * {} * {}", B, d, ab)));

  // Attention projections (q, k, v, o; MLA's down/up projections).
  const double attn_e = elems(c.w, Component::attention);
  add(roofline_op(c, "attention_proj", "attention projections", 2 * B * attn_e,
                  kDequantOpsPerElement * attn_e * qshare, comp(c.w, Component::attention), 0, 0,
                  L * B * ab *
                      (2 * d + 2 * static_cast<double>(m.q_width()) / t +
                       2 * static_cast<double>(m.kv_width()) / t),
                  fmt::format("FLOPs 2 * B * N_attn/t = 2 * {} * {:.4g}", B, attn_e)));

  // Attention over the cache. Decode of MLA attends in the latent space (weight absorption):
  // scores over r_kv + r_rope, values over r_kv per head.
  const double Hg = static_cast<double>(m.n_head) / t;
  double width    = 0;
  if (m.attention == AttentionKind::mla)
    width = decode ? static_cast<double>(2 * m.kv_lora_rank + m.qk_rope_head_dim)
                   : static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim);
  else
    width = 2 * static_cast<double>(m.head_dim);
  double pairs = 0, kv_read = 0;
  for (I i = 0; i < c.L; ++i) {
    const double w = m.is_sliding_layer(i) ? static_cast<double>(m.sliding_window) : 0;
    pairs += attended_pairs(b, T, P, w);
    // Flash attention reads each cached token of the window once per sequence per layer.
    kv_read += b * (w > 0 ? std::min(w, P + T) : P + T) * c.kv_token_layer;
  }
  // Prefill's new K/V stay on chip within a tile: only the past is read from HBM.
  if (!decode) kv_read = b * P * c.kv_token;
  const double kv_write = B * c.kv_token;
  const double kv_dq    = in.kv_bytes < 2 ? kv_read / in.kv_bytes * kDequantOpsPerElement : 0;
  add(roofline_op(c, "attention_core", "attention over the KV cache", 2 * Hg * width * pairs, kv_dq,
                  0, kv_read, kv_write, 0,
                  fmt::format("FLOPs 2 * H/t * width * pairs = 2 * {} * {} * {:.4g}; KV read "
                              "{:.4g}, written B * c = {:.4g}",
                              Hg, width, pairs, kv_read, kv_write)));

  // Dense MLP.
  const double mlp_e = elems(c.w, Component::mlp);
  if (mlp_e > 0) {
    const double f = static_cast<double>(m.n_ff);
    add(roofline_op(c, "mlp", "dense MLP", 2 * B * mlp_e, kDequantOpsPerElement * mlp_e * qshare,
                    comp(c.w, Component::mlp), 0, 0,
                    static_cast<double>(m.n_layer - m.n_moe_layers()) * B * ab *
                        (2 * d + (m.mlp == MlpKind::gated ? 3 : 2) * f / t),
                    fmt::format("FLOPs 2 * B * N_mlp/t = 2 * {} * {:.4g}", B, mlp_e)));
  }

  // Mixture of experts: router, shared experts, and the routed experts the step touches.
  if (m.is_moe() && m.n_moe_layers() > 0) {
    const double E = static_cast<double>(m.n_expert), k = static_cast<double>(m.n_expert_used);
    const double touched = expected_distinct_experts(E, k, B);
    const double re      = elems(c.w, Component::routed_experts);
    const double sh_e    = elems(c.w, Component::shared_experts);
    const double rt_e    = elems(c.w, Component::router);
    add(roofline_op(
        c, "moe_experts", "MoE: routed experts touched + shared + router",
        2 * B * (re * k / E + sh_e + rt_e), kDequantOpsPerElement * (re * touched / E) * qshare,
        comp(c.w, Component::routed_experts) * touched / E + comp(c.w, Component::shared_experts) +
            comp(c.w, Component::router),
        0, 0, static_cast<double>(m.n_moe_layers()) * B * ab * (2 * d + 3 * k * d / t),
        fmt::format("experts read E * (1 - (1 - k/E)^B) = {} * (1 - (1 - {}/{})^{}) = {:.4g} of "
                    "{} per layer; FLOPs 2 * B * (k/E * N_routed + N_shared + N_router)/t",
                    E, k, E, B, touched, E)));
  }

  // Norms, residual adds, activations: a few reads and writes of B x d per layer.
  add(roofline_op(c, "elementwise", "norms, residuals, rotary", 0, 0, comp(c.w, Component::norm), 0,
                  0, L * B * d * ab * 8,
                  fmt::format("bytes 8 * L * B * d * a = 8 * {} * {} * {} * {}", L, B, d, ab)));

  // LM head on the last token of every sequence (prefill samples one token per sequence).
  const double head_e = elems(c.w, Component::output_head) +
                        (m.tied_head ? elems(c.w, Component::token_embedding) : 0);
  const double head_bytes =
      m.tied_head ? comp(c.w, Component::token_embedding) : comp(c.w, Component::output_head);
  add(roofline_op(c, "lm_head", "output head (last token of each sequence)", 2 * b * head_e, 0,
                  head_bytes, 0, 0, b * static_cast<double>(m.n_vocab) * 4 / t,
                  fmt::format("FLOPs 2 * b * V * d/t = 2 * {} * {:.4g}", b, head_e)));

  // Tensor parallelism: two all-reduces of B x d per layer (Megatron-LM Sec. 3), ring cost.
  auto comm = [&](std::string key, std::string label, double calls, double bytes_per_gpu,
                  double rate, std::string formula) {
    OpCost o;
    o.key        = std::move(key);
    o.label      = std::move(label);
    o.comm_bytes = calls * bytes_per_gpu;
    o.seconds    = calls * (eff.collective_latency_seconds + bytes_per_gpu / rate);
    o.bound      = "communication";
    o.derivation = {
        "calls * (latency + bytes / (link * eff_link))",
        fmt::format("{}; {} * ({:.3g} + {:.4g} / {:.4g}) = {:.4g} s", formula, calls,
                    eff.collective_latency_seconds, bytes_per_gpu, rate, o.seconds),
        "ring collectives (Patarasuk and Yuan 2009); latency per call from the shared model"};
    add(std::move(o));
  };
  if (layout.tp > 1) {
    const double msg = B * d * ab;
    comm("tp_all_reduce", "tensor-parallel all-reduce (2 per layer)", 2 * L, 2 * (t - 1) / t * msg,
         link_rate(c, layout.tp),
         fmt::format("message B * d * a = {:.4g} bytes, ring 2(t-1)/t", msg));
  }
  if (layout.ep > 1) {
    const double e   = static_cast<double>(layout.ep);
    const double msg = B * static_cast<double>(m.n_expert_used) * d * ab * (e - 1) / e / e;
    comm("ep_all_to_all", "expert-parallel all-to-all (dispatch + combine)",
         2 * static_cast<double>(m.n_moe_layers()), msg, link_rate(c, layout.ep),
         "bytes per GPU B * k * d * a * (e-1)/e / e");
  }
  if (layout.pp > 1) {
    const double msg = B * d * ab;
    comm("pp_send", "pipeline sends between stages", static_cast<double>(layout.pp - 1), msg,
         link_rate(c, layout.pp * layout.tp), "activations B * d * a per stage boundary");
  }
  if (eff.step_overhead_seconds > 0) {
    OpCost o;
    o.key        = "step_overhead";
    o.label      = "per-forward overhead (launch, scheduling, sampling)";
    o.seconds    = eff.step_overhead_seconds;
    o.bound      = "overhead";
    o.derivation = {"constant", fmt::format("{:.3g} s", o.seconds), "see docs/serving.md"};
    st.seconds += o.seconds;
    st.ops.push_back(o);
  }
  return st;
}

ServingReport serve_static(const ModelSpec& m, const InferenceInput& in,
                           const ServingLayout& layout, const ServingHardware& hw,
                           const ServingEfficiency& eff, I batch, I prompt, I gen) {
  if (batch < 1) throw InputError("invalid batch", "batch", "must be at least 1");
  if (prompt < 1) throw InputError("invalid prompt", "prompt", "must be at least 1 token");
  if (gen < 1) throw InputError("invalid generation length", "gen", "must be at least 1 token");
  ServingReport r;
  r.prefill      = serving_step(m, in, layout, hw, eff, {batch, prompt, 0});
  r.ttft_seconds = r.prefill.seconds;
  // Decode step time is affine in the context (KV read and attention FLOPs grow linearly), so
  // the mean over contexts P+1 .. P+G-1 is the mean of the first and last steps.
  r.decode_first = serving_step(m, in, layout, hw, eff, {batch, 1, prompt});
  r.decode_last =
      serving_step(m, in, layout, hw, eff, {batch, 1, prompt + std::max<I>(gen - 2, 0)});
  r.tpot_seconds    = gen > 1 ? (r.decode_first.seconds + r.decode_last.seconds) / 2 : 0;
  r.e2e_seconds     = r.ttft_seconds + static_cast<double>(gen - 1) * r.tpot_seconds;
  const double gpus = static_cast<double>(layout.gpus());
  const double bf = static_cast<double>(batch), Pf = static_cast<double>(prompt),
               Gf                    = static_cast<double>(gen);
  r.output_tokens_per_second         = bf * Gf / r.e2e_seconds;
  r.output_tokens_per_second_per_gpu = r.output_tokens_per_second / gpus;
  r.total_tokens_per_second_per_gpu  = bf * (Pf + Gf) / r.e2e_seconds / gpus;

  // Smallest batch whose decode step (at context P) spends more time compute-bound than
  // memory-bound: doubling then bisection (compute share grows with the batch).
  auto compute_bound = [&](I bb) {
    const StepTime s = serving_step(m, in, layout, hw, eff, {bb, 1, prompt});
    return s.compute_seconds > s.memory_seconds;
  };
  I hi = 1;
  while (hi <= 1000000 && !compute_bound(hi)) hi *= 2;
  if (hi <= 1000000) {
    I lo = hi / 2;  // not compute-bound (or 0)
    while (hi - lo > 1) {
      const I mid                    = lo + (hi - lo) / 2;
      (compute_bound(mid) ? hi : lo) = mid;
    }
    r.compute_bound_batch = hi;
  }

  const std::string src = "static batch: all prompts prefilled together, then G - 1 decode steps";
  r.rows.rows           = {
                {"ttft_seconds",
                 "time to first token",
                 r.ttft_seconds,
                 {"prefill(b, P)",
                  fmt::format("prefill of {} x {} tokens = {:.4g} s", batch, prompt, r.prefill.seconds),
                  src}},
                {"tpot_seconds",
                 "time per output token (between consecutive tokens of a request)",
                 r.tpot_seconds,
                 {"(decode(b, P+1) + decode(b, P+G-1)) / 2",
                  fmt::format("({:.4g} + {:.4g}) / 2", r.decode_first.seconds, r.decode_last.seconds),
                  "decode step time is affine in the context"}},
                {"e2e_seconds",
                 "end-to-end latency",
                 r.e2e_seconds,
                 {"ttft + (G - 1) * tpot",
                  fmt::format("{:.4g} + {} * {:.4g}", r.ttft_seconds, gen - 1, r.tpot_seconds), src}},
                {"output_tokens_per_second_per_gpu",
                 "output tokens/s per GPU",
                 r.output_tokens_per_second_per_gpu,
                 {"b * G / e2e / gpus", fmt::format("{} * {} / {:.4g} / {}", batch, gen, r.e2e_seconds, gpus),
                  src}},
                {"total_tokens_per_second_per_gpu",
                 "total (input + output) tokens/s per GPU",
                 r.total_tokens_per_second_per_gpu,
                 {"b * (P + G) / e2e / gpus",
                  fmt::format("{} * ({} + {}) / {:.4g} / {}", batch, prompt, gen, r.e2e_seconds, gpus), src}},
  };
  if (layout.pp > 1)
    r.notes.push_back(
        "pipeline stages run one after another for one batch (no micro-batch overlap)");
  return r;
}

double StepCostModel::seconds(double tokens, double pairs, double kv_read) const {
  const double touched =
      n_expert > 0 ? expected_distinct_experts(n_expert, n_expert_used, tokens) : 0;
  const double compute = (tokens * flops_per_token + pairs * attn_flops_per_pair) / compute_rate;
  const double memory  = (dense_weight_bytes + touched * expert_bytes_per_expert +
                         kv_bytes_per_token * (kv_read + tokens)) /
                        memory_rate;
  return std::max(compute, memory) + comm_fixed_seconds + tokens * comm_per_token_seconds +
         overhead_seconds;
}

double StepCostModel::decode_run_seconds(double n, double ctx0, double j) const {
  if (j <= 0) return 0;
  // Step i: compute c0 + c1 i, memory m0 + m1 i (both affine in the context ctx0 + i n).
  const double touched = n_expert > 0 ? expected_distinct_experts(n_expert, n_expert_used, n) : 0;
  const double c0      = (n * flops_per_token + (ctx0 + n) * attn_flops_per_pair) / compute_rate;
  const double c1      = n * attn_flops_per_pair / compute_rate;
  const double m0 =
      (dense_weight_bytes + touched * expert_bytes_per_expert + kv_bytes_per_token * (ctx0 + n)) /
      memory_rate;
  const double m1    = n * kv_bytes_per_token / memory_rate;
  const double fixed = comm_fixed_seconds + n * comm_per_token_seconds + overhead_seconds;
  auto line_sum      = [](double p, double q, double a, double b) {  // sum_{i=a}^{b-1} p + q i
    return (b - a) * p + q * (b * (b - 1) / 2 - a * (a - 1) / 2);
  };
  double total = j * fixed;
  // The lines cross at most once, at x; below it one dominates, above it the other.
  const double x = c1 != m1 ? (m0 - c0) / (c1 - m1) : -1;
  if (x <= 0 || x >= j) {
    const double mid = (j - 1) / 2;  // whichever is larger over the whole range
    total += c0 + c1 * mid >= m0 + m1 * mid ? line_sum(c0, c1, 0, j) : line_sum(m0, m1, 0, j);
    return total;
  }
  const double split       = std::ceil(x);
  const bool compute_first = c0 >= m0;
  total += compute_first ? line_sum(c0, c1, 0, split) + line_sum(m0, m1, split, j)
                         : line_sum(m0, m1, 0, split) + line_sum(c0, c1, split, j);
  return total;
}

StepCostModel step_cost_model(const ModelSpec& m, const InferenceInput& in,
                              const ServingLayout& layout, const ServingHardware& hw,
                              const ServingEfficiency& eff) {
  const Ctx c = make_ctx(m, in, layout, hw, eff);
  StepCostModel s;
  double matmul = 0;
  for (int i = 0; i < 10; ++i) matmul += c.w.matmul_elements[i];
  const double re = elems(c.w, Component::routed_experts);
  if (m.is_moe()) {
    s.n_expert      = static_cast<double>(m.n_expert);
    s.n_expert_used = static_cast<double>(m.n_expert_used);
    matmul += re * (s.n_expert_used / s.n_expert - 1);
    s.expert_bytes_per_expert = comp(c.w, Component::routed_experts) / s.n_expert;
  }
  // The head runs once per sequence; the simulator's steps are mostly decode (one token per
  // sequence), so it is counted per token.
  s.flops_per_token = 2 * matmul;
  const double t    = static_cast<double>(layout.tp);
  const double width =
      m.attention == AttentionKind::mla
          ? static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
          : 2 * static_cast<double>(m.head_dim);
  s.attn_flops_per_pair = 2 * static_cast<double>(m.n_head) / t * width;
  s.kv_bytes_per_token  = c.kv_token;
  s.dense_weight_bytes  = c.w.total_bytes() - comp(c.w, Component::routed_experts) -
                         (m.tied_head ? 0 : comp(c.w, Component::token_embedding));
  s.compute_rate  = hw.peak_flops_per_s * eff.matmul;
  s.memory_rate   = hw.bandwidth_bytes_per_s * eff.memory;
  const double d  = static_cast<double>(m.n_embd);
  const double ab = act_bytes(in.weights);
  const double L  = static_cast<double>(m.n_layer);
  if (layout.tp > 1) {
    s.comm_fixed_seconds += 2 * L * eff.collective_latency_seconds;
    s.comm_per_token_seconds += 2 * L * 2 * (t - 1) / t * d * ab / link_rate(c, layout.tp);
  }
  if (layout.ep > 1) {
    const double e  = static_cast<double>(layout.ep);
    const double ml = static_cast<double>(m.n_moe_layers());
    s.comm_fixed_seconds += 2 * ml * eff.collective_latency_seconds;
    s.comm_per_token_seconds += 2 * ml * static_cast<double>(m.n_expert_used) * d * ab * (e - 1) /
                                e / e / link_rate(c, layout.ep);
  }
  if (layout.pp > 1) {
    const double p = static_cast<double>(layout.pp - 1);
    s.comm_fixed_seconds += p * eff.collective_latency_seconds;
    s.comm_per_token_seconds += p * d * ab / link_rate(c, layout.pp * layout.tp);
  }
  s.overhead_seconds = eff.step_overhead_seconds;
  return s;
}

}  // namespace sizeup
