// Event-driven simulation of continuous batching as vLLM (V1) schedules it: Poisson arrivals,
// a running set bounded by max_num_seqs, a token budget per step (max_num_batched_tokens)
// filled by running decodes first and then chunks of prefills, KV blocks allocated as
// sequences grow, and preemption by recomputation of the most recently admitted request when
// blocks run out. Step times come from the step-time model (serving.hpp StepCostModel).
//
// Sources: Kwon et al. 2023 (vLLM/PagedAttention, Sec. 4.2-4.5: blocks, preemption by
// recomputation, FCFS); Agrawal et al. 2024 (Sarathi-Serve: chunked prefill with a token
// budget, decodes first); Yu et al. 2022 (Orca: iteration-level scheduling).
#pragma once

#include <cstdint>
#include <vector>

#include "sizeup/serving.hpp"

namespace sizeup {

struct SimInput {
  double rate_per_s         = 1;      // Poisson arrival rate, requests/s
  std::int64_t requests     = 10000;  // requests simulated
  std::int64_t prompt       = 512;    // mean prompt tokens
  std::int64_t gen          = 128;    // mean output tokens
  double length_spread      = 0;      // 0: fixed lengths; s: uniform in [(1-s)x, (1+s)x], s < 1
  std::int64_t max_num_seqs = 256;
  std::int64_t max_num_batched_tokens = 8192;
  std::int64_t kv_blocks              = 0;  // KV pool in blocks (0: unlimited)
  std::int64_t block_size             = 16;
  double ttft_slo_seconds             = 0;  // goodput targets (0: none)
  double tpot_slo_seconds             = 0;
  std::uint64_t seed                  = 1;
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
};

struct SimReport {
  Percentiles ttft_seconds, tpot_seconds, e2e_seconds;
  double duration_seconds            = 0;  // first arrival to last completion
  double output_tokens_per_second    = 0;  // per replica
  double total_tokens_per_second     = 0;
  double requests_per_second         = 0;
  double goodput_requests_per_second = 0;  // meeting both SLOs
  double mean_running                = 0;  // time-weighted sequences per step
  std::int64_t steps                 = 0;
  std::int64_t preemptions           = 0;
  std::int64_t completed             = 0;
};

// Throws InputError on bad input (rate, lengths, limits).
SimReport simulate_serving(const StepCostModel& cost, const SimInput& in);

}  // namespace sizeup
