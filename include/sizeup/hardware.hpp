// Accelerators: the bundled catalog (data/gpus.json, each row with its source) and
// custom devices. Peaks are dense (no 2:4 sparsity); a format the device lacks is absent.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sizeup/units.hpp"

namespace sizeup {

struct GpuSpec {
  std::string name;                         // catalog key, e.g. "h100-sxm"
  std::string display_name;                 // e.g. "NVIDIA H100 SXM5 80GB"
  std::vector<std::string> aliases;         // other names that mean it, e.g. "h100"
  std::string vendor;                       // e.g. "nvidia"
  ByteCount memory_bytes              = 0;  // e.g. 85899345920 (80 GiB)
  double memory_bandwidth_bytes_per_s = 0;  // e.g. 3.35e12
  std::map<std::string, FlopRate>
      peak_flops_per_s;                         // dtype -> dense FLOP/s, e.g. "bf16" -> 989.4e12
  std::optional<double> board_power_watts;      // e.g. 700 (absent when unpublished)
  double intra_node_bandwidth_bytes_per_s = 0;  // per GPU, one direction, e.g. 450e9 (NVLink 4)
  double inter_node_bandwidth_bytes_per_s = 0;  // per GPU, one direction, e.g. 50e9
  int gpus_per_node                       = 8;
  // Performance-model fields (perf_model.hpp), each sourced in the catalog's perf_source.
  int sm_count                      = 0;     // streaming multiprocessors, e.g. 108 (0: unknown)
  double pcie_bandwidth_bytes_per_s = 32e9;  // host link, one direction, e.g. 32e9 (Gen4 x16)
  double intra_node_latency_seconds = 2e-6;  // per message on NVLink, e.g. 2e-6 (assumption)
  double inter_node_latency_seconds = 5e-6;  // per message on the network, e.g. 5e-6
  int nvlink_domain_gpus            = 0;     // GPUs on one NVLink fabric (0: gpus_per_node)
  std::string source;

  // Dense peak for a dtype name ("bf16", "fp16", "fp8", "fp32", "tf32", ...); throws
  // InputError naming `field` when the device has no such peak.
  FlopRate peak(const std::string& dtype, const std::string& field = "gpu") const;
};

const std::vector<GpuSpec>& gpu_catalog();
const GpuSpec* find_gpu(const std::string& name);  // name or alias, case-insensitive
// Like find_gpu, and also a part of one name that no other name has ("4090", "RTX 4090",
// "MI300"); throws InputError suggesting the nearest names when absent or ambiguous.
const GpuSpec& require_gpu(const std::string& name, const std::string& field = "gpu");

}  // namespace sizeup
