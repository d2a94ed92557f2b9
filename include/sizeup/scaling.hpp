// Compute-optimal model size and data (scaling laws).
//
// Legend: N parameters, D training tokens, C = 6·N·D training FLOPs, L predicted loss (nats/token).
//
// Sources:
// - D = 20·N rule of thumb: Hoffmann et al. 2022 (Chinchilla), as quoted by the seed documents
//   (Transformer Math 101; the seed slides "D = 20P"). With C = 6ND: N = sqrt(C / 120).
// - Approach 3 fit L(N, D) = E + A/N^α + B/D^β, E 1.69, A 406.4, B 410.7, α 0.34, β 0.28:
//   Hoffmann et al. 2022, Appendix D.2; optimum under C = 6ND (Eq. 4):
//   N_opt = G·(C/6)^(β/(α+β)), D_opt = (C/6)/N_opt, G = (α·A / (β·B))^(1/(α+β)).
// - Kaplan et al. 2020, Fig. 14 (left): N_opt = 1.3e9 · (C / PFLOP-day)^0.73, N non-embedding;
//   D = C / (6·N). The 1.3e9 constant is from secondary transcriptions of the figure.
// - Inference-aware optimum: Sardana & Frankle 2023 (arXiv:2401.00448), "Beyond
//   Chinchilla-Optimal": minimise 6·N·D + 2·N·D_inf subject to L(N, D) = the Chinchilla loss.
#pragma once

#include <optional>
#include <string>

#include "sizeup/breakdown.hpp"

namespace sizeup {

struct LossFit {
  double E     = 1.69;   // irreducible loss
  double A     = 406.4;  // parameter term
  double B     = 410.7;  // data term
  double alpha = 0.34;
  double beta  = 0.28;
};
inline constexpr LossFit kChinchillaFit{};  // Hoffmann et al. 2022, Appendix D.2

inline constexpr double kTokensPerParam    = 20.0;   // D = 20 N
inline constexpr double kKaplanCoefficient = 1.3e9;  // N at C = 1 PFLOP-day (Fig. 14)
inline constexpr double kKaplanExponent    = 0.73;   // N_opt ∝ C^0.73 (Table 2 of Hoffmann)

// The quantity the user fixed; the other two follow.
enum class ScalingGiven { compute, params, tokens };

struct ScalingQuery {
  ScalingGiven given = ScalingGiven::compute;
  double value       = 0;  // FLOPs, parameters or tokens, e.g. 5.76e23
};

// Loss predicted by the fit (nats/token).
double predicted_loss(double params, double tokens, const LossFit& fit = kChinchillaFit);

// One allocation. Rows: params, tokens, compute_flops, loss (each with its derivation).
struct ScalingPoint {
  std::string method;  // "20n", "approach3", "kaplan"
  double params        = 0;
  double tokens        = 0;
  double compute_flops = 0;
  double loss          = 0;
  Breakdown<double> rows;
};

ScalingPoint rule_of_thumb_point(const ScalingQuery& q);  // D = 20 N
ScalingPoint approach3_point(const ScalingQuery& q, const LossFit& fit = kChinchillaFit);
ScalingPoint kaplan_point(const ScalingQuery& q);

// Minimum total cost (training 6·N·D + inference 2·N·D_inf) at the loss of `reference`
// (normally the Approach 3 point). Rows: params, tokens, training_flops, inference_flops,
// total_flops, loss, reference_total_flops, saving.
struct InferenceOptimal {
  double params = 0, tokens = 0, training_flops = 0, inference_flops = 0, total_flops = 0;
  double loss = 0, reference_total_flops = 0;
  Breakdown<double> rows;
};

InferenceOptimal inference_optimal(const ScalingPoint& reference, double inference_tokens,
                                   const LossFit& fit = kChinchillaFit);

}  // namespace sizeup
