// Optimizer state bytes, derived by hand from each optimizer's definition.
#include "sizeup/optimizer.hpp"

#include <gtest/gtest.h>

namespace sizeup {
namespace {

// Two 4x3 matrices and one 5-vector: n = 2·12 + 5 = 29 elements in 3 tensors.
const std::vector<TrainableTensor> kSmall = {{{4, 3}, 2}, {{5}, 1}};

TEST(optimizer_test, adamw_two_states_plus_step_tensors) {
  const auto r = optimizer_state(Optimizer::adamw, kSmall, 4);
  EXPECT_EQ(r.rows.find("moments_bytes")->value, 2u * 29 * 4);  // 232
  EXPECT_EQ(r.rows.find("step_bytes")->value, 3u * 4);          // one fp32 scalar per tensor
  EXPECT_EQ(r.total_bytes, 244u);
}

TEST(optimizer_test, sgd_has_no_state_and_momentum_one) {
  EXPECT_EQ(optimizer_state(Optimizer::sgd, kSmall, 4).total_bytes, 0u);
  EXPECT_EQ(optimizer_state(Optimizer::sgd_momentum, kSmall, 2).total_bytes, 58u);  // 29 · 2
  EXPECT_EQ(optimizer_state(Optimizer::lion, kSmall, 4).total_bytes, 116u);         // 29 · 4
}

TEST(optimizer_test, adafactor_factors_matrices_and_keeps_vectors) {
  // 4x3 matrix: 4 row + 3 column statistics, twice; the 5-vector keeps 5: 19 · 4 bytes.
  EXPECT_EQ(optimizer_state(Optimizer::adafactor, kSmall, 4).total_bytes, 76u);
  // Stacked {2, 4, 3}: rows shape[:-1] = 2·4, columns shape[:-2]+shape[-1:] = 2·3.
  EXPECT_EQ(optimizer_state(Optimizer::adafactor, {{{2, 4, 3}, 1}}, 4).total_bytes, 14u * 4);
}

TEST(optimizer_test, adam8bit_blocks_of_2048_and_small_tensors_in_fp32) {
  // 8192 elements: 2 x 8192 one-byte states + 2 x ceil(8192/2048) = 8 fp32 absmax;
  // a 100-element tensor (< 4096) keeps two fp32 states.
  const auto r = optimizer_state(Optimizer::adam8bit, {{{4096, 2}, 1}, {{100}, 1}}, 4);
  EXPECT_EQ(r.rows.find("quantized_states_bytes")->value, 16384u);
  EXPECT_EQ(r.rows.find("absmax_bytes")->value, 32u);
  EXPECT_EQ(r.rows.find("small_tensor_states_bytes")->value, 800u);
  EXPECT_EQ(r.total_bytes, 17216u);
  // A partial last block still has its absmax: 4097 elements -> 3 blocks per state.
  EXPECT_EQ(optimizer_state(Optimizer::adam8bit, {{{4097}, 1}}, 4).total_bytes, 2u * 4097 + 24);
}

TEST(optimizer_test, closed_form_bytes_per_param) {
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_param(Optimizer::adamw, 4), 8.0);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_param(Optimizer::adamw, 2), 4.0);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_param(Optimizer::adam8bit, 4), 2.00390625);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_param(Optimizer::sgd_momentum, 4), 4.0);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_param(Optimizer::adafactor, 4), 0.0);
}

}  // namespace
}  // namespace sizeup
