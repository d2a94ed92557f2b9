// Performance model: values worked out by hand from the formulas in perf_model.hpp.
#include "sizeup/perf_model.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

DeviceModel a100() { return device_model(require_gpu("a100-80gb"), "bf16"); }

TEST(perf_model, device_from_catalog) {
  const DeviceModel d = a100();
  EXPECT_DOUBLE_EQ(d.peak_flops_per_s, 312e12);
  EXPECT_DOUBLE_EQ(d.memory_bandwidth_bytes_per_s, 2.039e12);
  EXPECT_EQ(d.sm_count, 108);
  EXPECT_EQ(d.domain_gpus, 8);
  EXPECT_EQ(device_model(require_gpu("gb200"), "bf16").domain_gpus, 72);
}

TEST(perf_model, gemm_wave_quantization) {
  // 4096^3: 32 x 32 = 1024 tiles of 128 x 128 on 108 SMs -> 10 waves of 108 = 1080 slots.
  const DeviceModel d = a100();
  EXPECT_NEAR(gemm_shape_efficiency(d, 4096, 4096, 4096), 1024.0 / 1080.0, 1e-12);
  const double t = 2.0 * 4096 * 4096 * 4096 / (312e12 * kGemmPeakFraction * (1024.0 / 1080.0));
  EXPECT_NEAR(gemm_seconds(d, 4096, 4096, 4096), t, t * 1e-12);
}

TEST(perf_model, gemm_tile_quantization_and_roofline) {
  const DeviceModel d = a100();
  // n = 129 needs two 128-wide tiles: half of the second is padding.
  EXPECT_NEAR(gemm_shape_efficiency(d, 128 * 108, 129, 64), 129.0 / 256.0, 1e-12);
  // A matrix-vector product is bound by memory: (m k + k n + m n) * 2 bytes at kMemoryBwFraction *
  // W.
  const double bytes = (8192.0 * 8192 + 8192 + 8192) * 2;
  EXPECT_NEAR(gemm_seconds(d, 8192, 1, 8192), bytes / (2.039e12 * kMemoryBwFraction), 1e-12);
}

TEST(perf_model, all_reduce_in_one_node) {
  const DeviceModel d = a100();
  // Ring bandwidth term 2 * 7/8 * 1e9 / (300e9 * 0.8); the tree's latency 2 * 3 * 2 us wins.
  const double want = 2 * 7.0 / 8.0 * 1e9 / 240e9 + 6 * 2e-6;
  EXPECT_NEAR(collective_seconds(d, Collective::all_reduce, 1e9, place_group(8, 1, 8)), want,
              1e-12);
}

TEST(perf_model, all_reduce_hierarchical_across_nodes) {
  const DeviceModel d = a100();
  // 64 ranks, 8 per node: reduce-scatter + all-gather of 1e9 B in the node, then all-reduce of
  // 1e9 / 8 B over 8 nodes on each GPU's own 25 GB/s link (x 0.8).
  const double rs   = 7.0 / 8.0 * 1e9 / 240e9 + 7 * 2e-6;
  const double over = 2 * 7.0 / 8.0 * 1.25e8 / 20e9 + 6 * 5e-6;
  EXPECT_NEAR(collective_seconds(d, Collective::all_reduce, 1e9, place_group(64, 1, 8)),
              2 * rs + over, 1e-12);
  // Data-parallel group with tp = 8: one member per node, all on the network.
  const GroupPlacement g = place_group(64, 8, 8);
  EXPECT_EQ(g.local, 1);
  EXPECT_NEAR(collective_seconds(d, Collective::all_reduce, 1e9, g),
              2 * 63.0 / 64.0 * 1e9 / 20e9 + 12 * 5e-6, 1e-12);
}

TEST(perf_model, p2p_and_all_to_all) {
  const DeviceModel d = a100();
  EXPECT_NEAR(collective_seconds(d, Collective::p2p, 1e8, place_group(2, 64, 8)), 1e8 / 20e9 + 5e-6,
              1e-12);
  // 16 ranks, 8 per node: 7/16 of the buffer on NVLink, 8/16 on the network, concurrently.
  const double intra = 1e9 * 7 / 16 / 240e9 + 7 * 2e-6;
  const double inter = 1e9 * 8 / 16 / 20e9 + 1 * 5e-6;
  EXPECT_NEAR(collective_seconds(d, Collective::all_to_all, 1e9, place_group(16, 1, 8)),
              std::max(intra, inter), 1e-12);
}

TEST(perf_model, rejects_bad_constants) {
  PerfConstants k;
  k.gemm_peak_fraction = 1.5;
  EXPECT_THROW(device_model(require_gpu("a100-80gb"), "bf16", k), InputError);
  EXPECT_THROW(device_model(require_gpu("a100-80gb"), "fp8"), InputError);
}

}  // namespace
}  // namespace sizeup
