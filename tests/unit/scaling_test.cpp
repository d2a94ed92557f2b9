// Compute-optimal allocations. Expected values worked independently (python, shown beside).
#include "sizeup/scaling.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr double kGopherBudget = 5.76e23;  // Hoffmann et al. 2022: Gopher's/Chinchilla's compute

void expect_rel(double actual, double expected, double rel = 1e-9) {
  EXPECT_NEAR(actual / expected, 1.0, rel) << actual << " vs " << expected;
}

TEST(scaling_test, rule_of_thumb_from_compute) {
  // N = sqrt(5.76e23 / 120) = sqrt(4.8e21) = 69,282,032,302.8; D = 20N.
  const ScalingPoint p = rule_of_thumb_point({ScalingGiven::compute, kGopherBudget});
  expect_rel(p.params, 69282032302.7551);
  expect_rel(p.tokens, 1385640646055.102);
  expect_rel(6 * p.params * p.tokens, kGopherBudget);
  expect_rel(p.loss, 1.9374102995018738);
}

TEST(scaling_test, rule_of_thumb_from_params_and_tokens) {
  const ScalingPoint a = rule_of_thumb_point({ScalingGiven::params, 70e9});
  expect_rel(a.tokens, 1.4e12);
  expect_rel(a.compute_flops, 5.88e23);  // 6 * 70e9 * 1.4e12
  const ScalingPoint b = rule_of_thumb_point({ScalingGiven::tokens, 1.4e12});
  expect_rel(b.params, 70e9);
}

TEST(scaling_test, chinchilla_loss_at_70b_1_4t) {
  // 1.69 + 406.4 / 70e9^0.34 + 410.7 / 1.4e12^0.28
  expect_rel(predicted_loss(70e9, 1.4e12), 1.9366454705587173);
}

TEST(scaling_test, approach3_closed_form) {
  // G = (0.34*406.4 / (0.28*410.7))^(1/0.62) = 1.344711; a = 0.28/0.62 = 0.451613.
  // N = G * (5.76e23/6)^a = 32,189,859,151; D = 9.6e22 / N = 2,982,305,686,663.
  const ScalingPoint p = approach3_point({ScalingGiven::compute, kGopherBudget});
  expect_rel(p.params, 32189859151.368168);
  expect_rel(p.tokens, 2982305686662.804);
  expect_rel(p.loss, 1.930748101731648);
  // The optimum beats D = 20N at the same compute under the same fit.
  EXPECT_LT(p.loss, rule_of_thumb_point({ScalingGiven::compute, kGopherBudget}).loss);
}

TEST(scaling_test, approach3_inverts_from_params_and_tokens) {
  const ScalingPoint n = approach3_point({ScalingGiven::params, 70e9});
  expect_rel(n.compute_flops, 3.217184019806891e24);
  expect_rel(n.tokens, 7659961951921.169);
  const ScalingPoint d = approach3_point({ScalingGiven::tokens, 1.4e12});
  expect_rel(d.compute_flops, 1.4505457780360836e23);
  expect_rel(d.params, 17268402119.477184);
  // Round trip: the compute found from N gives back N.
  expect_rel(approach3_point({ScalingGiven::compute, n.compute_flops}).params, 70e9, 1e-9);
}

TEST(scaling_test, kaplan_constant_at_one_pflop_day) {
  // N = 1.3e9 * (8.64e19 / 8.64e19)^0.73 = 1.3e9; D = 8.64e19 / (6 * 1.3e9).
  const ScalingPoint p = kaplan_point({ScalingGiven::compute, 8.64e19});
  expect_rel(p.params, 1.3e9);
  expect_rel(p.tokens, 8.64e19 / 7.8e9);
  expect_rel(kaplan_point({ScalingGiven::params, 1.3e9}).compute_flops, 8.64e19);
  const ScalingPoint t = kaplan_point({ScalingGiven::tokens, p.tokens});
  expect_rel(t.compute_flops, 8.64e19, 1e-9);
}

TEST(scaling_test, huge_budgets_stay_finite) {
  const ScalingPoint p = approach3_point({ScalingGiven::compute, 1e27});
  expect_rel(p.params, 934876157390.6464);
  expect_rel(p.tokens, 178276732537338.1);
  expect_rel(p.loss, 1.7665827520441046);
  expect_rel(kaplan_point({ScalingGiven::compute, 1e27}).params, 186332375326801.7);
  const ScalingPoint t = approach3_point({ScalingGiven::tokens, 1e15});
  EXPECT_TRUE(std::isfinite(t.compute_flops));
  EXPECT_TRUE(std::isfinite(inference_optimal(p, 1e15).params));
}

TEST(scaling_test, bad_budget_names_option) {
  try {
    approach3_point({ScalingGiven::compute, 0});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "compute");
  }
  EXPECT_THROW(rule_of_thumb_point({ScalingGiven::tokens, -5}), InputError);
  EXPECT_THROW(kaplan_point({ScalingGiven::params, NAN}), InputError);
  const ScalingPoint p = approach3_point({ScalingGiven::compute, kGopherBudget});
  EXPECT_THROW(inference_optimal(p, -1), InputError);
}

TEST(scaling_test, inference_optimal_without_inference_is_the_reference) {
  const ScalingPoint p     = approach3_point({ScalingGiven::compute, kGopherBudget});
  const InferenceOptimal r = inference_optimal(p, 0);
  expect_rel(r.params, p.params, 1e-6);
  expect_rel(r.tokens, p.tokens, 1e-6);
  expect_rel(r.total_flops, kGopherBudget, 1e-9);
}

TEST(scaling_test, inference_optimal_trains_smaller_longer_at_equal_loss) {
  const ScalingPoint p = approach3_point({ScalingGiven::compute, kGopherBudget});
  double last_params   = p.params;
  for (double d_inf : {1e11, 1e12, 1e13, 1e14, 1e15}) {
    const InferenceOptimal r = inference_optimal(p, d_inf);
    EXPECT_LT(r.params, last_params) << d_inf;  // more inference: smaller model
    EXPECT_GT(r.tokens, p.tokens);
    expect_rel(r.loss, p.loss, 1e-9);  // same quality
    EXPECT_LE(r.total_flops, r.reference_total_flops * (1 + 1e-12));
    // Optimality: a slightly larger or smaller model on the iso-loss curve costs more.
    for (double k : {0.99, 1.01}) {
      const double n   = r.params * k;
      const double gap = p.loss - 1.69 - 406.4 / std::pow(n, 0.34);
      const double d   = std::pow(410.7 / gap, 1 / 0.28);
      EXPECT_GT(6 * n * d + 2 * n * d_inf, r.total_flops) << d_inf << " " << k;
    }
    last_params = r.params;
  }
}

}  // namespace
}  // namespace sizeup
