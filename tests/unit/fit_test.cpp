// Largest trainable/servable model by closed form, and the binary search.
#include "sizeup/fit.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr ByteCount k80GiB = 85899345920;  // 80 · 2^30

FitInput h100x8() {
  FitInput in;
  in.gpu_memory_bytes = k80GiB;
  in.gpus             = 8;
  return in;
}

TEST(fit_test, cs336_fp32_adamw_16_bytes) {
  FitInput in  = h100x8();
  in.precision = Precision::fp32;  // 4 weights + 4 grads + 8 Adam
  const auto r = fit_params(in);
  EXPECT_DOUBLE_EQ(r.per_param_total, 16.0);
  EXPECT_EQ(r.max_params, 42949672960u);                  // 8 · 80 · 2^30 / 16
  EXPECT_EQ(r.max_params_decimal_reading, 40000000000u);  // 8 · 80e9 / 16
}

TEST(fit_test, mixed_precision_fp32_and_bf16_gradients) {
  FitInput in  = h100x8();
  const auto a = fit_params(in);  // 2 + 4 + 4 + 8 = 18
  EXPECT_DOUBLE_EQ(a.per_param_total, 18.0);
  EXPECT_EQ(a.max_params, 38177487075u);  // floor(687194767360 / 18)
  in.grad_bytes = 2;                      // ZeRO's 2 + 2 + 12
  EXPECT_EQ(fit_params(in).max_params, 42949672960u);
}

TEST(fit_test, zero_stages_shard_less) {
  FitInput in = h100x8();
  in.zero     = 0;
  EXPECT_EQ(fit_params(in).max_params, 4772185884u);  // floor(85899345920 / 18)
  in.zero = 1;                                        // 2 + 4 + 12/8 = 7.5
  EXPECT_EQ(fit_params(in).max_params, 11453246122u);
  in.zero = 2;  // 2 + 16/8 = 4
  EXPECT_EQ(fit_params(in).max_params, 21474836480u);
}

TEST(fit_test, serving_and_reserved_memory) {
  FitInput in = h100x8();
  in.infer    = true;
  EXPECT_EQ(fit_params(in).max_params, 343597383680u);  // 8 · 80 GiB / 2
  in.infer_weight_bits = 4;
  EXPECT_EQ(fit_params(in).max_params, 1374389534720u);
  FitInput t       = h100x8();
  t.precision      = Precision::fp32;
  t.reserved_bytes = 5368709120;  // 5 GiB: 8 · 75 GiB / 16
  EXPECT_EQ(fit_params(t).max_params, 40265318400u);
}

TEST(fit_test, huge_cluster_does_not_overflow) {
  FitInput in = h100x8();
  in.gpus     = 100000;
  EXPECT_EQ(fit_params(in).max_params, 477218588444444u);  // floor(1e5 · 80 GiB / 18)
  in.gpus = 0;
  EXPECT_THROW(fit_params(in), InputError);
}

TEST(fit_test, min_gpus_for_a_parameter_count) {
  FitInput in = h100x8();  // mixed AdamW, 18 B/param, ZeRO-3
  // 70e9 x 18 = 1.26e12 bytes over 80 GiB per GPU: ceil(14.67) = 15.
  EXPECT_EQ(min_gpus(in, 70e9), 15);
  EXPECT_EQ(min_gpus(in, 1e9), 1);
  in.zero = 0;  // never shards: 70e9 x 18 bytes never fit on one GPU
  EXPECT_EQ(min_gpus(in, 70e9), 0);
  in.zero = 2;  // 2 + 16/G bytes per param per GPU: the 2·70e9 unsharded bytes exceed 80 GiB
  EXPECT_EQ(min_gpus(in, 70e9), 0);
  // 30e9: 60e9 + 480e9/G <= 85899345920 -> G >= 18.76 -> 19.
  EXPECT_EQ(min_gpus(in, 30e9), 19);
}

TEST(fit_test, largest_fitting_binary_search) {
  EXPECT_EQ(largest_fitting(1000, [](std::int64_t b) { return 3 * b <= 100; }), 33);
  EXPECT_EQ(largest_fitting(1000, [](std::int64_t) { return false; }), 0);
  EXPECT_EQ(largest_fitting(16, [](std::int64_t) { return true; }), 16);
}

}  // namespace
}  // namespace sizeup
