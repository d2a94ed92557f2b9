// FLOPs of a transformer by operation, counted from its tensor table (tensors.hpp): every
// weight multiplied by the activations of each token costs 2 FLOPs per weight element (one
// multiply-add), plus the two attention products QK^T and softmax·V, which have no weights.
//
// Legend: L layers, d hidden size, H query heads, Q head width, T sequence length (keys seen
// by a query with full attention), W sliding window, V vocabulary, f MLP inner width,
// E routed experts, k experts per token, N parameters, B sequences per step.
//
// Conventions (docs/flops.md):
// - Only matrix products are counted (Kaplan et al. 2020, Table 1: "sub-leading terms such as
//   nonlinearities, biases, and layer normalization are omitted"). The embedding is a table
//   lookup: 0 FLOPs.
// - Attention products: 2·H·Q·keys each per token and layer; keys = T (every query against
//   every key, as eager attention computes it), or with causal halving the mean number of
//   unmasked keys per query, (T+1)/2. Sliding-window layers see min(W, T) keys (with halving
//   the mean of min(i, W) over the positions i = 1..T).
// - Backward = 2 x forward (the gradient with respect to the input and to the weight each
//   cost one forward product; Kaplan et al. 2020, Sec. 2.1), so model FLOPs = 3 x forward.
// - Recomputation (Korthikanti et al. 2022, Sec. 4-5): selective repeats the forward of
//   QK^T and softmax·V; full repeats the forward of every layer (not the output head).
#include "sizeup/flops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"
#include "sizeup/params.hpp"
#include "sizeup/ssm.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

constexpr const char* kMatmulSource =
    "tensor table (sizeup/tensors.hpp); a {out x in} weight costs 2 * out * in FLOPs per token";
constexpr const char* kKaplan = "Kaplan et al. 2020, Table 1";
constexpr const char* kPalm   = "Chowdhery et al. 2022 (PaLM), Appendix B";
constexpr const char* kNarayanan =
    "Narayanan et al. 2021, Eq. 3 (per iteration, includes the full-recomputation forward)";
constexpr const char* kKorthikanti7 = "Korthikanti et al. 2022, Appendix A, Eq. 7 (model FLOPs)";
constexpr const char* kKorthikanti8 =
    "Korthikanti et al. 2022, Appendix A, Eq. 8 (hardware FLOPs, selective recomputation)";

double D(std::int64_t v) { return static_cast<double>(v); }
std::string num(double v) {
  // Integers (the usual case) in full, anything else with 6 significant digits.
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

const char* module_label(const std::string& module) {
  static const std::pair<const char*, const char*> names[] = {
      {"q_proj", "query projection"},
      {"k_proj", "key projection"},
      {"v_proj", "value projection"},
      {"o_proj", "output projection"},
      {"q_a_proj", "MLA query down-projection (q_a)"},
      {"q_b_proj", "MLA query up-projection (q_b)"},
      {"kv_a_proj_with_mqa", "MLA key/value down-projection (kv_a)"},
      {"kv_b_proj", "MLA key/value up-projection (kv_b)"},
      {"gate_proj", "gate projection"},
      {"up_proj", "up projection"},
      {"down_proj", "down projection"},
      {"shared_expert_gate", "shared-expert gate"},
      {"router", "router"},
      {"project_in", "embedding projection in"},
      {"project_out", "embedding projection out"},
      {"lm_head", "output head (de-embedding)"},
      {"pooler", "pooler (first token of each sequence)"}};
  for (const auto& [k, v] : names)
    if (module == k) return v;
  return nullptr;
}

// Where a tensor's rows go: key prefix and label prefix, by stack and role.
struct Place {
  std::string key;
  std::string label;
  bool in_layer = false;
};

Place place_of(const ModelSpec& m, const Tensor& t) {
  Place p;
  std::string kp, lp;
  if (m.encoder_decoder && t.component != Component::output_head &&
      t.component != Component::token_embedding) {
    kp = t.stack == Stack::encoder ? "encoder_" : "decoder_";
    lp = t.stack == Stack::encoder ? "encoder " : "decoder ";
  }
  const bool cross = t.source == AttnSource::cross;
  const char* ml   = module_label(t.module);
  const std::string what =
      std::string(ml ? ml : t.module.c_str()) +
      (t.hf_module != t.module ? " (in fused " + t.hf_module + ")" : std::string());
  switch (t.component) {
    case Component::attention:
      p.key   = kp + (cross ? "cross_attn_" : "attn_") + t.module;
      p.label = lp + (cross ? "cross-attention " : "attention ") + what;
      break;
    case Component::mlp:
      p.key   = kp + "mlp_" + t.module;
      p.label = lp + "MLP " + what;
      break;
    case Component::router:
      p.key   = "moe_router";
      p.label = "MoE router";
      break;
    case Component::routed_experts:
      p.key = "moe_experts_" + t.module;
      p.label =
          fmt::format("MoE routed experts {} ({} of {} active)", what, m.n_expert_used, m.n_expert);
      break;
    case Component::shared_experts:
      p.key   = "moe_shared_" + t.module;
      p.label = "MoE shared experts " + what;
      break;
    case Component::mtp:
      p.key   = "mtp_" + t.module;
      p.label = "multi-token prediction " + what;
      break;
    case Component::output_head:
      p.key   = "output_head";
      p.label = what;
      break;
    case Component::ssm:
      p.key   = "ssm_" + t.module;
      p.label = "recurrent mixer " + what;
      break;
    default:  // embedding projections (OPT-350m), pooler (BERT)
      p.key   = t.module;
      p.label = what;
  }
  p.in_layer = t.in_layers();
  return p;
}

struct Builder {
  FlopsReport& r;
  std::vector<bool> in_layer;  // parallel to r.forward_per_token.rows
  std::vector<bool> is_core;

  void add(const std::string& key, const std::string& label, FlopCount v, const Derivation& d,
           bool layer, bool core = false) {
    auto& rows = r.forward_per_token.rows;
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (rows[i].key == key) {  // a second tensor for the same operation: sum
        rows[i].value += v;
        rows[i].derivation.formula += " + " + d.formula;
        rows[i].derivation.substituted += " + " + d.substituted;
        return;
      }
    rows.push_back({key, label, v, d});
    in_layer.push_back(layer);
    is_core.push_back(core);
  }
};

// Mean number of keys a query attends to. Causal with halving: query i (1-based) sees
// min(i, W) keys; the mean over i = 1..T is (T+1)/2 without a window, and
// (W(W+1)/2 + (T-W)·W) / T with a window W < T.
double mean_keys(std::int64_t T, std::int64_t window, bool causal_halving) {
  const std::int64_t W = window > 0 ? std::min(window, T) : T;
  if (!causal_halving) return D(W);
  if (W >= T) return (D(T) + 1.0) / 2.0;
  return (D(W) * (D(W) + 1.0) / 2.0 + (D(T) - D(W)) * D(W)) / D(T);
}

std::string keys_formula(std::int64_t window, bool causal_halving) {
  if (window <= 0) return causal_halving ? "(T + 1) / 2" : "T";
  return causal_halving ? "mean(min(i, W), i = 1..T)" : "min(W, T)";
}

// QK^T and softmax·V of one attention kind (self or cross) in one stack.
struct CoreShape {
  std::string key_prefix;    // e.g. "", "encoder_", "decoder_cross_"
  std::string label_prefix;  // e.g. "", "encoder ", "decoder cross-attention "
  std::int64_t full_layers    = 0;
  std::int64_t sliding_layers = 0;
  bool causal                 = true;
};

void attention_core(Builder& b, const ModelSpec& m, const FlopsInput& in, const CoreShape& c) {
  const bool mla        = m.attention == AttentionKind::mla;
  const std::int64_t H  = m.n_head;
  const std::int64_t Qk = mla ? m.qk_nope_head_dim + m.qk_rope_head_dim : m.head_dim;
  const std::int64_t Qv = mla ? m.v_head_dim : m.head_dim;
  const bool halve      = in.causal_halving && c.causal;
  const double k_full   = mean_keys(in.seq_len, 0, halve);
  const double k_slide  = mean_keys(in.seq_len, m.sliding_window, halve);
  const double keys     = D(c.full_layers) * k_full + D(c.sliding_layers) * k_slide;

  std::string keys_f      = c.sliding_layers == 0
                                ? "L * " + keys_formula(0, halve)
                                : fmt::format("L_full * {} + L_sliding * {}", keys_formula(0, halve),
                                              keys_formula(m.sliding_window, halve));
  std::string keys_s      = c.sliding_layers == 0
                                ? fmt::format("{} * {}", c.full_layers, num(k_full))
                                : fmt::format("{} * {} + {} * {}", c.full_layers, num(k_full),
                                              c.sliding_layers, num(k_slide));
  const std::string where = c.sliding_layers > 0
                                ? fmt::format(", with W = {}, T = {}", m.sliding_window, in.seq_len)
                                : fmt::format(", with T = {}", in.seq_len);
  const std::string why =
      std::string(halve ? "causal halving: mean unmasked keys per query"
                        : (c.causal ? "every query against every key (no causal halving)"
                                    : "bidirectional: every query against every key")) +
      "; one multiply-add per head, key and head dimension";
  const std::string qk_w = mla ? "(qk_nope + qk_rope)" : "Q";
  const std::string v_w  = mla ? "v_head_dim" : "Q";
  b.add(c.key_prefix + "attn_scores", c.label_prefix + "attention scores QK^T",
        2.0 * D(H) * D(Qk) * keys,
        {"2 * H * " + qk_w + " * (" + keys_f + ")",
         fmt::format("2 * {} * {} * ({}){}", H, Qk, keys_s, where),
         "PaLM Appendix B (2·Q·T per head and token); " + why},
        true, true);
  b.add(c.key_prefix + "attn_values", c.label_prefix + "attention weighted sum softmax(QK^T) V",
        2.0 * D(H) * D(Qv) * keys,
        {"2 * H * " + v_w + " * (" + keys_f + ")",
         fmt::format("2 * {} * {} * ({}){}", H, Qv, keys_s, where),
         "PaLM Appendix B (2·Q·T per head and token); " + why},
        true, true);
}

void add_matmuls(Builder& b, const ModelSpec& m, const FlopsInput& in) {
  for (const Tensor& t : tensor_table(m)) {
    if (!t.is_matmul || is_tower_component(t.component)) continue;  // per image: towers.hpp
    const Place p                   = place_of(m, t);
    std::vector<std::int64_t> shape = t.shape;
    double per_layer                = 2.0;
    std::string f = "2", s = "2";
    // {E, out, in}: only k experts per token (also the experts of a multi-token-prediction layer)
    if (t.component == Component::routed_experts ||
        (t.component == Component::mtp && t.split == Split::expert)) {
      per_layer *= D(m.n_expert_used);
      f += " * k";
      s += fmt::format(" * {}", m.n_expert_used);
      shape.erase(shape.begin());
    }
    if (t.repeat > 1) {
      f += " * L";
      s += fmt::format(" * {}", t.repeat);
    }
    for (auto x : shape) per_layer *= D(x);
    f += shape.size() == 2 ? " * out * in" : " * out";
    for (auto x : shape) s += fmt::format(" * {}", x);
    double v        = per_layer * D(t.repeat);
    std::string src = kMatmulSource;
    if (t.component == Component::pooler) {  // applied to the first token of each sequence only
      v /= D(in.seq_len);
      f += " / T";
      s += fmt::format(" / {}", in.seq_len);
      src += "; the pooler sees one token per sequence";
    }
    if (t.component == Component::output_head && t.tied)
      src += "; tied head multiplies by the embedding";
    b.add(p.key, p.label, v, {f, s, src}, p.in_layer);
  }
}

void add_attention_cores(Builder& b, const ModelSpec& m, const FlopsInput& in) {
  if (m.encoder_decoder) {
    attention_core(b, m, in, {"encoder_", "encoder ", m.n_layer, 0, false});
    attention_core(b, m, in, {"decoder_", "decoder ", m.n_layer_dec, 0, true});
    attention_core(b, m, in, {"decoder_cross_", "decoder cross-", m.n_layer_dec, 0, false});
    return;
  }
  const std::int64_t sliding = m.sliding_window > 0 ? m.n_sliding_layers() : 0;
  const std::int64_t full    = m.n_attention_layers() - sliding;
  if (full + sliding > 0) attention_core(b, m, in, {"", "", full, sliding, m.causal});
  // Recurrent layers: depthwise convolution and scan, linear in T (ssm.hpp).
  for (const auto& row : recurrent_flops_per_token(m).rows)
    b.add(row.key, row.label, row.value, row.derivation, true);
}

void add_approximations(FlopsReport& r, const ModelSpec& m, const FlopsInput& in) {
  auto& a                 = r.approximations.rows;
  const ParamsReport pr   = count_params(m);
  const double N          = D(static_cast<std::int64_t>(pr.total));
  const double Na         = D(static_cast<std::int64_t>(pr.active));
  const double Nne        = Na - D(static_cast<std::int64_t>(pr.embedding));
  const AttentionShape sh = attention_shape(m, in.seq_len);
  const double L = D(sh.n_layer), H = D(sh.n_head), Q = D(sh.head_dim), T = D(in.seq_len);
  const double d = D(m.n_embd), V = D(m.n_vocab), f = D(m.n_ff), d_attn = H * Q;
  const std::string Ls = num(L), ds = num(d), Ts = num(T), das = num(d_attn), Vs = num(V);

  a.push_back({"forward_2n",
               "2N forward (N = total parameters)",
               2.0 * N,
               {"2 * N", "2 * " + num(N), "Kaplan et al. 2020, Sec. 2.1 (forward 2N)"}});
  a.push_back({"training_6n",
               "6N training (N = total parameters)",
               6.0 * N,
               {"6 * N", "6 * " + num(N), "Kaplan et al. 2020, Sec. 2.1 (C = 6N per token)"}});
  if (m.is_moe()) {
    a.push_back({"forward_2n_active",
                 "2N forward (N = active parameters per token)",
                 2.0 * Na,
                 {"2 * N_active", "2 * " + num(Na), "Kaplan et al. 2020, Sec. 2.1, active N"}});
    a.push_back({"training_6n_active",
                 "6N training (N = active parameters per token)",
                 6.0 * Na,
                 {"6 * N_active", "6 * " + num(Na), "Kaplan et al. 2020, Sec. 2.1, active N"}});
  }
  // Kaplan Table 1, row by row, with n_ctx = T and d_attn = H·Q.
  a.push_back({"kaplan_embed", "Kaplan: embed", 4.0 * d, {"4 * d_model", "4 * " + ds, kKaplan}});
  a.push_back({"kaplan_attention_qkv",
               "Kaplan: attention QKV",
               2.0 * L * d * 3.0 * d_attn,
               {"2 * n_layer * d_model * 3 * d_attn",
                fmt::format("2 * {} * {} * 3 * {}", Ls, ds, das), kKaplan}});
  a.push_back(
      {"kaplan_attention_mask",
       "Kaplan: attention mask (scores)",
       2.0 * L * T * d_attn,
       {"2 * n_layer * n_ctx * d_attn", fmt::format("2 * {} * {} * {}", Ls, Ts, das), kKaplan}});
  a.push_back(
      {"kaplan_attention_project",
       "Kaplan: attention project",
       2.0 * L * d_attn * d,
       {"2 * n_layer * d_attn * d_embd", fmt::format("2 * {} * {} * {}", Ls, das, ds), kKaplan}});
  a.push_back(
      {"kaplan_feedforward",
       "Kaplan: feedforward",
       2.0 * L * 2.0 * d * f,
       {"2 * n_layer * 2 * d_model * d_ff", fmt::format("2 * {} * 2 * {} * {}", Ls, ds, num(f)),
        std::string(kKaplan) + (m.mlp == MlpKind::gated || m.is_moe()
                                    ? "; assumes a plain 2-matrix MLP of width d_ff"
                                    : "")}});
  a.push_back({"kaplan_deembed",
               "Kaplan: de-embed",
               2.0 * d * V,
               {"2 * d_model * n_vocab", fmt::format("2 * {} * {}", ds, Vs), kKaplan}});
  a.push_back({"kaplan_forward",
               "Kaplan: C_forward = 2N + 2 n_layer n_ctx d_attn",
               2.0 * Nne + 2.0 * L * T * d_attn,
               {"2 * N + 2 * n_layer * n_ctx * d_attn (N non-embedding" +
                    std::string(m.is_moe() ? ", active" : "") + " parameters)",
                fmt::format("2 * {} + 2 * {} * {} * {}", num(Nne), Ls, Ts, das),
                std::string(kKaplan) + ", Total row (de-embedding not included)"}});
  a.push_back(
      {"palm",
       "PaLM: 6N + 12 L H Q T (training)",
       6.0 * Na + 12.0 * L * H * Q * T,
       {"6 * N + 12 * L * H * Q * T" + std::string(m.is_moe() ? " (N active)" : ""),
        fmt::format("6 * {} + 12 * {} * {} * {} * {}", num(Na), Ls, num(H), num(Q), Ts), kPalm}});
  // Megatron-LM forms assume f = 4h, H·Q = h and no GQA; s = T, h = d, l = L.
  const double h = d, l = L, s = T;
  a.push_back({"narayanan",
               "Narayanan et al. Eq. 3 (training + full recompute)",
               96.0 * l * h * h + 16.0 * l * s * h + 6.0 * h * V,  // the same, expanded: exact
               {"96 * B * s * l * h^2 * (1 + s / (6h) + V / (16 l h)) / (B * s)",
                fmt::format("96 * {} * {}^2 * (1 + {} / (6 * {}) + {} / (16 * {} * {}))", Ls, ds,
                            Ts, ds, Vs, Ls, ds),
                kNarayanan}});
  a.push_back({"korthikanti_model",
               "Korthikanti et al. Eq. 7 (model FLOPs)",
               72.0 * l * h * h + 12.0 * l * s * h + 6.0 * h * V,  // expanded: exact
               {"72 * B * L * s * h^2 * (1 + s / (6h) + v / (12 h L)) / (B * s)",
                fmt::format("72 * {} * {}^2 * (1 + {} / (6 * {}) + {} / (12 * {} * {}))", Ls, ds,
                            Ts, ds, Vs, ds, Ls),
                kKorthikanti7}});
  a.push_back({"korthikanti_selective",
               "Korthikanti et al. Eq. 8 (selective recompute)",
               72.0 * l * h * h + 24.0 * l * s * h + 6.0 * h * V,  // expanded: exact
               {"72 * B * L * s * h^2 * (1 + s / (3h) + v / (12 h L)) / (B * s)",
                fmt::format("72 * {} * {}^2 * (1 + {} / (3 * {}) + {} / (12 * {} * {}))", Ls, ds,
                            Ts, ds, Vs, ds, Ls),
                std::string(kKorthikanti8) +
                    "; its increment over Eq. 7 is 12·L·s·h, three times the 4·L·s·h forward of "
                    "QK^T and softmax·V that selective recomputation repeats"}});
}

void require_finite(const FlopsReport& r) {
  const double all[] = {r.forward_per_token_total, r.training_per_token, r.hardware_per_token,
                        r.forward_per_step,        r.training_per_step,  r.hardware_per_step};
  for (double v : all)
    if (!std::isfinite(v))
      throw InputError("result out of range", "--batch", "the inputs give a non-finite result");
}

}  // namespace

FlopsReport flops(const ModelSpec& m, const FlopsInput& in) {
  if (in.seq_len < 1) throw InputError("invalid workload", "--seq", "must be at least 1 token");
  if (in.batch < 1) throw InputError("invalid workload", "--batch", "must be at least 1 sequence");
  validate(m);
  check_sequence_length(m, in.seq_len, "--seq");

  FlopsReport r;
  Builder b{r, {}, {}};
  b.add("embedding", "token embedding (lookup)", 0.0,
        {"0", "gather of one row per token",
         "no multiply-adds (Kaplan et al. 2020 list 4·d_model "
         "for the embedding, not counted here)"},
        false);
  add_matmuls(b, m, in);
  add_attention_cores(b, m, in);
  // Keep the output head (and embedding projections and pooler) last, after the layers.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < r.forward_per_token.rows.size(); ++i)
    if (b.in_layer[i] || r.forward_per_token.rows[i].key == "embedding") order.push_back(i);
  for (std::size_t i = 0; i < r.forward_per_token.rows.size(); ++i)
    if (!b.in_layer[i] && r.forward_per_token.rows[i].key != "embedding") order.push_back(i);
  Breakdown<FlopCount> sorted;
  for (std::size_t i : order) {
    const auto& row = r.forward_per_token.rows[i];
    sorted.rows.push_back(row);
    r.forward_per_token_total += row.value;
    if (b.in_layer[i]) r.layer_forward_per_token += row.value;
    if (b.is_core[i]) r.attention_core_per_token += row.value;
  }
  r.forward_per_token = std::move(sorted);

  r.backward_per_token = 2.0 * r.forward_per_token_total;
  r.training_per_token = r.forward_per_token_total + r.backward_per_token;
  Derivation rec{"0", "no recomputation", "Korthikanti et al. 2022, Sec. 5"};
  if (in.recompute == Recompute::selective) {
    r.recompute_per_token = r.attention_core_per_token;
    rec                   = {"forward of QK^T and softmax·V", num(r.attention_core_per_token),
                             "selective recomputation (Korthikanti et al. 2022, Sec. 4.2)"};
  } else if (in.recompute == Recompute::full) {
    r.recompute_per_token = r.layer_forward_per_token;
    rec = {"forward of every layer (output head excluded)", num(r.layer_forward_per_token),
           "full recomputation (Korthikanti et al. 2022, Sec. 4; Narayanan et al. 2021, Sec. 3.5)"};
  }
  r.hardware_per_token = r.training_per_token + r.recompute_per_token;
  const double tokens  = D(in.batch) * D(in.seq_len);
  r.forward_per_step   = r.forward_per_token_total * tokens;
  r.training_per_step  = r.training_per_token * tokens;
  r.hardware_per_step  = r.hardware_per_token * tokens;

  const std::string bt = fmt::format("{} * {}", in.batch, in.seq_len);
  auto& t              = r.totals.rows;
  t.push_back({"forward_per_token",
               "forward per token",
               r.forward_per_token_total,
               {"sum of the operations", num(r.forward_per_token_total), kMatmulSource}});
  t.push_back({"backward_per_token",
               "backward per token",
               r.backward_per_token,
               {"2 * forward", "2 * " + num(r.forward_per_token_total),
                "input and weight gradients: two products per forward product (Kaplan et al. "
                "2020, Sec. 2.1)"}});
  t.push_back({"training_per_token",
               "model FLOPs per token (forward + backward)",
               r.training_per_token,
               {"3 * forward", "3 * " + num(r.forward_per_token_total), "PaLM Appendix B (MFU)"}});
  t.push_back({"recompute_per_token",
               std::string("recomputation per token (") + to_string(in.recompute) + ")",
               r.recompute_per_token, rec});
  t.push_back({"hardware_per_token",
               "hardware FLOPs per token",
               r.hardware_per_token,
               {"model + recompute", num(r.training_per_token) + " + " + num(r.recompute_per_token),
                "PaLM Appendix B (HFU counts rematerialisation)"}});
  t.push_back({"forward_per_step",
               "forward per step",
               r.forward_per_step,
               {"forward per token * B * T", num(r.forward_per_token_total) + " * " + bt, ""}});
  t.push_back({"training_per_step",
               "model FLOPs per step",
               r.training_per_step,
               {"training per token * B * T", num(r.training_per_token) + " * " + bt, ""}});
  t.push_back({"hardware_per_step",
               "hardware FLOPs per step",
               r.hardware_per_step,
               {"hardware per token * B * T", num(r.hardware_per_token) + " * " + bt, ""}});

  add_approximations(r, m, in);

  if (m.encoder_decoder)
    r.notes.push_back(
        "encoder-decoder: a token is one source position plus one target position (both "
        "sequences of T tokens); the encoder runs on the source, the decoder and output head "
        "on the target, cross-attention keys are the T encoder outputs");
  if (!m.causal && !m.encoder_decoder)
    r.notes.push_back(
        "encoder-only: bidirectional attention (causal halving does not apply); no LM head is "
        "counted; the pooler runs on the first token of each sequence");
  if (m.sliding_window > 0 && m.n_sliding_layers() > 0)
    r.notes.push_back(fmt::format(
        "{} of {} layers use a sliding window of {} tokens: they are counted with min(W, T) "
        "keys, as a windowed kernel computes them (an eager implementation masks the full T x T "
        "scores instead)",
        m.n_sliding_layers(), m.n_layer, m.sliding_window));
  if (m.has_recurrent_layers())
    r.notes.push_back(fmt::format(
        "{} of {} layers are recurrent (state-space or linear attention): their cost per token "
        "does not grow with T; the scan is counted in its recurrent form (docs/families.md)",
        m.n_layer - m.n_attention_layers() - m.n_mixer_layers(Mixer::none), m.n_layer));
  if (m.is_moe())
    r.notes.push_back(fmt::format(
        "mixture of experts: each token is counted through {} of {} routed experts (perfect "
        "routing, no capacity padding)",
        m.n_expert_used, m.n_expert));
  require_finite(r);
  return r;
}

}  // namespace sizeup
