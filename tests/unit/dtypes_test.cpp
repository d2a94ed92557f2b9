// Number formats: ranges computed from the bit layout (published values are the tests).
#include "sizeup/dtypes.hpp"

#include <gtest/gtest.h>

namespace sizeup {
namespace {

DTypeRange range(const char* name) {
  const DType* t = find_dtype(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? dtype_range(*t) : DTypeRange{};
}

TEST(dtypes_test, fp16_range_matches_ieee_binary16) {
  EXPECT_EQ(range("fp16").max_finite, 65504.0);
  EXPECT_EQ(range("fp16").min_normal, 6.103515625e-05);            // 2^-14
  EXPECT_EQ(range("fp16").min_subnormal, 5.9604644775390625e-08);  // 2^-24
  EXPECT_EQ(range("fp16").epsilon, 0.0009765625);                  // 2^-10
}

TEST(dtypes_test, fp8_formats_match_ocp_spec) {
  EXPECT_EQ(range("fp8-e4m3fn").max_finite, 448.0);
  EXPECT_EQ(range("fp8-e4m3fn").min_subnormal, 0.001953125);  // 2^-9
  EXPECT_EQ(range("fp8-e5m2").max_finite, 57344.0);
  EXPECT_EQ(range("fp8-e5m2").min_normal, 6.103515625e-05);  // 2^-14
}

TEST(dtypes_test, bf16_and_fp32_share_the_exponent_range) {
  EXPECT_EQ(range("bf16").min_normal, range("fp32").min_normal);
  EXPECT_NEAR(range("bf16").max_finite, 3.3895313892515355e38, 1e24);
  EXPECT_NEAR(range("fp32").max_finite, 3.4028234663852886e38, 1e24);
  EXPECT_EQ(range("bf16").epsilon, 0.0078125);  // 2^-7
}

TEST(dtypes_test, fp4_e2m1_has_no_specials) {
  EXPECT_EQ(range("fp4-e2m1").max_finite, 6.0);
  EXPECT_EQ(range("fp4-e2m1").min_normal, 1.0);
  EXPECT_EQ(range("fp4-e2m1").min_subnormal, 0.5);
}

TEST(dtypes_test, integer_ranges_are_twos_complement) {
  EXPECT_EQ(range("int8").max_finite, 127.0);
  EXPECT_EQ(range("int8").min_value, -128.0);
  EXPECT_EQ(range("int4").max_finite, 7.0);
  EXPECT_EQ(range("int4").min_value, -8.0);
}

TEST(dtypes_test, tf32_and_fp64) {
  EXPECT_EQ(find_dtype("tf32")->storage_bits, 32);
  EXPECT_EQ(range("tf32").epsilon, 0.0009765625);
  EXPECT_EQ(range("fp64").epsilon, 2.220446049250313e-16);
  EXPECT_EQ(range("fp64").max_finite, 1.7976931348623157e308);
}

TEST(dtypes_test, aliases_resolve_case_insensitively) {
  EXPECT_EQ(find_dtype("BFloat16"), find_dtype("bf16"));
  EXPECT_EQ(find_dtype("e4m3"), find_dtype("fp8-e4m3fn"));
  EXPECT_EQ(find_dtype("nope"), nullptr);
  EXPECT_EQ(find_dtype("nf4")->bits, 4);
}

}  // namespace
}  // namespace sizeup
