// Continuous-batching simulator. See include/sizeup/serve_sim.hpp for the scheduling rules and
// sources; docs/serving.md for how it was checked.
//
// Speed: decoding requests are kept implicitly (their lengths follow a global decode-step
// count), so a step costs O(1) plus its prefill chunks; a run of decode-only steps in which
// nobody can join is advanced to the next completion or arrival at once, with the closed-form
// sum of its step times.
#include "sizeup/serve_sim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <queue>
#include <tuple>

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

enum class State : std::uint8_t { pending, waiting, prefilling, decoding, done };

// One request. While decoding, its cache length and output count are implicit:
// len = len_join + (D - d_join), generated = gen_join + (D - d_join), D the global count of
// decode steps (every running decode advances in every step).
struct Req {
  double arrival = 0, first_token = -1, done = -1;
  I prompt = 0, gen = 0;
  // Tokens still to compute: prompt + generated - computed (a decode computes the token
  // sampled last); a token is sampled when that reaches 0.
  I computed  = 0;  // tokens whose KV is in the cache (prefilling)
  I generated = 0;  // output tokens sampled
  I blocks    = 0;  // KV blocks held
  I d_join = 0, len_join = 0, gen_join = 0;
  std::uint32_t version = 0;  // bumped on preemption: stale heap and stack entries are skipped
  State state           = State::pending;
};

Percentiles percentiles(std::vector<double>& v) {
  Percentiles p;
  if (v.empty()) return p;
  auto at = [&](double q) {
    const std::size_t k = std::min(
        v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
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
  if (in.max_num_seqs < 1 || in.max_num_batched_tokens < 1 || in.block_size < 1 ||
      in.kv_blocks < 0 || in.block_size > 1 << 20)
    throw InputError("invalid scheduler limit", "max_num_seqs", "limits must be positive");
  const I bs = in.block_size;
  // Every running decode is scheduled in every step (vLLM schedules running requests first).
  const I max_seqs = std::min(in.max_num_seqs, in.max_num_batched_tokens);
  const I longest =
      static_cast<I>(std::ceil(static_cast<double>(in.prompt + in.gen) * (1 + in.length_spread))) +
      1;
  if (in.kv_blocks > 0 && ceil_div(longest, bs) > in.kv_blocks)
    throw InputError("KV cache too small", "kv_blocks",
                     fmt::format("{} blocks of {} tokens cannot hold one request of up to {} "
                                 "tokens",
                                 in.kv_blocks, bs, longest));

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
  auto R = [&](I idx) -> Req& { return reqs[static_cast<std::size_t>(idx)]; };

  SimReport rep;
  std::deque<I> waiting;   // FCFS; preempted requests go back to the front
  std::vector<I> prefill;  // running requests still prefilling, in admission order
  std::vector<std::pair<I, std::uint32_t>> admitted;  // admission order (lazy: stale entries)
  // Decoding set, aggregated: count, cache tokens, count by (len - D) mod bs, finish heap.
  I n_dec = 0, D = 0;
  double ctx_dec = 0;
  std::vector<I> by_phase(static_cast<std::size_t>(bs), 0);
  using Fin = std::tuple<I, I, std::uint32_t>;  // (finish D, request, version)
  std::priority_queue<Fin, std::vector<Fin>, std::greater<Fin>> fin;
  const I kv_total = in.kv_blocks > 0 ? in.kv_blocks : std::numeric_limits<I>::max() / 4;
  I free_blocks = kv_total, next_arrival = 0, completed = 0, running = 0;
  double now = reqs.front().arrival, running_time = 0;
  const double first_arrival = now;

  auto phase = [&](I x) { return static_cast<std::size_t>(((x % bs) + bs) % bs); };
  // Decodes needing a new block in the step after D steps: those whose length is a multiple
  // of bs (the new token starts a block).
  auto dec_need = [&](I d) { return by_phase[phase(-d)]; };
  auto dec_len  = [&](const Req& r) { return r.len_join + (D - r.d_join); };
  auto finish   = [&](Req& r) {
    r.done  = now;
    r.state = State::done;
    free_blocks += r.blocks;
    r.blocks = 0;
    --running;
    ++completed;
  };
  auto leave_decode = [&](Req& r) {  // bring its implicit state up to date, drop aggregates
    const I len = dec_len(r);
    r.generated = r.gen_join + (D - r.d_join);
    r.computed  = len;
    r.blocks    = ceil_div(len, bs);
    --n_dec;
    ctx_dec -= static_cast<double>(len);
    --by_phase[phase(r.len_join - r.d_join)];
  };
  auto join_decode = [&](I idx) {
    Req& r     = R(idx);
    r.state    = State::decoding;
    r.d_join   = D;
    r.len_join = r.computed;
    r.gen_join = r.generated;
    ++n_dec;
    ctx_dec += static_cast<double>(r.computed);
    ++by_phase[phase(r.len_join - r.d_join)];
    fin.emplace(D + (r.gen - r.generated), idx, r.version);
  };
  // Preempts the most recently admitted running request (recomputation: its cache is dropped
  // and it returns to the front of the queue). False when nothing runs.
  auto preempt_last = [&]() {
    while (!admitted.empty()) {
      const auto [idx, ver] = admitted.back();
      admitted.pop_back();
      Req& r = R(idx);
      if (r.version != ver || (r.state != State::decoding && r.state != State::prefilling))
        continue;
      if (r.state == State::decoding)
        leave_decode(r);
      else
        prefill.erase(std::find(prefill.begin(), prefill.end(), idx));
      free_blocks += r.blocks;
      r.blocks   = 0;
      r.computed = 0;
      ++r.version;
      r.state = State::waiting;
      --running;
      ++rep.preemptions;
      waiting.push_front(idx);
      return true;
    }
    return false;
  };
  auto valid_top = [&]() -> const Fin* {  // drop stale finish entries
    while (!fin.empty()) {
      const auto& [d, idx, ver] = fin.top();
      if (R(idx).version == ver && R(idx).state == State::decoding) return &fin.top();
      fin.pop();
    }
    return nullptr;
  };
  auto grow = [&](Req& r, I tokens) {
    const I need = ceil_div(tokens, bs) - r.blocks;
    if (need <= 0) return true;
    if (need > free_blocks) return false;
    free_blocks -= need;
    r.blocks += need;
    return true;
  };

  std::vector<std::pair<I, I>> sched;  // prefill chunks this step: (request, tokens)
  while (completed < in.requests) {
    while (next_arrival < in.requests && R(next_arrival).arrival <= now) {
      R(next_arrival).state = State::waiting;
      waiting.push_back(next_arrival++);
    }
    if (running == 0 && waiting.empty()) {
      now = R(next_arrival).arrival;
      continue;
    }

    // Fast path: only decodes run and nobody can join before the next completion (or
    // arrival): advance j steps at once with the closed-form sum of their times.
    if (prefill.empty() && n_dec > 0) {
      const I budget_left = in.max_num_batched_tokens - n_dec;
      bool blocked        = running >= max_seqs || budget_left <= 0;
      if (!blocked && !waiting.empty()) {  // the head cannot get blocks for its first chunk
        const Req& h  = R(waiting.front());
        const I chunk = std::min(budget_left, h.prompt + h.generated - h.computed);
        blocked       = ceil_div(chunk, bs) > free_blocks - dec_need(D);
      }
      if (blocked || waiting.empty()) {
        const Fin* top = valid_top();
        I k            = std::get<0>(*top) - D;  // steps to the next completion
        // Steps whose block needs the pool covers.
        I j_blocks = 0, left = free_blocks;
        const I cycle = n_dec;  // one new block per sequence per bs steps
        if (cycle > 0 && left / cycle > 1) {
          // Whole cycles the pool covers, no more than the k steps looked at (an unbounded
          // pool would overflow cycles x bs).
          const I cycles = std::min(left / cycle - 1, k / bs + 1);
          j_blocks       = cycles * bs;
          left -= cycles * cycle;
        }
        while (j_blocks < k && dec_need(D + j_blocks) <= left) left -= dec_need(D + j_blocks++);
        k = std::min(k, j_blocks);
        if (k >= 1) {
          const double nf = static_cast<double>(n_dec);
          I j             = k;
          if (waiting.empty() && !blocked && next_arrival < in.requests) {
            // Stop at the step during which the next request arrives.
            const double gap = R(next_arrival).arrival - now;
            if (cost.decode_run_seconds(nf, ctx_dec, static_cast<double>(k)) > gap) {
              I lo = 0, hi = k;  // run(lo) <= gap < run(hi)
              while (hi - lo > 1) {
                const I mid = lo + (hi - lo) / 2;
                (cost.decode_run_seconds(nf, ctx_dec, static_cast<double>(mid)) > gap ? hi : lo) =
                    mid;
              }
              j = hi;
            }
          }
          const double dt = cost.decode_run_seconds(nf, ctx_dec, static_cast<double>(j));
          free_blocks -= (j / bs) * n_dec;  // a window of bs steps: one block each
          for (I i = j - j % bs; i < j; ++i) free_blocks -= dec_need(D + i);
          // Block ownership per request is settled when it leaves (blocks = ceil(len / bs)).
          now += dt;
          running_time += dt * nf;
          ctx_dec += nf * static_cast<double>(j);
          D += j;
          rep.steps += j;
          while (const Fin* t = valid_top()) {
            if (std::get<0>(*t) > D) break;
            Req& r = R(std::get<1>(*t));
            fin.pop();
            leave_decode(r);
            finish(r);
          }
          continue;
        }
      }
    }

    // General step. Decodes first: each needs a block when its length is a multiple of bs;
    // preempt the latest admitted requests while the pool cannot give them.
    while (n_dec > 0 && dec_need(D) > free_blocks && preempt_last()) {
    }
    I budget = in.max_num_batched_tokens - n_dec;
    free_blocks -= n_dec > 0 ? dec_need(D) : 0;
    sched.clear();
    // Running prefills (chunked), in admission order.
    for (std::size_t i = 0; i < prefill.size() && budget > 0;) {
      const I idx   = prefill[i];
      Req& r        = R(idx);
      const I chunk = std::min(budget, r.prompt + r.generated - r.computed);
      bool ok       = grow(r, r.computed + chunk);
      while (!ok) {
        // Preempt from the back; stop if that was this request.
        const std::uint32_t ver = r.version;
        if (!preempt_last() || r.version != ver) break;
        ok = grow(r, r.computed + chunk);
      }
      if (!ok) break;
      sched.emplace_back(idx, chunk);
      budget -= chunk;
      // Preemption may have removed entries before this one: find it again.
      i = static_cast<std::size_t>(std::find(prefill.begin(), prefill.end(), idx) -
                                   prefill.begin()) +
          1;
    }
    // New requests, FCFS, while the token budget, max_num_seqs and the pool allow.
    while (budget > 0 && !waiting.empty() && running < max_seqs) {
      const I idx   = waiting.front();
      Req& r        = R(idx);
      const I chunk = std::min(budget, r.prompt + r.generated - r.computed);
      if (!grow(r, r.computed + chunk)) break;
      waiting.pop_front();
      r.state = State::prefilling;
      prefill.push_back(idx);
      admitted.emplace_back(idx, r.version);
      ++running;
      sched.emplace_back(idx, chunk);
      budget -= chunk;
    }
    if (sched.empty() && n_dec == 0) {         // nothing can run: wait for the next arrival
      if (next_arrival >= in.requests) break;  // cannot happen: one request always fits
      now = std::max(now, R(next_arrival).arrival);
      continue;
    }
    const double nd = static_cast<double>(n_dec);
    double tokens = nd, pairs = ctx_dec + nd, kv_read = ctx_dec;
    for (const auto& [idx, c] : sched) {
      const double p = static_cast<double>(R(idx).computed), cf = static_cast<double>(c);
      tokens += cf;
      pairs += cf * p + cf * (cf + 1) / 2;
      kv_read += p;
    }
    const double dt = cost.seconds(tokens, pairs, kv_read);
    now += dt;
    running_time += dt * static_cast<double>(running);
    ++rep.steps;
    ctx_dec += nd;
    ++D;
    while (const Fin* t = valid_top()) {
      if (std::get<0>(*t) > D) break;
      Req& r = R(std::get<1>(*t));
      fin.pop();
      leave_decode(r);
      finish(r);
    }
    for (const auto& [idx, c] : sched) {
      Req& r = R(idx);
      r.computed += c;
      if (r.computed < r.prompt + r.generated) continue;
      // The whole prompt (and any recomputed output) is cached: a token is sampled.
      if (r.generated == 0) r.first_token = now;
      ++r.generated;
      prefill.erase(std::find(prefill.begin(), prefill.end(), idx));
      if (r.generated >= r.gen)
        finish(r);
      else
        join_decode(idx);
    }
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
