// Where `time` and `mfu` get N and the attention shape: a MODEL (or shape flags describing
// one), or `--params` with optional --layers/--heads/--head-dim (or --hidden)/--seq for
// PaLM's attention term (cli-contract.md, "MODEL").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "sizeup/compute_time.hpp"

namespace sizeup::cli {

struct ParamsSource {
  double params = 0;  // N used in 6N (active parameters for MoE)
  std::string model;  // model name, or "" for --params
  std::optional<AttentionShape> attention;
  std::vector<std::string> notes;  // what was assumed, shown to the user
};

ParamsSource resolve_params(const ModelOptions& m, const std::optional<std::string>& params,
                            const std::optional<std::string>& seq);

// Dense peak FLOP/s of `gpu` for the compute format of --precision (default bf16).
struct Peak {
  std::string precision;  // e.g. "bf16"
  std::string dtype;      // e.g. "bf16"
  FlopRate flops_per_s = 0;
};
Peak resolve_peak(const GpuSpec& gpu, const std::optional<std::string>& precision);

// MFU from --mfu: a fraction in (0, 1]; throws InputError naming --mfu otherwise.
double parse_mfu(const std::string& text);

std::string sci(double v);  // 6.300e+24
std::string fixed(double v, int digits);

}  // namespace sizeup::cli
