// Serving planner. See include/sizeup/serve_plan.hpp for the steady-state model and sources.
#include "sizeup/serve_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "sizeup/error.hpp"
#include "sizeup/perf_model.hpp"
#include "sizeup/serve_sim.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

struct Steady {
  bool ok  = false;
  double n = 0, step = 0, ttft = 0, prefill_share = 0;
};

// Steady state of continuous batching at r requests/s on one replica (see the header).
Steady steady_state(const StepCostModel& c, double r, double P, double G, double max_running,
                    double batched_tokens) {
  Steady s;
  double t = c.seconds(1, P, P);
  for (int it = 0; it < 200; ++it) {
    // A new prompt waits for the step under way (half a step on average), then is prefilled
    // in chunks of the budget the running decodes leave, each chunk riding a longer step.
    const double budget  = std::max(1.0, batched_tokens - std::min(s.n, batched_tokens - 1));
    const double chunk   = std::min(P, budget);
    const double ctx_now = s.n * (P + G / 2);
    const double t_chunk = c.seconds(s.n + chunk, ctx_now + chunk * P / 2, ctx_now);
    const double ttft    = 0.5 * t + std::ceil(P / budget) * t_chunk;
    const double n       = r * (ttft + G * t);
    if (n > max_running) return s;   // more requests than the engine may run
    const double p     = r * P * t;  // prompt tokens prefilled per step
    const double ctx   = n * (P + G / 2);
    const double t_new = c.seconds(n + p, ctx + p * P / 2, ctx);
    s.n                = n;
    s.ttft             = ttft;
    if (std::abs(t_new - t) <= 1e-9 * t) {
      s.ok            = true;
      s.step          = t_new;
      const double td = c.seconds(std::max(n, 1.0), ctx, ctx);
      s.prefill_share = std::clamp((t_new - td) / t_new, 0.0, 1.0);
      return s;
    }
    if (t_new > 1e3) return s;  // diverging: the replica cannot keep up
    t = 0.5 * (t + t_new);
  }
  return s;
}

}  // namespace

ServePlanReport plan_serving(const ModelSpec& m, const ServePlanInput& in) {
  const auto start      = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  if (!(in.rate_per_s > 0) || !std::isfinite(in.rate_per_s) || in.rate_per_s > 1e9)
    throw InputError("invalid rate", "rate", "must be in (0, 1e9] requests/s");
  if (!(in.ttft_seconds > 0) || !(in.tpot_seconds > 0))
    throw InputError("invalid target", "ttft_ms", "latency targets must be positive");
  if (in.prompt < 1 || in.gen < 1)
    throw InputError("invalid request shape", "prompt", "prompt and gen must be at least 1");
  if (in.gpus.empty()) throw InputError("no accelerators", "gpu", "give at least one GPU kind");
  if (in.max_gpus < 1) throw InputError("invalid GPU limit", "max_gpus", "must be at least 1");
  if (in.top < 1) throw InputError("invalid count", "top", "must be at least 1");
  ServePlanReport rep;
  const double P = static_cast<double>(in.prompt), G = static_cast<double>(in.gen);
  std::vector<std::pair<ServePlan, StepCostModel>> found;

  for (const GpuSpec& g : in.gpus) {
    auto price_it = in.price_per_gpu_hour.find(g.name);
    const double price =
        price_it != in.price_per_gpu_hour.end() ? price_it->second : in.default_price_per_gpu_hour;
    std::vector<WeightFormat> formats = {WeightFormat::bf16, WeightFormat::awq_int4};
    if (g.peak_flops_per_s.count("fp8")) formats.insert(formats.begin() + 1, WeightFormat::fp8);
    const I domain = g.nvlink_domain_gpus > 0 ? g.nvlink_domain_gpus : g.gpus_per_node;
    for (WeightFormat wf : formats)
      for (int kvb : {2, 1})
        for (I tp = 1; tp <= std::min<I>(domain, in.max_gpus); tp *= 2)
          for (I pp = 1; pp * tp <= in.max_gpus && pp <= 8; pp *= 2)
            for (I ep = 1; ep <= tp * pp; ep = ep == 1 && tp * pp > 1 ? tp * pp : ep + tp * pp) {
              // Experts sharded by tensor parallelism (ep 1), or spread whole over the replica.
              if (ep > 1 && (!m.is_moe() || m.n_expert % ep != 0)) continue;
              ++rep.evaluated;
              if (pp > 1 && tp < domain) {  // pipeline only once tensor parallelism is spent
                ++rep.rejected["pipeline before filling the node with tensor parallelism"];
                continue;
              }
              ServePlan plan;
              plan.gpu      = g.name;
              plan.weights  = wf;
              plan.kv_bytes = kvb;
              plan.layout   = {tp, pp, ep};
              InferenceInput inp;
              inp.weights  = wf;
              inp.kv_bytes = kvb;
              inp.tp       = tp;
              inp.context  = in.prompt + in.gen;
              EngineKvReport kv;
              StepCostModel cost;
              try {
                EngineSettings es;
                es.engine        = ServingEngine::vllm;
                es.gpu_name      = g.name;
                es.max_model_len = in.prompt + in.gen;
                es.pp            = pp;
                kv = engine_kv_capacity(m, inp, static_cast<double>(g.memory_bytes), es);
                std::string dtype = wf == WeightFormat::fp8 ? "fp8" : "bf16";
                if (!g.peak_flops_per_s.count(dtype)) dtype = "fp16";
                cost = step_cost_model(m, inp, plan.layout, device_model(g, dtype), {});
              } catch (const InputError& e) {
                ++rep.rejected[e.field() == "gpu_memory" ? "weights do not fit"
                                                         : "layout does not divide the model"];
                continue;
              }
              const double max_running =
                  std::min<double>(static_cast<double>(kv.max_num_seqs),
                                   static_cast<double>(kv.kv_cache_tokens) / (P + G));
              if (max_running < 1) {
                ++rep.rejected["KV cache holds no request"];
                continue;
              }
              const double batched = static_cast<double>(kv.max_num_batched_tokens);
              auto meets           = [&](double r, Steady* out) {
                const Steady s = steady_state(cost, r, P, G, max_running, batched);
                if (out) *out = s;
                return s.ok && s.step <= in.tpot_seconds && s.ttft <= in.ttft_seconds;
              };
              Steady s;
              if (!meets(1e-6, &s)) {
                ++rep.rejected[s.ok && s.step > in.tpot_seconds ? "TPOT above target even alone"
                                                                : "TTFT above target even alone"];
                continue;
              }
              // Largest rate per replica meeting both targets (bisection on a log scale).
              double lo = 1e-6, hi = 1e-6;
              while (hi < in.rate_per_s && meets(hi * 2, nullptr)) hi *= 2;
              if (hi >= in.rate_per_s) {
                lo = hi = in.rate_per_s;
              } else {
                lo = hi;
                hi = hi * 2;
                for (int it = 0; it < 40; ++it) {
                  const double mid                = std::sqrt(lo * hi);
                  (meets(mid, nullptr) ? lo : hi) = mid;
                }
              }
              const I replicas = static_cast<I>(std::ceil(in.rate_per_s / lo * (1 - 1e-12)));
              plan.replicas    = std::max<I>(1, replicas);
              plan.gpus        = plan.replicas * tp * pp;
              if (plan.gpus > in.max_gpus) {
                ++rep.rejected["needs more GPUs than allowed"];
                continue;
              }
              plan.rate_per_replica = in.rate_per_s / static_cast<double>(plan.replicas);
              meets(plan.rate_per_replica, &s);
              plan.max_num_seqs           = static_cast<I>(max_running);
              plan.running                = s.n;
              plan.ttft_seconds           = s.ttft;
              plan.tpot_seconds           = s.step;
              plan.cost_per_hour          = static_cast<double>(plan.gpus) * price;
              plan.kv_cache_tokens        = kv.kv_cache_tokens;
              plan.kv_blocks              = kv.num_blocks;
              plan.block_size             = kv.block_size;
              plan.max_num_batched_tokens = kv.max_num_batched_tokens;
              // GPU time split between prefill and decode by their share of a step.
              const double per_hour_tokens_in  = in.rate_per_s * 3600 * P;
              const double per_hour_tokens_out = in.rate_per_s * 3600 * G;
              plan.cost_per_million_input_tokens =
                  plan.cost_per_hour * s.prefill_share / per_hour_tokens_in * 1e6;
              plan.cost_per_million_output_tokens =
                  plan.cost_per_hour * (1 - s.prefill_share) / per_hour_tokens_out * 1e6;
              ++rep.feasible;
              found.emplace_back(plan, cost);
            }
  }
  // Cheapest first; each is checked by the simulator (p90 TTFT and TPOT against the targets)
  // and, when it misses, retried with one more replica.
  auto cheaper = [](const auto& a, const auto& b) {
    if (a.first.cost_per_hour != b.first.cost_per_hour)
      return a.first.cost_per_hour > b.first.cost_per_hour;
    return a.first.tpot_seconds > b.first.tpot_seconds;
  };
  std::make_heap(found.begin(), found.end(), cheaper);
  int simulations = 0;
  while (!found.empty() && static_cast<I>(rep.plans.size()) < in.top) {
    std::pop_heap(found.begin(), found.end(), cheaper);
    auto [plan, cost] = found.back();
    found.pop_back();
    if (!in.verify) {
      rep.plans.push_back(plan);
      continue;
    }
    if (simulations >= 400) break;
    ++simulations;
    SimInput si;
    si.rate_per_s             = plan.rate_per_replica;
    si.requests               = 2000;
    si.prompt                 = in.prompt;
    si.gen                    = in.gen;
    si.max_num_seqs           = plan.max_num_seqs;
    si.kv_blocks              = plan.kv_blocks;
    si.block_size             = plan.block_size;
    si.max_num_batched_tokens = plan.max_num_batched_tokens;
    const SimReport r         = simulate_serving(cost, si);
    plan.verified             = true;
    plan.sim_ttft_p90_seconds = r.ttft_seconds.p90;
    plan.sim_tpot_p90_seconds = r.tpot_seconds.p90;
    if (r.ttft_seconds.p90 <= in.ttft_seconds && r.tpot_seconds.p90 <= in.tpot_seconds) {
      rep.plans.push_back(plan);
      continue;
    }
    const I per_replica = plan.layout.gpus();
    if (plan.gpus + per_replica > in.max_gpus) {
      ++rep.rejected["misses the targets in simulation within the GPU limit"];
      continue;
    }
    ++plan.replicas;  // retry with one more replica
    const double scale =
        static_cast<double>(plan.replicas) / static_cast<double>(plan.replicas - 1);
    plan.gpus = plan.replicas * per_replica;
    plan.cost_per_hour *= scale;
    plan.cost_per_million_input_tokens *= scale;
    plan.cost_per_million_output_tokens *= scale;
    plan.rate_per_replica = in.rate_per_s / static_cast<double>(plan.replicas);
    found.emplace_back(plan, cost);
    std::push_heap(found.begin(), found.end(), cheaper);
  }
  rep.simulations = simulations;
  rep.seconds     = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rep.cpu_seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  return rep;
}

}  // namespace sizeup
