// Recurrent layers (ssm.hpp). Shapes are those of the HF transformers modules named at each
// function (nn.Linear weights {out, in}; a depthwise nn.Conv1d weight {C, 1, K}).
#include "sizeup/ssm.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace sizeup {
namespace {

using I = std::int64_t;

struct Adder {
  std::vector<Tensor>& out;
  I repeat;
  void operator()(const std::string& name, const std::string& module, std::vector<I> shape,
                  bool matmul = false, Split split = Split::column) {
    if (repeat <= 0) return;
    Tensor t;
    t.name      = "layers.*.mixer." + name;
    t.module    = module;
    t.hf_module = module;
    t.component = Component::ssm;
    t.shape     = std::move(shape);
    t.repeat    = repeat;
    t.is_matmul = matmul;
    t.split     = split;
    t.placement = Placement::layer;
    t.proj      = matmul ? Proj::other : Proj::none;
    out.push_back(std::move(t));
  }
  void linear(const std::string& module, I in, I out_features, bool bias, Split split) {
    (*this)(module + ".weight", module, {out_features, in}, true, split);
    if (bias)
      (*this)(module + ".bias", module, {out_features}, false,
              split == Split::row ? Split::replicated : split);
  }
};

// HF MambaMixer (and JambaMambaMixer, FalconMambaMixer): in_proj d -> 2D (x and the gate z),
// depthwise conv over D, x_proj D -> R + 2N (step, B, C), dt_proj R -> D with bias, A_log
// {D, N}, D {D}, out_proj D -> d. Jamba adds RMSNorm weights on the step (R), B and C (N).
void mamba(std::vector<Tensor>& out, const ModelSpec& m, I L) {
  const auto& s = m.ssm;
  const I d = m.n_embd, D = s.d_inner, N = s.d_state, R = s.dt_rank;
  Adder a{out, L};
  a.linear("in_proj", d, 2 * D, s.proj_bias, Split::column);
  a("conv1d.weight", "conv1d", {D, 1, s.d_conv});
  if (s.conv_bias) a("conv1d.bias", "conv1d", {D});
  a.linear("x_proj", D, R + 2 * N, false, Split::replicated);
  a.linear("dt_proj", R, D, true, Split::column);
  a("A_log", "A_log", {D, N});
  a("D", "D", {D});
  a.linear("out_proj", D, d, s.proj_bias, Split::row);
  if (s.dt_bc_norms) {
    a("dt_layernorm.weight", "norm", {R}, false, Split::replicated);
    a("b_layernorm.weight", "norm", {N}, false, Split::replicated);
    a("c_layernorm.weight", "norm", {N}, false, Split::replicated);
  }
}

// HF Mamba2Mixer (NemotronH, GraniteMoeHybrid): in_proj d -> D + C + h (z; x, B, C; step),
// depthwise conv over C = D + 2·G·N, dt_bias, A_log and D per head, gated RMSNorm over D,
// out_proj D -> d.
void mamba2(std::vector<Tensor>& out, const ModelSpec& m, I L) {
  const auto& s = m.ssm;
  const I d = m.n_embd, D = s.d_inner, h = s.n_heads;
  const I C = conv_channels(m, Mixer::mamba2);
  Adder a{out, L};
  a.linear("in_proj", d, D + C + h, s.proj_bias, Split::column);
  a("conv1d.weight", "conv1d", {C, 1, s.d_conv});
  if (s.conv_bias) a("conv1d.bias", "conv1d", {C});
  a("dt_bias", "dt_bias", {h});
  a("A_log", "A_log", {h});
  a("D", "D", {h});
  if (s.gated_norm) a("norm.weight", "norm", {D});
  a.linear("out_proj", D, d, s.proj_bias, Split::row);
}

// HF Qwen3NextGatedDeltaNet: in_proj_qkvz d -> 2·hk·dk + 2·hv·dv (q, k, v, output gate z),
// in_proj_ba d -> 2·hv (write strength beta, decay a), depthwise conv over q, k, v (no bias),
// dt_bias and A_log per value head, gated RMSNorm of width dv, out_proj hv·dv -> d.
void gated_deltanet(std::vector<Tensor>& out, const ModelSpec& m, I L) {
  const auto& s = m.ssm;
  const I d = m.n_embd, kd = s.n_k_heads * s.k_head_dim, vd = s.n_heads * s.head_dim;
  const I C = conv_channels(m, Mixer::gated_deltanet);
  Adder a{out, L};
  a.linear("in_proj_qkvz", d, 2 * kd + 2 * vd, s.proj_bias, Split::column);
  a.linear("in_proj_ba", d, 2 * s.n_heads, false, Split::column);
  a("conv1d.weight", "conv1d", {C, 1, s.d_conv});
  if (s.conv_bias) a("conv1d.bias", "conv1d", {C});
  a("dt_bias", "dt_bias", {s.n_heads});
  a("A_log", "A_log", {s.n_heads});
  a("norm.weight", "norm", {s.head_dim}, false, Split::replicated);
  a.linear("out_proj", vd, d, s.proj_bias, Split::row);
}

double D_(I v) { return static_cast<double>(v); }
std::string num(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

const Mixer kRecurrent[] = {Mixer::mamba, Mixer::mamba2, Mixer::gated_deltanet};

const char* mixer_label(Mixer k) {
  switch (k) {
    case Mixer::mamba:
      return "Mamba";
    case Mixer::mamba2:
      return "Mamba-2";
    case Mixer::gated_deltanet:
      return "gated DeltaNet";
    default:
      return "attention";
  }
}

}  // namespace

std::vector<Tensor> recurrent_tensors(const ModelSpec& m) {
  std::vector<Tensor> out;
  mamba(out, m, m.n_mixer_layers(Mixer::mamba));
  mamba2(out, m, m.n_mixer_layers(Mixer::mamba2));
  gated_deltanet(out, m, m.n_mixer_layers(Mixer::gated_deltanet));
  return out;
}

I conv_channels(const ModelSpec& m, Mixer k) {
  const auto& s = m.ssm;
  switch (k) {
    case Mixer::mamba:
      return s.d_inner;
    case Mixer::mamba2:
      return s.d_inner + 2 * s.n_groups * s.d_state;
    case Mixer::gated_deltanet:
      return 2 * s.n_k_heads * s.k_head_dim + s.n_heads * s.head_dim;
    default:
      return 0;
  }
}

RecurrentStateShape recurrent_state_per_layer(const ModelSpec& m, Mixer k) {
  const auto& s = m.ssm;
  RecurrentStateShape r;
  r.conv_elements = D_(conv_channels(m, k)) * D_(std::max<I>(s.d_conv - 1, 0));
  switch (k) {
    case Mixer::mamba:
      r.ssm_elements = D_(s.d_inner) * D_(s.d_state);
      break;
    case Mixer::mamba2:
      r.ssm_elements = D_(s.n_heads) * D_(s.head_dim) * D_(s.d_state);
      break;
    case Mixer::gated_deltanet:
      r.ssm_elements = D_(s.n_heads) * D_(s.k_head_dim) * D_(s.head_dim);
      break;
    default:
      r.conv_elements = 0;
  }
  return r;
}

Breakdown<double> recurrent_state_rows(const ModelSpec& m, double batch, int state_bytes,
                                       std::int64_t tp) {
  Breakdown<double> out;
  const auto& s  = m.ssm;
  const double p = state_bytes, t = D_(tp);
  for (Mixer k : kRecurrent) {
    const I L = m.n_mixer_layers(k);
    if (L <= 0) continue;
    const RecurrentStateShape e = recurrent_state_per_layer(m, k);
    const std::string key       = std::string("state_") + to_string(k);
    const std::string conv_f    = k == Mixer::mamba    ? "D * (K - 1)"
                                  : k == Mixer::mamba2 ? "(D + 2*G*N) * (K - 1)"
                                                       : "(2*hk*dk + hv*dv) * (K - 1)";
    const std::string conv_s =
        k == Mixer::mamba ? fmt::format("{} * ({} - 1)", s.d_inner, s.d_conv)
        : k == Mixer::mamba2
            ? fmt::format("({} + 2*{}*{}) * ({} - 1)", s.d_inner, s.n_groups, s.d_state, s.d_conv)
            : fmt::format("(2*{}*{} + {}*{}) * ({} - 1)", s.n_k_heads, s.k_head_dim, s.n_heads,
                          s.head_dim, s.d_conv);
    const std::string ssm_f = k == Mixer::mamba    ? "D * N"
                              : k == Mixer::mamba2 ? "h * P * N"
                                                   : "hv * dk * dv";
    const std::string ssm_s =
        k == Mixer::mamba    ? fmt::format("{} * {}", s.d_inner, s.d_state)
        : k == Mixer::mamba2 ? fmt::format("{} * {} * {}", s.n_heads, s.head_dim, s.d_state)
                             : fmt::format("{} * {} * {}", s.n_heads, s.k_head_dim, s.head_dim);
    const double v = batch * D_(L) * (e.conv_elements + e.ssm_elements) * p / t;
    out.rows.push_back(
        {key,
         std::string(mixer_label(k)) + " recurrent state (fixed, independent of context)",
         v,
         {"b * L * (" + conv_f + " + " + ssm_f + ") * p / t",
          fmt::format("{} * {} * ({} + {}) * {} / {}", num(batch), L, conv_s, ssm_s, state_bytes,
                      tp),
          "convolution window of the last K - 1 inputs and the recurrent state of each sequence "
          "(vLLM MambaStateShapeCalculator; Gu & Dao 2023 Sec. 3.4 for the recurrent mode); "
          "split across tensor-parallel ranks by channel/head"}});
  }
  return out;
}

Breakdown<FlopCount> recurrent_flops_per_token(const ModelSpec& m) {
  Breakdown<FlopCount> out;
  const auto& s = m.ssm;
  for (Mixer k : kRecurrent) {
    const I L = m.n_mixer_layers(k);
    if (L <= 0) continue;
    const I C             = conv_channels(m, k);
    const std::string key = std::string("ssm_") + to_string(k);
    out.rows.push_back({key + "_conv",
                        std::string(mixer_label(k)) + " depthwise causal convolution",
                        2.0 * D_(L) * D_(C) * D_(s.d_conv),
                        {"2 * L * C * K", fmt::format("2 * {} * {} * {}", L, C, s.d_conv),
                         "one multiply-add per channel and kernel tap"}});
    if (k == Mixer::mamba) {
      const double D = D_(s.d_inner), N = D_(s.d_state);
      out.rows.push_back(
          {key + "_scan",
           "Mamba selective scan (recurrent form)",
           D_(L) * (9.0 * D * N + 2.0 * D),
           {"L * (9 * D * N + 2 * D)",
            fmt::format("{} * (9 * {} * {} + 2 * {})", L, s.d_inner, s.d_state, s.d_inner),
            "state-spaces/mamba selective_scan_flop_jit: 9·D·N per token for discretisation, "
            "state update and C·h, plus D for the skip D·x and D for the z gate"}});
    } else if (k == Mixer::mamba2) {
      const double D = D_(s.d_inner), N = D_(s.d_state);
      out.rows.push_back(
          {key + "_scan",
           "Mamba-2 SSD scan (recurrent form)",
           D_(L) * (5.0 * D * N + 2.0 * D),
           {"L * (5 * D * N + 2 * D)",
            fmt::format("{} * (5 * {} * {} + 2 * {})", L, s.d_inner, s.d_state, s.d_inner),
            "Dao & Gu 2024 Sec. 3 recurrence h = a·h + x·B^T (decay, outer product and add: 3 per "
            "state element), y = h·C (2 per element), plus the skip D·x and the z gate; the "
            "chunked training kernel's intra-chunk products are not counted"}});
    } else {
      const double hv = D_(s.n_heads), dk = D_(s.k_head_dim), dv = D_(s.head_dim);
      out.rows.push_back(
          {key + "_scan",
           "gated delta rule (recurrent form)",
           D_(L) * 7.0 * hv * dk * dv,
           {"L * 7 * hv * dk * dv",
            fmt::format("{} * 7 * {} * {} * {}", L, s.n_heads, s.k_head_dim, s.head_dim),
            "Yang et al. 2024, Eq. 10: S = a·S(I - b·k·k^T) + b·v·k^T per value head: decay (1 per "
            "state element), S·k (2), rank-one update (2), output S·q (2); the chunked "
            "training kernel's intra-chunk products are not counted"}});
    }
  }
  return out;
}

}  // namespace sizeup
