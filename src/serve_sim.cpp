// Continuous-batching simulator. See include/sizeup/serve_sim.hpp for the scheduling rules and
// sources; docs/serving.md for how it was checked.
//
// Speed: a step in which every running sequence decodes, and nothing can join, repeats until
// the next arrival, completion or block shortage; such runs are advanced k steps at a time
// (one pass over the running set per run, a scalar loop for the step times).
#include "sizeup/serve_sim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

// xoshiro256** (Blackman and Vigna 2018): fast, good enough for arrival times.
struct Rng {
  std::uint64_t s[4];
  explicit Rng(std::uint64_t seed) {
    for (auto& v : s) {  // splitmix64 seeding
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z               = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z               = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      v               = z ^ (z >> 31);
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

struct Req {
  double arrival = 0, first_token = -1, done = -1;
  I prompt = 0, gen = 0;
  // Tokens still to compute: prompt + generated - computed (decoding: 1, the token sampled
  // last); a token is sampled when that reaches 0.
  I computed  = 0;  // tokens whose KV is in the cache
  I generated = 0;  // output tokens sampled
  I blocks    = 0;
};

Percentiles percentiles(std::vector<double>& v) {
  Percentiles p;
  if (v.empty()) return p;
  auto at = [&](double q) {
    const std::size_t k =
        std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  double s = 0;
  for (double x : v) s += x;
  p.mean = s / static_cast<double>(v.size());
  p.p50  = at(0.50);
  p.p90  = at(0.90);
  p.p99  = at(0.99);
  return p;
}

I ceil_div(I a, I b) { return (a + b - 1) / b; }

}  // namespace

SimReport simulate_serving(const StepCostModel& cost, const SimInput& in) {
  if (!(in.rate_per_s > 0) || !std::isfinite(in.rate_per_s))
    throw InputError("invalid rate", "rate", "must be a positive number of requests/s");
  if (in.requests < 1 || in.requests > 100000000)
    throw InputError("invalid request count", "requests", "must be in [1, 1e8]");
  if (in.prompt < 1) throw InputError("invalid prompt", "prompt", "must be at least 1 token");
  if (in.gen < 1) throw InputError("invalid generation length", "gen", "must be at least 1");
  if (!(in.length_spread >= 0 && in.length_spread < 1))
    throw InputError("invalid spread", "length_spread", "must be in [0, 1)");
  if (in.max_num_seqs < 1 || in.max_num_batched_tokens < 1 || in.block_size < 1 || in.kv_blocks < 0)
    throw InputError("invalid scheduler limit", "max_num_seqs", "limits must be positive");
  const I bs = in.block_size;
  // A request must fit alone, or the engine could never finish it.
  const I longest = static_cast<I>(std::ceil(static_cast<double>(in.prompt + in.gen) * (1 + in.length_spread))) + 1;
  if (in.kv_blocks > 0 && ceil_div(longest, bs) > in.kv_blocks)
    throw InputError("KV cache too small", "kv_blocks",
                     fmt::format("{} blocks of {} tokens cannot hold one request of up to {} "
                                 "tokens",
                                 in.kv_blocks, bs, longest));
  const I kv_total = in.kv_blocks > 0 ? in.kv_blocks : std::numeric_limits<I>::max() / 4;

  Rng rng(in.seed);
  std::vector<Req> reqs(static_cast<std::size_t>(in.requests));
  double t_arr = 0;
  auto length  = [&](I mean) {
    if (in.length_spread == 0) return mean;
    const double lo = static_cast<double>(mean) * (1 - in.length_spread);
    const double hi = static_cast<double>(mean) * (1 + in.length_spread);
    return std::max<I>(1, static_cast<I>(std::llround(lo + (hi - lo) * rng.uniform())));
  };
  for (auto& r : reqs) {
    t_arr += -std::log(1 - rng.uniform()) / in.rate_per_s;
    r.arrival = t_arr;
    r.prompt  = length(in.prompt);
    r.gen     = length(in.gen);
  }

  SimReport rep;
  std::deque<I> waiting;   // FCFS; preempted requests go back to the front
  std::vector<I> running;  // admission order
  std::vector<I> keep;     // scratch
  running.reserve(static_cast<std::size_t>(in.max_num_seqs));
  keep.reserve(static_cast<std::size_t>(in.max_num_seqs));
  I next_arrival = 0, free_blocks = kv_total, completed = 0;
  double now = reqs.front().arrival, running_time = 0;
  const double first_arrival = now;

  auto finish = [&](Req& r) {
    r.done = now;
    free_blocks += r.blocks;
    r.blocks = 0;
    ++completed;
  };
  // Blocks request r needs to hold `tokens` tokens; false if the pool cannot give them.
  auto grow = [&](Req& r, I tokens) {
    const I need = ceil_div(tokens, bs) - r.blocks;
    if (need <= 0) return true;
    if (need > free_blocks) return false;
    free_blocks -= need;
    r.blocks += need;
    return true;
  };
  auto preempt = [&](I idx) {  // recomputation: drop its cache, back to the queue's front
    Req& r = reqs[static_cast<std::size_t>(idx)];
    free_blocks += r.blocks;
    r.blocks   = 0;
    r.computed = 0;  // the prompt and the tokens generated so far are recomputed
    ++rep.preemptions;
    waiting.push_front(idx);
  };

  while (completed < in.requests) {
    while (next_arrival < in.requests &&
           reqs[static_cast<std::size_t>(next_arrival)].arrival <= now)
      waiting.push_back(next_arrival++);
    if (running.empty() && waiting.empty()) {
      now = reqs[static_cast<std::size_t>(next_arrival)].arrival;
      continue;
    }

    // Fast path: all running sequences decode and nobody can join before something changes.
    bool all_decode = !running.empty();
    for (I idx : running)
      if (const Req& r = reqs[static_cast<std::size_t>(idx)];
          r.generated == 0 || r.prompt + r.generated - r.computed != 1) {
        all_decode = false;
        break;
      }
    const I n = static_cast<I>(running.size());
    if (all_decode && n <= in.max_num_batched_tokens && (waiting.empty() || n >= in.max_num_seqs)) {
      I k        = std::numeric_limits<I>::max();
      double ctx = 0;  // tokens in the cache over the running set
      for (I idx : running) {
        const Req& r = reqs[static_cast<std::size_t>(idx)];
        k            = std::min(k, r.gen - r.generated);
        ctx += static_cast<double>(r.computed);
      }
      k = std::min(k, (free_blocks / n) * bs);  // n * ceil(k / bs) blocks at most
      if (k >= 2) {
        const double next_t        = next_arrival < in.requests
                                         ? reqs[static_cast<std::size_t>(next_arrival)].arrival
                                         : std::numeric_limits<double>::infinity();
        const bool arrivals_matter = n < in.max_num_seqs;
        I j                        = 0;
        const double nf            = static_cast<double>(n);
        while (j < k) {
          // Each sequence attends to its cache plus the new token.
          const double dt = cost.seconds(nf, ctx + nf, ctx);
          now += dt;
          running_time += dt * nf;
          ctx += nf;
          ++j;
          ++rep.steps;
          if (arrivals_matter && now >= next_t) break;
        }
        for (I idx : running) {
          Req& r = reqs[static_cast<std::size_t>(idx)];
          r.computed += j;
          r.generated += j;
          grow(r, r.computed);
        }
        keep.clear();
        for (I idx : running) {
          Req& r = reqs[static_cast<std::size_t>(idx)];
          if (r.generated >= r.gen)
            finish(r);
          else
            keep.push_back(idx);
        }
        running.swap(keep);
        continue;
      }
    }

    // General step: decodes and running prefill chunks first, then new requests, within the
    // token budget; blocks allocated for the tokens computed in this step.
    I budget      = in.max_num_batched_tokens;
    double tokens = 0, pairs = 0, kv_read = 0;
    keep.clear();
    std::vector<std::pair<I, I>> sched;  // (request, new tokens)
    sched.reserve(running.size() + 8);
    for (std::size_t i = 0; i < running.size() && budget > 0; ++i) {
      const I idx = running[i];
      Req& r      = reqs[static_cast<std::size_t>(idx)];
      // Tokens to compute: the rest of the prompt (and, after a preemption, of the outputs
      // so far), or the last sampled token when decoding.
      const I chunk = std::min(budget, r.prompt + r.generated - r.computed);
      // Allocate, preempting the latest admitted requests while blocks are short.
      bool ok = grow(r, r.computed + chunk);
      while (!ok && running.size() > i + 1) {
        preempt(running.back());
        running.pop_back();
        ok = grow(r, r.computed + chunk);
      }
      if (!ok) {  // even alone it cannot grow: preempt itself
        preempt(idx);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
      sched.emplace_back(idx, chunk);
      budget -= chunk;
    }
    // Admit waiting requests (FCFS) while the budget, max_num_seqs and blocks allow.
    while (budget > 0 && !waiting.empty() && static_cast<I>(running.size()) < in.max_num_seqs) {
      const I idx   = waiting.front();
      Req& r        = reqs[static_cast<std::size_t>(idx)];
      const I chunk = std::min(budget, r.prompt + r.generated - r.computed);
      if (!grow(r, r.computed + chunk)) break;
      waiting.pop_front();
      running.push_back(idx);
      sched.emplace_back(idx, chunk);
      budget -= chunk;
    }
    if (sched.empty()) {  // nothing fits (all blocks held by preempted work): wait for arrivals
      if (next_arrival < in.requests)
        now = std::max(now, reqs[static_cast<std::size_t>(next_arrival)].arrival);
      continue;
    }
    for (const auto& [idx, c] : sched) {
      const Req& r   = reqs[static_cast<std::size_t>(idx)];
      const double p = static_cast<double>(r.computed), cf = static_cast<double>(c);
      tokens += cf;
      pairs += cf * p + cf * (cf + 1) / 2;
      kv_read += p;
    }
    const double dt = cost.seconds(tokens, pairs, kv_read);
    now += dt;
    running_time += dt * static_cast<double>(running.size());
    ++rep.steps;
    for (const auto& [idx, c] : sched) {
      Req& r = reqs[static_cast<std::size_t>(idx)];
      r.computed += c;
      // A token is sampled when the whole prompt (and any recomputed output) is in the cache.
      if (r.computed == r.prompt + r.generated) {
        if (r.generated == 0) r.first_token = now;
        ++r.generated;
      }
    }
    keep.clear();
    for (I idx : running) {
      Req& r = reqs[static_cast<std::size_t>(idx)];
      if (r.generated >= r.gen)
        finish(r);
      else
        keep.push_back(idx);
    }
    running.swap(keep);
  }

  std::vector<double> ttft, tpot, e2e;
  ttft.reserve(reqs.size()), tpot.reserve(reqs.size()), e2e.reserve(reqs.size());
  double out_tokens = 0, all_tokens = 0, last = first_arrival;
  I good = 0;
  for (const Req& r : reqs) {
    const double a = r.first_token - r.arrival;
    const double b = r.gen > 1 ? (r.done - r.first_token) / static_cast<double>(r.gen - 1) : 0;
    ttft.push_back(a);
    if (r.gen > 1) tpot.push_back(b);
    e2e.push_back(r.done - r.arrival);
    out_tokens += static_cast<double>(r.gen);
    all_tokens += static_cast<double>(r.gen + r.prompt);
    last = std::max(last, r.done);
    if ((in.ttft_slo_seconds <= 0 || a <= in.ttft_slo_seconds) &&
        (in.tpot_slo_seconds <= 0 || b <= in.tpot_slo_seconds))
      ++good;
  }
  rep.completed                   = completed;
  rep.duration_seconds            = last - first_arrival;
  const double dur                = rep.duration_seconds > 0 ? rep.duration_seconds : 1e-30;
  rep.output_tokens_per_second    = out_tokens / dur;
  rep.total_tokens_per_second     = all_tokens / dur;
  rep.requests_per_second         = static_cast<double>(completed) / dur;
  rep.goodput_requests_per_second = static_cast<double>(good) / dur;
  rep.mean_running                = running_time / dur;
  rep.ttft_seconds                = percentiles(ttft);
  rep.tpot_seconds                = percentiles(tpot);
  rep.e2e_seconds                 = percentiles(e2e);
  return rep;
}

}  // namespace sizeup
