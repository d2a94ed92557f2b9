// Serving planner: the cheapest deployments that meet a time-to-first-token and a
// time-per-output-token target at a request rate. Searches GPU kind, tensor and pipeline
// parallelism, expert parallelism, weight and KV formats and the engine's running-sequence
// limit; replicas are added until the rate is served.
//
// Per configuration, the steady state of continuous batching is solved analytically: with n
// requests running, a step decodes n tokens and prefills the prompts arriving meanwhile
// (r P t tokens in a step of t seconds at r requests/s per replica); Little's law gives
// n = r (TTFT + G t). The fixed point n, t is found by iteration; TPOT = t, TTFT = the
// prompt's chunks at the step time plus one step of waiting. The best few are then checked by
// the event-driven simulator (serve_sim.hpp), cheapest first: a plan is kept when its
// simulated p90 TTFT and TPOT meet the targets, else it is retried with one more replica.
//
// Sources: Little 1961 (L = lambda W); Kwon et al. 2023 and Agrawal et al. 2024 for the
// scheduling the steady state stands for.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sizeup/hardware.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/kv_capacity.hpp"
#include "sizeup/model.hpp"
#include "sizeup/serving.hpp"

namespace sizeup {

struct ServePlanInput {
  double rate_per_s   = 1;                           // requests/s in total
  std::int64_t prompt = 512;                         // P
  std::int64_t gen    = 128;                         // G
  double ttft_seconds = 1;                           // target
  double tpot_seconds = 0.05;                        // target
  std::vector<GpuSpec> gpus;                         // kinds to consider
  std::map<std::string, double> price_per_gpu_hour;  // by GPU name; absent: the default below
  double default_price_per_gpu_hour = 2.0;           // USD, assumption shown in the output
  std::int64_t max_gpus             = 64;
  std::int64_t top                  = 5;
  bool verify                       = true;  // simulate the best few
};

struct ServePlan {
  std::string gpu;
  WeightFormat weights = WeightFormat::bf16;
  int kv_bytes         = 2;
  ServingLayout layout;
  std::int64_t max_num_seqs             = 0;
  std::int64_t replicas                 = 0;
  std::int64_t gpus                     = 0;
  double rate_per_replica               = 0;
  double running                        = 0;  // n, requests running per replica at the fixed point
  double ttft_seconds                   = 0;  // analytic
  double tpot_seconds                   = 0;
  double cost_per_hour                  = 0;  // USD
  double cost_per_million_input_tokens  = 0;  // cost split by the GPU time each kind uses
  double cost_per_million_output_tokens = 0;
  std::int64_t kv_cache_tokens          = 0;
  std::int64_t kv_blocks = 0, block_size = 16, max_num_batched_tokens = 8192;
  bool verified               = false;
  double sim_ttft_p90_seconds = 0, sim_tpot_p90_seconds = 0;
};

struct ServePlanReport {
  std::vector<ServePlan> plans;  // cheapest first
  std::int64_t evaluated = 0, feasible = 0;
  std::map<std::string, std::int64_t> rejected;  // reason -> count
  std::int64_t simulations = 0;                  // plans checked by the simulator
  double seconds           = 0;                  // wall time of the search
  double cpu_seconds       = 0;                  // processor time of the search
};

// Throws InputError on bad input (no GPU kinds, non-positive targets, rate...).
ServePlanReport plan_serving(const ModelSpec& m, const ServePlanInput& in);

}  // namespace sizeup
