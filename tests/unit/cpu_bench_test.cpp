// CPU peak and matmul FLOPs for `sizeup bench`. Expected values worked by hand.
#include "sizeup/cpu_bench.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

CpuSpec avx512_two_cores() {
  CpuSpec cpu;
  cpu.cores       = 2;
  cpu.clock_ghz   = 2.0;
  cpu.fma_units   = 2;
  cpu.vector_bits = 512;
  return cpu;
}

TEST(cpu_bench_test, lanes_from_vector_width) {
  const CpuSpec cpu = avx512_two_cores();
  EXPECT_EQ(vector_lanes(cpu, 4), 16);  // 512 / 32
  EXPECT_EQ(vector_lanes(cpu, 8), 8);   // 512 / 64
}

TEST(cpu_bench_test, peak_is_cores_clock_units_lanes_two) {
  // fp32: 2 cores * 2e9 Hz * 2 FMA units * 16 lanes * 2 FLOPs = 256e9 FLOP/s.
  EXPECT_DOUBLE_EQ(cpu_peak(avx512_two_cores(), 4, "fp32").value, 256e9);
  // fp64 is half: 8 lanes -> 128e9.
  EXPECT_DOUBLE_EQ(cpu_peak(avx512_two_cores(), 8, "fp64").value, 128e9);
  CpuSpec avx2     = avx512_two_cores();
  avx2.vector_bits = 256;  // 8 fp32 lanes -> 128e9
  EXPECT_DOUBLE_EQ(cpu_peak(avx2, 4, "fp32").value, 128e9);
}

TEST(cpu_bench_test, matmul_flops_is_two_mnk) {
  EXPECT_DOUBLE_EQ(matmul_flops(1024, 1024, 1024), 2147483648.0);  // 2 * 2^30
  EXPECT_DOUBLE_EQ(matmul_flops(2, 3, 5), 60.0);
  EXPECT_DOUBLE_EQ(matmul_flops(100000, 100000, 100000), 2e15);  // no integer overflow
}

TEST(cpu_bench_test, median_of_odd_and_even_counts) {
  EXPECT_DOUBLE_EQ(median_seconds({3.0, 1.0, 2.0}), 2.0);
  EXPECT_DOUBLE_EQ(median_seconds({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_THROW(median_seconds({}), InputError);
}

TEST(cpu_bench_test, achieved_rate_and_fraction) {
  // 2 * 1000^3 = 2e9 FLOPs in 0.1 s = 20e9 FLOP/s; of a 100e9 peak = 0.2.
  const MatmulResult r = matmul_result("fp32", 1000, 0.1, 100e9);
  EXPECT_DOUBLE_EQ(r.flops, 2e9);
  EXPECT_DOUBLE_EQ(r.achieved_flops_per_s, 20e9);
  EXPECT_DOUBLE_EQ(r.fraction_of_peak, 0.2);
  EXPECT_THROW(matmul_result("fp32", 1000, 0.0, 100e9), InputError);
}

TEST(cpu_bench_test, bad_cpu_fields_name_the_option) {
  CpuSpec cpu   = avx512_two_cores();
  cpu.clock_ghz = 0;
  try {
    cpu_peak(cpu, 4, "fp32");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("(ghz)"), std::string::npos);
  }
}

}  // namespace
}  // namespace sizeup
