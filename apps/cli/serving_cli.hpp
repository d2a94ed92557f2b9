// Serving options of `sizeup infer` (--prompt/--gen latency and throughput, --engine KV
// capacity, --rate load simulation) and the JSON/text they add. The math is in the library
// (serving.hpp, kv_capacity.hpp, serve_sim.hpp); this file only parses and formats.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/kv_capacity.hpp"
#include "sizeup/serving.hpp"

namespace sizeup::cli {

struct ServingCliOptions {
  std::optional<std::string> prompt, gen, engine, rate, requests, length_spread, seed;
  std::optional<std::string> max_num_seqs, max_num_batched_tokens, block_size;
  std::optional<std::string> mem_fraction_static, kv_free_fraction, pp, ep;
  std::optional<std::string> ttft_ms, tpot_ms;
  bool any() const {
    return prompt || gen || engine || rate || requests || length_spread || seed || max_num_seqs ||
           max_num_batched_tokens || block_size || mem_fraction_static || kv_free_fraction || pp ||
           ep || ttft_ms || tpot_ms;
  }
};

void add_serving_options(CLI::App* app, ServingCliOptions& o);

// What cmd_infer knows when it calls in.
struct ServingCliContext {
  const ModelSpec& model;
  InferenceInput in;             // weights, KV format, batch, context (max model length), tp
  const GpuSpec* gpu = nullptr;  // null: no --gpu
  std::int64_t gpus  = 1;
  std::optional<double> utilization;  // --gpu-utilization
};

// The matmul peak of the weight format on a GPU: fp8/int8 weights use the fp8/int8 peak
// (W8A8) when the GPU has one; weight-only formats dequantise to 16-bit.
std::pair<std::string, double> matmul_peak(const GpuSpec& g, WeightFormat f);

// Adds `serving`, `engine` and `load` to out.json (null when not asked for) and their text
// and explanation; appends notes.
void add_serving_output(const ServingCliOptions& o, const ServingCliContext& c, Output& out,
                        std::vector<std::string>& notes);

}  // namespace sizeup::cli
