// Options shared by `sizeup train` and `sizeup fit` (cli-contract.md, "Common options"):
// workload, recipe, optimizer, parallel layout, activations and fine-tuning.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "sizeup/memory_train.hpp"

namespace sizeup::cli {

struct TrainCliOptions {
  GpuOptions gpu;
  std::optional<std::string> precision, grad_dtype, optimizer;
  std::optional<std::string> batch, micro_batch, global_batch, seq;
  std::optional<std::string> dp, tp, pp, ep, cp, zero, fsdp, schedule, interleave, offload;
  bool sequence_parallel = false;
  std::optional<std::string> recompute, attention, dropout, capacity_factor;
  std::optional<std::string> finetune, lora_rank, lora_targets, frozen_layers;
  std::optional<std::string> overhead, headroom, cuda_loading, framework, loss, head;
};

void add_train_options(CLI::App* app, TrainCliOptions& o);

// The run described by the options for model `m` (validated; errors name the option).
// `notes` receives the defaults that were chosen.
TrainInput train_input(const TrainCliOptions& o, const ModelSpec& m, const GpuSpec& gpu,
                       std::vector<std::string>& notes);

// An integer option in [lo, hi] (accepts 1k, 2e3 ...), or `dflt` when absent.
std::int64_t int_option(const std::optional<std::string>& v, const char* field, std::int64_t dflt,
                        std::int64_t lo = 1, std::int64_t hi = 10000000);

}  // namespace sizeup::cli
