// The accelerator catalog: dense peaks and exact memory from data/gpus.json, checked against
// /work/shared/data/references.md section 7 (vendor whitepapers via the cited tables).
#include "sizeup/hardware.hpp"

#include <gtest/gtest.h>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

TEST(hardware_test, h100_sxm_dense_bf16_and_exact_memory) {
  const GpuSpec& g = require_gpu("h100-sxm");
  EXPECT_DOUBLE_EQ(g.peak("bf16"), 989.4e12);  // 1830 MHz x 528 TC x 512 FMA x 2 (refs s7)
  EXPECT_DOUBLE_EQ(g.peak("fp8"), 1978.9e12);
  EXPECT_EQ(g.memory_bytes, 85899345920ULL);  // 80 GiB = 80 x 2^30
  EXPECT_DOUBLE_EQ(g.memory_bandwidth_bytes_per_s, 3.35e12);
  ASSERT_TRUE(g.board_power_watts.has_value());
  EXPECT_DOUBLE_EQ(*g.board_power_watts, 700);
}

TEST(hardware_test, a100_and_tpu_peaks_used_by_mfu_papers) {
  EXPECT_DOUBLE_EQ(require_gpu("a100-80gb").peak("bf16"), 312e12);  // Narayanan/Korthikanti
  EXPECT_DOUBLE_EQ(require_gpu("a100-40gb").peak("fp16"), 312e12);
  EXPECT_DOUBLE_EQ(require_gpu("tpu-v4").peak("bf16"), 275e12);  // PaLM Appendix B
  EXPECT_DOUBLE_EQ(require_gpu("mi300x").peak("bf16"), 1307.4e12);
  EXPECT_DOUBLE_EQ(require_gpu("b200").peak("bf16"), 2250e12);
}

// 2:4-sparse figures listed in references.md s7, per device and format: none may be a peak.
TEST(hardware_test, no_peak_is_a_sparse_figure) {
  struct Sparse {
    const char* gpu;
    const char* dtype;
    double flops;
  };
  const Sparse sparse[] = {{"a100-40gb", "bf16", 624e12},   {"a100-40gb", "fp16", 624e12},
                           {"a100-40gb", "tf32", 312e12},   {"a100-80gb", "bf16", 624e12},
                           {"a100-80gb", "tf32", 312e12},   {"h100-sxm", "bf16", 1979e12},
                           {"h100-sxm", "bf16", 1978.9e12}, {"h100-sxm", "fp16", 1979e12},
                           {"h100-sxm", "fp8", 3958e12},    {"h100-sxm", "fp8", 3957.8e12},
                           {"h100-sxm", "tf32", 989.4e12},  {"h100-pcie", "bf16", 1513e12},
                           {"h100-pcie", "fp8", 3026e12},   {"h200", "bf16", 1979e12},
                           {"h200", "fp8", 3958e12},        {"b200", "bf16", 4500e12},
                           {"b200", "fp8", 9000e12},        {"l4", "bf16", 242e12},
                           {"l4", "fp8", 485e12},           {"l4", "tf32", 120e12},
                           {"l40s", "bf16", 733e12},        {"l40s", "fp8", 1466e12},
                           {"l40s", "tf32", 366e12},        {"mi300x", "bf16", 2614.9e12},
                           {"mi300x", "fp8", 5229.8e12},    {"rtx-4090", "bf16", 330.3e12},
                           {"rtx-4090", "fp8", 660.6e12}};
  for (const auto& s : sparse) {
    const GpuSpec* g = find_gpu(s.gpu);
    ASSERT_NE(g, nullptr) << s.gpu;
    auto it = g->peak_flops_per_s.find(s.dtype);
    if (it == g->peak_flops_per_s.end()) continue;
    EXPECT_NE(it->second, s.flops) << s.gpu << " " << s.dtype << " uses a sparse figure";
  }
}

TEST(hardware_test, catalog_is_complete_and_sane) {
  EXPECT_EQ(gpu_catalog().size(), 25u);
  for (const GpuSpec& g : gpu_catalog()) {
    EXPECT_GT(g.memory_bytes, 0u) << g.name;
    EXPECT_GT(g.memory_bandwidth_bytes_per_s, 0) << g.name;
    EXPECT_FALSE(g.source.empty()) << g.name;
    ASSERT_TRUE(g.peak_flops_per_s.count("bf16") || g.peak_flops_per_s.count("fp16")) << g.name;
    // Dense fp8 is at most 2x dense bf16; vendors round each figure on its own (L40S lists
    // 362.05 bf16 and 733 fp8, 2.025x), so allow 3%. A sparse fp8 figure would be 4x.
    if (g.peak_flops_per_s.count("bf16") && g.peak_flops_per_s.count("fp8")) {
      EXPECT_LE(g.peak("fp8"), 2.06 * g.peak("bf16")) << g.name;
    }
  }
}

TEST(hardware_test, lookup_is_case_insensitive_and_errors_name_the_option) {
  EXPECT_EQ(find_gpu("H100-SXM"), find_gpu("h100-sxm"));
  EXPECT_EQ(find_gpu("no-such-gpu"), nullptr);
  try {
    require_gpu("h900");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "gpu");
    EXPECT_NE(e.reason().find("did you mean h100, h200?"), std::string::npos) << e.reason();
  }
  EXPECT_EQ(require_gpu("H100").name, "h100-sxm");  // the alias of the SXM5 part
  EXPECT_EQ(require_gpu("RTX 4090").name, "rtx-4090");
  EXPECT_THROW(require_gpu("a100"), InputError);  // 40 GB, 80 GB or PCIe: ambiguous
  try {
    require_gpu("a100-80gb").peak("fp8", "--precision");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "--precision");
  }
}

}  // namespace
}  // namespace sizeup
