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

// Bytes per activation element: fp32 when serving fp32, else 16-bit.
double act_bytes(WeightFormat f) { return f == WeightFormat::fp32 ? 4.0 : 2.0; }

// Dequantising a weight or KV element costs about this many operations on the vector units
// (scale multiply and zero subtract / bit unpack), which run at 1/16 of the tensor-core
// peak on A100/H100 (19.5 of 312 TFLOP/s fp32 vs bf16 on A100; NVIDIA A100 whitepaper).
constexpr double kDequantOpsPerElement = 2.0;
constexpr double kVectorToTensorRatio  = 1.0 / 16.0;

// One weight matrix kind of the decoder, per GPU: `count` products of B x k by k x n.
struct Mat {
  Component comp;
  double n = 0, k = 0;   // output and input width on this GPU
  double count     = 0;  // layers x matrices (experts: all experts of all MoE layers)
  double bytes     = 0;  // stored bytes on this GPU, all `count` matrices
  double quantized = 0;  // elements stored quantised (dequantised when used)
};

struct Ctx {
  const ModelSpec& m;
  InferenceInput in;
  ServingLayout layout;
  DeviceModel d;
  ServingEfficiency eff;
  ComponentWeights w;
  std::vector<Mat> mats;
  double kv_token_layer = 0;  // KV bytes per token per layer per GPU (all layers / L)
  double kv_token       = 0;  // all layers
  I L                   = 0;
  bool explain          = true;  // build the derivation strings (off in tabulation loops)
  double moe_layers     = 0;     // layers with routed experts
  std::vector<double> windows;   // per layer: sliding window (0: full attention)
};

// fmt::format when derivations are wanted, else nothing (tabulation evaluates many steps).
template <class... A>
std::string F(const Ctx& c, fmt::format_string<A...> f, A&&... a) {
  return c.explain ? fmt::format(f, std::forward<A>(a)...) : std::string();
}

void check(const ModelSpec& m, const ServingLayout& l, const DeviceModel& d,
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
  if (!(d.peak_flops_per_s > 0) || !(d.memory_bandwidth_bytes_per_s > 0))
    throw InputError("incomplete accelerator", "gpu",
                     "step times need memory bandwidth and peak FLOP/s");
  if (!(e.step_overhead_seconds >= 0) || !std::isfinite(e.step_overhead_seconds))
    throw InputError("invalid overhead", "step_overhead", "must be a non-negative time");
}

Ctx make_ctx(const ModelSpec& m, const InferenceInput& in0, const ServingLayout& layout,
             const DeviceModel& d, const ServingEfficiency& eff) {
  check(m, layout, d, eff);
  if (m.encoder_decoder || !m.causal)
    throw InputError("unsupported model", "model", "serving step times cover decoder-only models");
  InferenceInput in = in0;
  in.tp             = layout.tp;
  in.batch          = 1;
  in.context        = 1;
  Ctx c{m, in, layout, d, eff, weights_by_component(m, in), {}, 0, 0, m.n_layer, true, 0, {}};
  c.kv_token   = inference_memory(m, in).kv_cache_bytes;
  c.moe_layers = static_cast<double>(m.n_moe_layers());
  for (I i = 0; i < m.n_layer; ++i)
    c.windows.push_back(m.is_sliding_layer(i) ? static_cast<double>(m.sliding_window) : 0.0);
  c.kv_token_layer = c.kv_token / static_cast<double>(m.n_layer);
  // Matrices by component; stored bytes shared out by elements (the component's bytes include
  // its few non-matmul tensors, such as biases).
  const double t            = static_cast<double>(layout.tp);
  double comp_elems[10]     = {};
  std::vector<Tensor> table = tensor_table(m);
  for (const Tensor& x : table)
    if (x.is_matmul && x.stack == Stack::decoder && x.shape.size() >= 2)
      comp_elems[static_cast<int>(x.component)] +=
          static_cast<double>(x.elements_per_layer()) * static_cast<double>(x.repeat);
  for (const Tensor& x : table) {
    if (!x.is_matmul || x.stack != Stack::decoder || x.shape.size() < 2) continue;
    Mat mt;
    mt.comp    = x.component;
    double out = static_cast<double>(x.shape[x.shape.size() - 2]);
    double inw = static_cast<double>(x.shape.back());
    mt.count   = static_cast<double>(x.repeat);
    for (std::size_t i = 0; i + 2 < x.shape.size(); ++i)
      mt.count *= static_cast<double>(x.shape[i]);
    if (x.split == Split::row)
      inw /= t;
    else if (x.split != Split::replicated)
      out /= t;
    mt.n             = out;
    mt.k             = inw;
    const int ci     = static_cast<int>(x.component);
    const double all = static_cast<double>(x.elements_per_layer()) * static_cast<double>(x.repeat);
    // A tied head reads the embedding table.
    const double comp_bytes =
        x.tied ? c.w.bytes[static_cast<int>(Component::token_embedding)] : c.w.bytes[ci];
    mt.bytes     = x.tied ? comp_bytes : comp_bytes * all / comp_elems[ci];
    mt.quantized = x.tied ? 0 : c.w.quantized_elements > 0 ? mt.n * mt.k * mt.count : 0;
    if (in.weights == WeightFormat::bf16 || in.weights == WeightFormat::fp16 ||
        in.weights == WeightFormat::fp32 || x.component == Component::router ||
        x.component == Component::output_head)
      mt.quantized = 0;
    c.mats.push_back(mt);
  }
  return c;
}

// A compute/memory operator: the shared model's GEMM efficiency and bandwidth.
OpCost roofline_op(const Ctx& c, std::string key, std::string label, double flops,
                   double compute_seconds, double vector_ops, double weight, double kv_read,
                   double kv_write, double act, std::string formula) {
  OpCost o;
  o.key              = std::move(key);
  o.label            = std::move(label);
  o.flops            = flops;
  o.weight_bytes     = weight;
  o.kv_read_bytes    = kv_read;
  o.kv_write_bytes   = kv_write;
  o.activation_bytes = act;
  const double vec   = c.d.peak16_flops_per_s * c.d.k.gemm_peak_fraction * kVectorToTensorRatio;
  const double tc    = compute_seconds + vector_ops / vec;
  const double tm =
      (weight + kv_read + kv_write) / (c.d.memory_bandwidth_bytes_per_s * kStreamingBwFraction) +
      memory_seconds(c.d, act);
  o.seconds = std::max(tc, tm);
  o.bound   = tc > tm ? "compute" : "memory";
  if (!c.explain) return o;
  o.derivation = {
      "max(GEMM compute (perf_model) + dequant ops / vector rate, (weights + KV) / (BW * "
      "f_stream) + activations / (BW * f_mem))",
      fmt::format("{}; max({:.4g} + {:.4g} / {:.4g}, {:.4g} / {:.4g} + {:.4g} / {:.4g}) = {:.4g} s",
                  formula, compute_seconds, vector_ops, vec, weight + kv_read + kv_write,
                  c.d.memory_bandwidth_bytes_per_s * kStreamingBwFraction, act,
                  c.d.memory_bandwidth_bytes_per_s * c.d.k.memory_bw_fraction, o.seconds),
      "roofline per operator (Williams et al. 2009); GEMM shape efficiency and fractions of "
      "peak from the shared performance model (perf_model.hpp)"};
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

// Shape efficiency of a serving GEMM: the shared model's tile and wave quantization
// (perf_model.hpp gemm_shape_efficiency), with the two choices libraries make for the few-row
// products of decode and short prefills: row tiles as small as the rows (CUTLASS/cuBLAS ship
// 16-, 32- and 64-row tiles), and split-K, which cuts the k dimension into slices of at least
// 256 so that the tiles fill the SMs (CUTLASS "split-K" and "stream-K"; Osama et al. 2023).
double serving_gemm_efficiency(const DeviceModel& d, double m, double n, double k) {
  if (m >= d.k.tile_m || d.sm_count <= 0) return gemm_shape_efficiency(d, m, n, k);
  const double tm    = std::clamp(std::exp2(std::ceil(std::log2(std::max(m, 1.0)))), 16.0,
                                  static_cast<double>(d.k.tile_m));
  const double tn    = d.k.tile_n;
  const double tile  = (m * n) / (std::ceil(m / tm) * tm * std::ceil(n / tn) * tn);
  const double tiles = std::ceil(m / tm) * std::ceil(n / tn);
  const double sms   = static_cast<double>(d.sm_count);
  const double split = std::max(1.0, std::min(std::floor(sms / tiles), std::floor(k / 256)));
  const double work  = tiles * split;
  return tile * work / (std::ceil(work / sms) * sms);
}

// GEMM compute seconds of the matrices of some components for m rows (tokens), with the
// shared model's tile/wave shape efficiency. Routed experts: each touched expert gets
// m k / touched rows on average.
struct MatTally {
  double flops = 0, compute = 0, bytes = 0, dequant = 0;
};
MatTally mat_tally(const Ctx& c, std::initializer_list<Component> comps, double m,
                   double touched_fraction) {
  MatTally t;
  const double rate = c.d.peak_flops_per_s * c.d.k.gemm_peak_fraction;
  for (const Mat& x : c.mats) {
    if (std::find(comps.begin(), comps.end(), x.comp) == comps.end()) continue;
    double rows = m, count = x.count, frac = 1;
    if (x.comp == Component::routed_experts) {
      const double E = static_cast<double>(c.m.n_expert),
                   k = static_cast<double>(c.m.n_expert_used);
      frac           = touched_fraction;
      count          = x.count * frac;                   // matrices used
      rows           = m * k / std::max(1.0, E * frac);  // rows per used expert
    }
    const double f = 2 * rows * x.n * x.k * count;
    t.flops += f;
    t.compute += f / (rate * serving_gemm_efficiency(c.d, rows, x.n, x.k));
    t.bytes += x.bytes * frac;
    t.dequant += kDequantOpsPerElement * x.quantized * frac;
  }
  return t;
}

}  // namespace

double expected_distinct_experts(double n_expert, double k, double tokens) {
  if (n_expert <= 0) return 0;
  return n_expert * (1 - std::pow(1 - k / n_expert, tokens));
}

StepTime step_with_ctx(const Ctx& c, const StepShape& sh) {
  const ModelSpec& m           = c.m;
  const InferenceInput& in     = c.in;
  const ServingLayout& layout  = c.layout;
  const ServingEfficiency& eff = c.eff;
  const double b               = static_cast<double>(sh.sequences);
  const double T               = static_cast<double>(sh.new_tokens);
  const double P               = static_cast<double>(sh.past_tokens);
  const double B               = b * T;  // tokens in the step
  const double t               = static_cast<double>(layout.tp);
  const double d               = static_cast<double>(m.n_embd);
  const double L               = static_cast<double>(c.L);
  const double ab              = act_bytes(in.weights);
  const bool decode            = sh.new_tokens == 1;
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

  // Token embedding: one row per new token.
  add(roofline_op(c, "embedding", "token embedding lookup", 0, 0, 0, B * d * ab, 0, 0, B * d * ab,
                  F(c, "B * d * a = {} * {} * {}", B, d, ab)));

  // Attention projections (q, k, v, o; MLA's down/up projections).
  const MatTally at = mat_tally(c, {Component::attention}, B, 1);
  add(roofline_op(c, "attention_proj", "attention projections", at.flops, at.compute, at.dequant,
                  at.bytes, 0, 0,
                  L * B * ab *
                      (2 * d + 2 * static_cast<double>(m.q_width()) / t +
                       2 * static_cast<double>(m.kv_width()) / t),
                  F(c, "GEMMs of B = {} rows, 2 * B * N_attn/t = {:.4g} FLOPs", B, at.flops)));

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
    const double w = c.windows[static_cast<std::size_t>(i)];
    pairs += attended_pairs(b, T, P, w);
    // Decode reads each cached token of the window once per sequence per layer.
    kv_read += b * (w > 0 ? std::min(w, P) : P) * c.kv_token_layer;
  }
  const double kv_write = B * c.kv_token;
  const double kv_dq =
      in.kv_bytes < 2 ? (kv_read / in.kv_bytes) * kDequantOpsPerElement : 0;  // fp8/int8 KV
  const double attn_flops = 2 * Hg * width * pairs;
  add(roofline_op(c, "attention_core", "attention over the KV cache", attn_flops,
                  attention_seconds(c.d, attn_flops), kv_dq, 0, kv_read, kv_write, 0,
                  F(c,
                    "FLOPs 2 * H/t * width * pairs = 2 * {} * {} * {:.4g}; KV read "
                    "{:.4g}, written B * c = {:.4g}",
                    Hg, width, pairs, kv_read, kv_write)));

  // Dense MLP.
  const MatTally ml = mat_tally(c, {Component::mlp}, B, 1);
  if (ml.flops > 0) {
    const double f = static_cast<double>(m.n_ff);
    add(roofline_op(
        c, "mlp", "dense MLP", ml.flops, ml.compute, ml.dequant, ml.bytes, 0, 0,
        (L - c.moe_layers) * B * ab * (2 * d + (m.mlp == MlpKind::gated ? 3 : 2) * f / t),
        F(c, "GEMMs of B = {} rows, {:.4g} FLOPs", B, ml.flops)));
  }

  // Mixture of experts: router, shared experts, and the routed experts the step touches.
  if (m.is_moe() && c.moe_layers > 0) {
    const double E = static_cast<double>(m.n_expert), k = static_cast<double>(m.n_expert_used);
    const double touched = expected_distinct_experts(E, k, B);
    const MatTally mo =
        mat_tally(c, {Component::routed_experts, Component::shared_experts, Component::router}, B,
                  touched / E);
    add(roofline_op(c, "moe_experts", "MoE: routed experts touched + shared + router", mo.flops,
                    mo.compute, mo.dequant, mo.bytes, 0, 0,
                    c.moe_layers * B * ab * (2 * d + 3 * k * d / t),
                    F(c,
                      "experts read E * (1 - (1 - k/E)^B) = {} * (1 - (1 - {}/{})^{}) = {:.4g} of "
                      "{} per layer; {:.4g} FLOPs",
                      E, k, E, B, touched, E, mo.flops)));
  }

  // Norms, residual adds, activations: a few reads and writes of B x d per layer.
  add(roofline_op(c, "elementwise", "norms, residuals, rotary", 0, 0, 0,
                  c.w.bytes[static_cast<int>(Component::norm)], 0, 0, L * B * d * ab * 8,
                  F(c, "bytes 8 * L * B * d * a = 8 * {} * {} * {} * {}", L, B, d, ab)));

  // LM head on the last token of every sequence (prefill samples one token per sequence).
  const MatTally hd = mat_tally(c, {Component::output_head}, b, 1);
  add(roofline_op(c, "lm_head", "output head (last token of each sequence)", hd.flops, hd.compute,
                  0, hd.bytes, 0, 0, b * static_cast<double>(m.n_vocab) * 4 / t,
                  F(c, "GEMM of b = {} rows, {:.4g} FLOPs", b, hd.flops)));

  // Collectives from the shared model (ring/tree with per-message latency).
  auto comm = [&](std::string key, std::string label, double calls, Collective kind, double bytes,
                  std::int64_t n, std::string formula) {
    OpCost o;
    o.key            = std::move(key);
    o.label          = std::move(label);
    o.comm_bytes     = calls * bytes;
    const double one = collective_seconds(c.d, kind, bytes, place_group(n, 1, c.d.domain_gpus));
    o.seconds        = calls * one;
    o.bound          = "communication";
    o.derivation     = {"calls * collective(bytes, n) (perf_model.hpp)",
                        F(c, "{}; {} * {:.4g} s = {:.4g} s", formula, calls, one, o.seconds),
                        "ring/tree collectives with per-message latency (Thakur et al. "
                            "2005), shared with the training model"};
    add(std::move(o));
  };
  if (layout.tp > 1)
    comm("tp_all_reduce", "tensor-parallel all-reduce (2 per layer)", 2 * L, Collective::all_reduce,
         B * d * ab, layout.tp,
         F(c, "all-reduce of B * d * a = {:.4g} bytes over t = {}", B * d * ab, layout.tp));
  if (layout.ep > 1)
    comm("ep_all_to_all", "expert-parallel all-to-all (dispatch + combine)", 2 * c.moe_layers,
         Collective::all_to_all,
         B * static_cast<double>(m.n_expert_used) * d * ab / static_cast<double>(layout.ep),
         layout.ep, "send buffer B * k * d * a / e per GPU");
  if (layout.pp > 1)
    comm("pp_send", "pipeline sends between stages", static_cast<double>(layout.pp - 1),
         Collective::p2p, B * d * ab, layout.pp * layout.tp,
         "activations B * d * a per stage boundary");
  if (eff.step_overhead_seconds > 0) {
    OpCost o;
    o.key        = "step_overhead";
    o.label      = "per-forward overhead (launch, scheduling, sampling)";
    o.seconds    = eff.step_overhead_seconds;
    o.bound      = "overhead";
    o.derivation = {"constant", F(c, "{:.3g} s", o.seconds), "see docs/serving.md"};
    st.seconds += o.seconds;
    st.ops.push_back(o);
  }
  return st;
}

StepTime serving_step(const ModelSpec& m, const InferenceInput& in, const ServingLayout& layout,
                      const DeviceModel& hw, const ServingEfficiency& eff, const StepShape& sh) {
  if (sh.sequences < 1 || sh.new_tokens < 1 || sh.past_tokens < 0)
    throw InputError("invalid step", "batch", "needs at least one sequence and one new token");
  return step_with_ctx(make_ctx(m, in, layout, hw, eff), sh);
}

ServingReport serve_static(const ModelSpec& m, const InferenceInput& in,
                           const ServingLayout& layout, const DeviceModel& hw,
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

  // Smallest batch whose decode step (at context P) is compute-bound as a whole: its FLOPs at
  // the achievable GEMM rate take longer than its bytes at the streaming bandwidth (the
  // roofline ridge; per-operator tile effects aside, which make the crossing non-monotonic).
  // Doubling then bisection: FLOPs grow with the batch faster than bytes.
  Ctx c              = make_ctx(m, in, layout, hw, eff);
  c.explain          = false;
  auto compute_bound = [&](I bb) {
    const StepTime s = step_with_ctx(c, {bb, 1, prompt});
    return s.flops / (hw.peak_flops_per_s * hw.k.gemm_peak_fraction) >
           s.bytes / (hw.memory_bandwidth_bytes_per_s * kStreamingBwFraction);
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

double StepCostModel::tokens_seconds(double tokens) const {
  // Whole token counts up to the table's end: one lookup (the simulator's common case).
  if (tokens >= 1 && tokens < static_cast<double>(by_token.size()) && tokens == std::floor(tokens))
    return by_token[static_cast<std::size_t>(tokens)];
  const auto& g = grid_tokens;
  if (tokens <= g.front()) return grid_seconds.front();
  if (tokens >= g.back()) return grid_seconds.back() * tokens / g.back();
  const auto i =
      static_cast<std::size_t>(std::upper_bound(g.begin(), g.end(), tokens) - g.begin()) - 1;
  const double f = (tokens - g[i]) / (g[i + 1] - g[i]);
  return grid_seconds[i] + f * (grid_seconds[i + 1] - grid_seconds[i]);
}

double StepCostModel::seconds(double tokens, double pairs, double kv_read) const {
  return tokens_seconds(tokens) +
         std::max(pairs * attn_flops_per_pair / attn_rate,
                  kv_bytes_per_token * (kv_read + tokens) / memory_rate) +
         overhead_seconds;
}

double StepCostModel::decode_run_seconds(double n, double ctx0, double j) const {
  if (j <= 0) return 0;
  // Step i: attention compute c0 + c1 i, KV traffic m0 + m1 i (affine in the context
  // ctx0 + i n); everything else depends only on n.
  const double c0    = (ctx0 + n) * attn_flops_per_pair / attn_rate;
  const double c1    = n * attn_flops_per_pair / attn_rate;
  const double m0    = kv_bytes_per_token * (ctx0 + n) / memory_rate;
  const double m1    = n * kv_bytes_per_token / memory_rate;
  const double fixed = tokens_seconds(n) + overhead_seconds;
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
                              const ServingLayout& layout, const DeviceModel& hw,
                              const ServingEfficiency& eff) {
  Ctx c                       = make_ctx(m, in, layout, hw, eff);
  c.explain                   = false;
  c.eff.step_overhead_seconds = 0;
  StepCostModel s;
  const double t = static_cast<double>(layout.tp);
  const double width =
      m.attention == AttentionKind::mla
          ? static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
          : 2 * static_cast<double>(m.head_dim);
  s.attn_flops_per_pair = 2 * static_cast<double>(m.n_head) / t * width;
  s.attn_rate           = hw.peak16_flops_per_s * hw.k.attention_peak_fraction;
  s.kv_bytes_per_token  = c.kv_token;
  s.memory_rate         = hw.memory_bandwidth_bytes_per_s * kStreamingBwFraction;
  s.overhead_seconds    = eff.step_overhead_seconds;
  // Everything but attention and overhead, from the step model itself at B tokens of B
  // sequences (decode-like: the head runs once per token), on a grid of 3 points per octave.
  for (double x = 0; x <= 17.0001; x += 1.0 / 3) {
    const I tokens = std::max<I>(1, static_cast<I>(std::llround(std::exp2(x))));
    if (!s.grid_tokens.empty() && static_cast<double>(tokens) <= s.grid_tokens.back()) continue;
    const StepTime st = step_with_ctx(c, {tokens, 1, 0});
    double sec        = 0;
    for (const auto& o : st.ops)
      if (o.key != "attention_core") sec += o.seconds;
    s.grid_tokens.push_back(static_cast<double>(tokens));
    s.grid_seconds.push_back(sec);
  }
  // Whole token counts to 4096 by one walk along the grid.
  s.by_token.assign(4097, 0.0);
  std::size_t gi = 0;
  for (std::size_t i = 1; i < s.by_token.size(); ++i) {
    const double x = static_cast<double>(i);
    while (gi + 2 < s.grid_tokens.size() && s.grid_tokens[gi + 1] <= x) ++gi;
    const double f = (x - s.grid_tokens[gi]) / (s.grid_tokens[gi + 1] - s.grid_tokens[gi]);
    s.by_token[i]  = s.grid_seconds[gi] + f * (s.grid_seconds[gi + 1] - s.grid_seconds[gi]);
  }
  return s;
}

}  // namespace sizeup
