#include "sizeup/scaling.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "sizeup/error.hpp"
#include "sizeup/units.hpp"

namespace sizeup {
namespace {

constexpr const char* kHoffmannD2  = "Hoffmann et al. 2022, Appendix D.2 (Approach 3 fit)";
constexpr const char* kHoffmannEq4 = "Hoffmann et al. 2022, Eq. 4 with the Appendix D.2 fit";
constexpr const char* kRule        = "Hoffmann et al. 2022 via the seed documents (D = 20P)";
constexpr const char* kKaplanFig14 = "Kaplan et al. 2020, Fig. 14 (N = 1.3e9 C^0.73, C in PF-days)";
constexpr const char* kSardana     = "Sardana & Frankle 2023, Sec. 3 (arXiv:2401.00448)";

std::string num(double v) { return fmt::format("{:.6g}", v); }

const char* field_of(ScalingGiven g) {
  switch (g) {
    case ScalingGiven::compute:
      return "compute";
    case ScalingGiven::params:
      return "params";
    case ScalingGiven::tokens:
      return "tokens";
  }
  return "compute";
}

void check_query(const ScalingQuery& q) {
  if (!std::isfinite(q.value) || q.value <= 0)
    throw InputError("invalid budget", field_of(q.given), "must be a positive number");
}

double finite(double v, const ScalingQuery& q) {
  if (!std::isfinite(v) || v <= 0)
    throw InputError("result out of range", field_of(q.given),
                     "the scaling law gives no finite answer for " + num(q.value));
  return v;
}

void add(ScalingPoint& p, const char* key, const char* label, double v, Derivation d) {
  p.rows.rows.push_back({key, label, v, std::move(d)});
}

void add_loss(ScalingPoint& p, const LossFit& f) {
  p.loss = predicted_loss(p.params, p.tokens, f);
  add(p, "loss", "predicted loss (nats/token, Approach 3 fit)", p.loss,
      {"E + A / N^alpha + B / D^beta",
       fmt::format("{} + {} / {}^{} + {} / {}^{}", f.E, f.A, num(p.params), f.alpha, f.B,
                   num(p.tokens), f.beta),
       kHoffmannD2});
}

ScalingPoint finish(ScalingPoint p, const ScalingQuery& q, const LossFit& f) {
  p.params        = finite(p.params, q);
  p.tokens        = finite(p.tokens, q);
  p.compute_flops = finite(p.compute_flops, q);
  add_loss(p, f);
  return p;
}

}  // namespace

double predicted_loss(double params, double tokens, const LossFit& f) {
  if (!(params > 0) || !(tokens > 0))
    throw InputError("invalid allocation", "params", "parameters and tokens must be positive");
  return f.E + f.A / std::pow(params, f.alpha) + f.B / std::pow(tokens, f.beta);
}

ScalingPoint rule_of_thumb_point(const ScalingQuery& q) {
  check_query(q);
  ScalingPoint p;
  p.method       = "20n";
  const double v = q.value;
  if (q.given == ScalingGiven::compute) {
    p.compute_flops = v;
    p.params        = std::sqrt(v / (6.0 * kTokensPerParam));
    p.tokens        = kTokensPerParam * p.params;
    add(p, "params", "parameters", p.params,
        {"sqrt(C / 120)", "sqrt(" + num(v) + " / 120)", kRule});
    add(p, "tokens", "tokens", p.tokens, {"20 * N", "20 * " + num(p.params), kRule});
    add(p, "compute_flops", "training FLOPs", v, {"given", num(v), "compute"});
  } else {
    p.params        = q.given == ScalingGiven::params ? v : v / kTokensPerParam;
    p.tokens        = kTokensPerParam * p.params;
    p.compute_flops = 6.0 * p.params * p.tokens;
    if (q.given == ScalingGiven::params) {
      add(p, "params", "parameters", v, {"given", num(v), "params"});
      add(p, "tokens", "tokens", p.tokens, {"20 * N", "20 * " + num(v), kRule});
    } else {
      add(p, "params", "parameters", p.params, {"D / 20", num(v) + " / 20", kRule});
      add(p, "tokens", "tokens", v, {"given", num(v), "tokens"});
    }
    add(p, "compute_flops", "training FLOPs", p.compute_flops,
        {"6 * N * D", fmt::format("6 * {} * {}", num(p.params), num(p.tokens)),
         "Kaplan et al. 2020, Sec. 2.1"});
  }
  return finish(std::move(p), q, kChinchillaFit);
}

ScalingPoint approach3_point(const ScalingQuery& q, const LossFit& f) {
  check_query(q);
  ScalingPoint p;
  p.method                    = "approach3";
  const double s              = f.alpha + f.beta;
  const double a              = f.beta / s;   // N_opt ∝ C^a
  const double b              = f.alpha / s;  // D_opt ∝ C^b
  const double G              = std::pow(f.alpha * f.A / (f.beta * f.B), 1.0 / s);
  const std::string g_formula = "G = (alpha*A / (beta*B))^(1/(alpha+beta)) = " + num(G);
  const double v              = q.value;
  double c6 = 0;  // C / 6, computed in logs so 1e27 FLOPs or 1e15 tokens stay finite
  if (q.given == ScalingGiven::compute) {
    c6       = v / 6.0;
    p.params = G * std::pow(c6, a);
    add(p, "params", "parameters", p.params,
        {"G * (C/6)^(beta/(alpha+beta))", fmt::format("{} * ({} / 6)^{}", num(G), num(v), num(a)),
         std::string(kHoffmannEq4) + "; " + g_formula});
  } else if (q.given == ScalingGiven::params) {
    c6       = std::exp(std::log(v / G) / a);
    p.params = v;
    add(p, "params", "parameters", v, {"given", num(v), "params"});
  } else {
    c6       = std::exp(std::log(v * G) / b);
    p.params = c6 / v;
  }
  p.tokens        = q.given == ScalingGiven::tokens ? v : c6 / p.params;
  p.compute_flops = 6.0 * c6;
  if (q.given == ScalingGiven::tokens) {
    add(p, "params", "parameters", p.params,
        {"(C/6) / D", fmt::format("{} / {}", num(c6), num(v)), kHoffmannEq4});
    add(p, "tokens", "tokens", v, {"given", num(v), "tokens"});
  } else {
    add(p, "tokens", "tokens", p.tokens,
        {"(C/6) / N", fmt::format("{} / {}", num(c6), num(p.params)), kHoffmannEq4});
  }
  if (q.given == ScalingGiven::compute) {
    add(p, "compute_flops", "training FLOPs", v, {"given", num(v), "compute"});
  } else {
    add(p, "compute_flops", "training FLOPs", p.compute_flops,
        {q.given == ScalingGiven::params ? "6 * (N/G)^((alpha+beta)/beta)"
                                         : "6 * (D*G)^((alpha+beta)/alpha)",
         fmt::format("6 * {}", num(c6)), std::string(kHoffmannEq4) + "; " + g_formula});
  }
  return finish(std::move(p), q, f);
}

ScalingPoint kaplan_point(const ScalingQuery& q) {
  check_query(q);
  ScalingPoint p;
  p.method       = "kaplan";
  const double k = kKaplanCoefficient, e = kKaplanExponent, pfd = kFlopsPerPflopDay;
  const double v = q.value;
  if (q.given == ScalingGiven::compute) {
    p.compute_flops = v;
  } else if (q.given == ScalingGiven::params) {
    p.compute_flops = pfd * std::exp(std::log(v / k) / e);
  } else {  // D = C / (6 k (C/pfd)^e)  =>  log C = (log D + log 6k - e log pfd) / (1 - e)
    p.compute_flops = std::exp((std::log(v) + std::log(6.0 * k) - e * std::log(pfd)) / (1.0 - e));
  }
  p.params = q.given == ScalingGiven::params ? v : k * std::pow(p.compute_flops / pfd, e);
  p.tokens = q.given == ScalingGiven::tokens ? v : p.compute_flops / (6.0 * p.params);
  const std::string c = num(p.compute_flops);
  if (q.given == ScalingGiven::params) {
    add(p, "params", "non-embedding parameters", v, {"given", num(v), "params"});
  } else {
    add(p, "params", "non-embedding parameters", p.params,
        {"1.3e9 * (C / 8.64e19)^0.73", "1.3e9 * (" + c + " / 8.64e19)^0.73", kKaplanFig14});
  }
  if (q.given == ScalingGiven::tokens) {
    add(p, "tokens", "tokens", v, {"given", num(v), "tokens"});
  } else {
    add(p, "tokens", "tokens", p.tokens,
        {"C / (6 * N)", fmt::format("{} / (6 * {})", c, num(p.params)),
         "C = 6ND (Kaplan et al. 2020, Sec. 2.1)"});
  }
  if (q.given == ScalingGiven::compute) {
    add(p, "compute_flops", "training FLOPs", v, {"given", num(v), "compute"});
  } else if (q.given == ScalingGiven::params) {
    add(p, "compute_flops", "training FLOPs", p.compute_flops,
        {"8.64e19 * (N / 1.3e9)^(1/0.73)", "8.64e19 * (" + num(v) + " / 1.3e9)^(1/0.73)",
         kKaplanFig14});
  } else {
    add(p, "compute_flops", "training FLOPs", p.compute_flops,
        {"(6 * 1.3e9 * D / 8.64e19^0.73)^(1/0.27)",
         "(7.8e9 * " + num(v) + " / 8.64e19^0.73)^(1/0.27)", kKaplanFig14});
  }
  return finish(std::move(p), q, kChinchillaFit);
}

namespace {

// Tokens needed by a model of e^x parameters to reach `loss`, as log D (inf when unreachable).
double log_tokens_for_loss(double x, double loss, const LossFit& f) {
  const double gap = loss - f.E - f.A * std::exp(-f.alpha * x);
  if (!(gap > 0)) return std::numeric_limits<double>::infinity();
  return (std::log(f.B) - std::log(gap)) / f.beta;
}

// log(6·N·D + 2·N·D_inf) for N = e^x on the iso-loss curve.
double log_total_cost(double x, double loss, double d_inf, const LossFit& f) {
  const double log_train = std::log(6.0) + x + log_tokens_for_loss(x, loss, f);
  if (!(d_inf > 0)) return log_train;
  const double log_inf = std::log(2.0) + x + std::log(d_inf);
  const double hi = std::max(log_train, log_inf), lo = std::min(log_train, log_inf);
  return std::isinf(hi) ? hi : hi + std::log1p(std::exp(lo - hi));
}

}  // namespace

InferenceOptimal inference_optimal(const ScalingPoint& ref, double d_inf, const LossFit& f) {
  if (!std::isfinite(d_inf) || d_inf < 0)
    throw InputError("invalid inference tokens", "inference_tokens", "must be >= 0");
  const double loss = predicted_loss(ref.params, ref.tokens, f);
  // The smallest model that can reach `loss` with unlimited data: A / N^alpha = loss - E.
  // Training cost 6ND is smallest at the reference (its compute optimum) and inference cost
  // grows with N, so the optimum lies in (N_min, N_ref]: search log N there, first on a grid
  // (robust to flat regions), then by golden section around the best grid point.
  const double x_min  = std::log(f.A / (loss - f.E)) / f.alpha;
  const double x_ref  = std::log(ref.params);
  constexpr int kGrid = 2000;
  const double step   = (x_ref - x_min) / kGrid;
  int best            = kGrid;
  double best_cost    = log_total_cost(x_ref, loss, d_inf, f);
  for (int i = 1; i < kGrid; ++i) {
    const double c = log_total_cost(x_min + step * i, loss, d_inf, f);
    if (c < best_cost) best_cost = c, best = i;
  }
  double lo = x_min + step * (best - 1), hi = x_min + step * std::min(best + 1, kGrid);
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int it = 0; it < 100 && hi - lo > 1e-12; ++it) {
    const double m1 = hi - phi * (hi - lo), m2 = lo + phi * (hi - lo);
    if (log_total_cost(m1, loss, d_inf, f) <= log_total_cost(m2, loss, d_inf, f))
      hi = m2;
    else
      lo = m1;
  }
  double x = (lo + hi) / 2;
  if (log_total_cost(x, loss, d_inf, f) > best_cost) x = x_min + step * best;

  InferenceOptimal r;
  r.params = std::exp(x);
  r.tokens = std::exp(log_tokens_for_loss(x, loss, f));
  // Extreme budgets push the optimum outside doubles (tokens 0 or inf): name the option.
  if (!(r.params > 0 && r.tokens > 0 && std::isfinite(r.params) && std::isfinite(r.tokens)))
    throw InputError("result out of range", "inference_tokens", "no finite optimum");
  r.training_flops        = 6.0 * r.params * r.tokens;
  r.inference_flops       = 2.0 * r.params * d_inf;
  r.total_flops           = r.training_flops + r.inference_flops;
  r.loss                  = predicted_loss(r.params, r.tokens, f);
  r.reference_total_flops = 6.0 * ref.params * ref.tokens + 2.0 * ref.params * d_inf;
  for (double v : {r.params, r.tokens, r.total_flops, r.reference_total_flops})
    if (!std::isfinite(v))
      throw InputError("result out of range", "inference_tokens", "no finite optimum");
  auto add_row = [&](const char* key, const char* label, double v, Derivation d) {
    r.rows.rows.push_back({key, label, v, std::move(d)});
  };
  add_row("params", "parameters", r.params,
          {"argmin_N 6*N*D(N) + 2*N*D_inf, D(N) = (B / (L* - E - A/N^alpha))^(1/beta)",
           fmt::format("L* = {:.6f}, D_inf = {}, searched N in ({}, {}]", loss, num(d_inf),
                       num(std::exp(x_min)), num(ref.params)),
           kSardana});
  add_row("tokens", "training tokens", r.tokens,
          {"(B / (L* - E - A/N^alpha))^(1/beta)",
           fmt::format("({} / ({:.6f} - {} - {} / {}^{}))^(1/{})", f.B, loss, f.E, f.A,
                       num(r.params), f.alpha, f.beta),
           kSardana});
  add_row("training_flops", "training FLOPs", r.training_flops,
          {"6 * N * D", fmt::format("6 * {} * {}", num(r.params), num(r.tokens)), kSardana});
  add_row("inference_flops", "inference FLOPs", r.inference_flops,
          {"2 * N * D_inf", fmt::format("2 * {} * {}", num(r.params), num(d_inf)), kSardana});
  add_row("total_flops", "training + inference FLOPs", r.total_flops,
          {"6ND + 2N*D_inf", fmt::format("{} + {}", num(r.training_flops), num(r.inference_flops)),
           kSardana});
  add_row("loss", "predicted loss (equal to the reference)", r.loss,
          {"E + A / N^alpha + B / D^beta", "", kHoffmannD2});
  add_row("reference_total_flops", "same total for the Chinchilla-optimal model",
          r.reference_total_flops,
          {"6 * N_ref * D_ref + 2 * N_ref * D_inf",
           fmt::format("6 * {} * {} + 2 * {} * {}", num(ref.params), num(ref.tokens),
                       num(ref.params), num(d_inf)),
           kSardana});
  add_row("saving", "fraction of total FLOPs saved", 1.0 - r.total_flops / r.reference_total_flops,
          {"1 - total / reference_total",
           fmt::format("1 - {} / {}", num(r.total_flops), num(r.reference_total_flops)), ""});
  return r;
}

}  // namespace sizeup
