#include "sizeup/plan.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "sizeup/activations.hpp"
#include "sizeup/allocator.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;
using U = std::uint64_t;

std::vector<I> divisors(I n) {
  std::vector<I> d;
  for (I i = 1; i * i <= n; ++i)
    if (n % i == 0) {
      d.push_back(i);
      if (i != n / i) d.push_back(n / i);
    }
  std::sort(d.begin(), d.end());
  return d;
}

enum Reason {
  kOom,
  kBatch,
  kInterleaveBatches,
  kPipelineLayers,
  kExpert,
  kHybrid,
};

void apply_shard(ParallelPlan& p, ShardMode s) {
  p.zero = 0;
  p.fsdp = FsdpMode::none;
  switch (s) {
    case ShardMode::zero0:
      break;
    case ShardMode::zero1:
      p.zero = 1;
      break;
    case ShardMode::zero2:
      p.zero = 2;
      break;
    case ShardMode::zero3:
      p.zero = 3;
      break;
    case ShardMode::fsdp_hybrid:
      p.fsdp = FsdpMode::hybrid;
      break;
  }
}

// Candidate order: faster first; then less memory; then the smaller layout (deterministic).
auto key(const PlanCandidate& c) {
  return std::make_tuple(c.step_seconds, c.memory_bytes, c.plan.tp, c.plan.pp, c.plan.cp, c.plan.ep,
                         c.plan.interleave, c.micro_batch, static_cast<int>(c.recompute),
                         static_cast<int>(c.shard), c.plan.sequence_parallel,
                         static_cast<int>(c.plan.offload));
}
bool better(const PlanCandidate& a, const PlanCandidate& b) { return key(a) < key(b); }

// Keeps the best K in a fixed-capacity sorted array (no allocation after construction).
struct TopK {
  std::vector<PlanCandidate> v;
  std::size_t k;
  explicit TopK(std::size_t k_) : k(k_) { v.reserve(k_ + 1); }
  bool wants(double step) const { return v.size() < k || step <= v.back().step_seconds; }
  void push(const PlanCandidate& c) {
    if (v.size() == k && !better(c, v.back())) return;
    auto it = std::upper_bound(v.begin(), v.end(), c, better);
    if (v.size() == k) v.pop_back();
    v.insert(it, c);
  }
};

struct Activations {  // activation_memory() of one (b, t, sp, c, recompute)
  U layer = 0, moe_layer = 0, embedding = 0, head = 0, recompute_peak = 0, loss_peak = 0,
    largest = 0;
};

}  // namespace

const char* to_string(ShardMode s) {
  switch (s) {
    case ShardMode::zero0:
      return "zero0";
    case ShardMode::zero1:
      return "zero1";
    case ShardMode::zero2:
      return "zero2";
    case ShardMode::zero3:
      return "zero3";
    case ShardMode::fsdp_hybrid:
      return "fsdp_hybrid";
  }
  return "?";
}

TrainInput train_input_of(const PlanInput& in, const PlanCandidate& c) {
  TrainInput t           = in.base;
  t.plan                 = c.plan;
  t.workload.micro_batch = c.micro_batch;
  t.activation.recompute = c.recompute;
  t.gpus                 = in.gpus;
  return t;
}

PlanReport plan_search(const ModelSpec& m, const PlanInput& in, const DeviceModel& device) {
  const auto t0 = std::chrono::steady_clock::now();
  const I N     = in.gpus;
  if (N < 1 || N > 10000000)
    throw InputError("invalid GPU count", "gpus", "must be between 1 and 10^7");
  if (in.top < 1 || in.top > 1000) throw InputError("invalid top", "top", "must be 1..1000");
  const I B = in.base.workload.global_batch;
  if (B < 1) throw InputError("missing global batch", "global_batch", "the planner needs it");
  const I T = in.base.workload.seq_len;
  const I L = m.n_layer + (m.encoder_decoder ? m.n_layer_dec : 0);
  check_sequence_length(m, T, "seq_len");

  // Layout-independent tables.
  const StepContext ctx   = step_context(m, in.base, device);
  const ByteCount context = cuda_context(in.base.context_loading).bytes;
  const ByteCount limit =
      in.base.gpu_memory_bytes > 0
          ? static_cast<ByteCount>(static_cast<double>(in.base.gpu_memory_bytes) *
                                   (1.0 - in.base.headroom))
          : ~ByteCount{0};

  // Shapes (t, c, p): the outer work items.
  struct Shape {
    I tp, cp, pp;
  };
  std::vector<Shape> shapes;
  PlanReport rep;
  const auto n_rc    = static_cast<I>(in.recompute.size());
  const auto n_shard = static_cast<I>(in.shard.size());
  const auto n_off   = static_cast<I>(in.offload.size());
  for (I tp : divisors(N)) {
    if (!in.tp.allows(tp)) continue;
    if (m.n_head % tp || m.n_head_kv % tp || (m.n_ff > 0 && m.n_ff % tp) ||
        (m.is_moe() && m.n_ff_expert % tp))
      continue;  // does not divide the model: not a layout
    for (I cp : divisors(N / tp)) {
      if (!in.cp.allows(cp) || T % cp) continue;
      for (I pp : divisors(N / (tp * cp))) {
        if (!in.pp.allows(pp) || pp > L) continue;
        if (!in.dp.allows(N / (tp * cp * pp))) continue;
        shapes.push_back({tp, cp, pp});
      }
    }
  }

  std::atomic<std::size_t> next{0};
  std::mutex mu;
  const int threads = in.threads > 0
                          ? in.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  rep.threads       = threads;
  TopK best(static_cast<std::size_t>(in.top));
  std::exception_ptr failure;

  auto worker = [&]() {
    TopK local(static_cast<std::size_t>(in.top));
    std::array<std::int64_t, kRejectReasons.size()> rejected{};
    std::int64_t evaluated = 0, feasible = 0;
    std::map<std::tuple<I, I, bool, I, int>, Activations> act_cache;
    std::vector<I> stage_buf(static_cast<std::size_t>(L) + 1);
    try {
      for (;;) {
        const std::size_t i = next.fetch_add(1);
        if (i >= shapes.size()) break;
        const auto [tp, cp, pp] = shapes[i];
        const I dp              = N / (tp * cp * pp);
        // Expert-parallel sizes.
        std::vector<I> eps;
        if (m.is_moe()) {
          for (I e : divisors(dp))
            if (in.ep.allows(e)) eps.push_back(e);
        } else {
          eps.push_back(1);
        }
        std::vector<I> vs{1};
        if (pp > 1 && L % pp == 0)
          for (I v : divisors(L / pp))
            if (v > 1 && in.v.allows(v)) vs.push_back(v);
        std::vector<bool> sps;
        for (bool sp : in.sequence_parallel)
          if (!sp || (tp > 1 && T % (tp * cp) == 0)) sps.push_back(sp);
        std::vector<I> micros;
        if (B % dp == 0)
          for (I b : divisors(B / dp))
            if (in.micro.allows(b)) micros.push_back(b);
        const I inner_per_micro = static_cast<I>(vs.size()) * static_cast<I>(eps.size()) *
                                  static_cast<I>(sps.size()) * n_rc * n_shard * n_off;
        if (B % dp != 0) {
          const I n = inner_per_micro;  // at least one micro-batch size would have been tried
          evaluated += n;
          rejected[kBatch] += n;
          continue;
        }
        if (L % pp != 0) {
          const I n = static_cast<I>(micros.size()) * inner_per_micro;
          evaluated += n;
          rejected[kPipelineLayers] += n;
          continue;
        }
        // Dense and MoE layers on the first and the last stage (as memory_train counts them).
        const I per_stage = L / pp;
        I dense_first = 0, moe_first = 0, dense_last = 0, moe_last = 0;
        for (I l = 0; l < per_stage; ++l) {
          if (l >= m.n_layer)
            ++dense_first;
          else
            (m.is_moe_layer(l) ? moe_first : dense_first)++;
          const I j = L - per_stage + l;
          if (j >= m.n_layer)
            ++dense_last;
          else
            (m.is_moe_layer(j) ? moe_last : dense_last)++;
        }
        for (I e : eps) {
          const bool ep_ok = !m.is_moe() || (m.n_expert % e == 0 && dp % e == 0);
          // Static memory (weights, gradients, states, buffers) of each shard mode x offload,
          // first and last stage: train_memory() with no activations.
          struct Static {
            bool ok    = false;
            int reason = -1;
            // allocated and transient bytes without activations, first and last stage
            ByteCount first = 0, last = 0, first_transient = 0, last_transient = 0;
          };
          std::vector<Static> statics(static_cast<std::size_t>(n_shard * n_off));
          for (I si = 0; si < n_shard; ++si)
            for (I oi = 0; oi < n_off; ++oi) {
              Static& st = statics[static_cast<std::size_t>(si * n_off + oi)];
              if (!ep_ok) {
                st.reason = kExpert;
                continue;
              }
              const ShardMode sm = in.shard[static_cast<std::size_t>(si)];
              if (sm == ShardMode::fsdp_hybrid) {
                const I group =
                    std::clamp<I>(in.base.gpus_per_node / std::max<I>(1, tp * cp), 1, dp);
                if (dp % group != 0 || group >= dp) {
                  st.reason = kHybrid;
                  continue;
                }
              }
              TrainInput ti = in.base;
              ti.plan       = ParallelPlan{};
              ti.plan.dp    = dp;
              ti.plan.tp    = tp;
              ti.plan.pp    = pp;
              ti.plan.cp    = cp;
              ti.plan.ep    = e;
              ti.plan.offload =
                  in.offload[static_cast<std::size_t>(oi)] ? Offload::optimizer : Offload::none;
              ti.workload.micro_batch  = 1;
              ti.workload.global_batch = dp;
              ti.gpus                  = 0;
              ti.gpu_memory_bytes      = 0;
              apply_shard(ti.plan, sm);
              const TrainMemoryReport r = train_memory(m, ti, ActivationReport{});
              st.ok                     = true;
              st.first                  = r.first_stage_allocated_bytes;
              st.last                   = r.last_stage_allocated_bytes;
              st.first_transient        = r.first_stage_transient_bytes;
              st.last_transient         = r.last_stage_transient_bytes;
            }
          for (I b : micros) {
            const I mb_count = B / (dp * b);
            for (bool sp : sps)
              for (I ri = 0; ri < n_rc; ++ri) {
                const Recompute rc = in.recompute[static_cast<std::size_t>(ri)];
                // Activations of one micro-batch (cached per (b, t, sp, c, recompute)).
                auto ak = std::make_tuple(b, tp, sp, cp, static_cast<int>(rc));
                auto it = act_cache.find(ak);
                if (it == act_cache.end()) {
                  TrainInput ti             = in.base;
                  ti.workload.micro_batch   = b;
                  ti.plan                   = ParallelPlan{};
                  ti.plan.tp                = tp;
                  ti.plan.cp                = cp;
                  ti.plan.sequence_parallel = sp;
                  ti.activation.recompute   = rc;
                  const ActivationReport a  = activation_memory(m, activation_input(ti));
                  it                        = act_cache
                           .emplace(ak,
                                    Activations{a.layer_bytes, a.moe_layer_bytes, a.embedding_bytes,
                                                a.head_bytes, a.recompute_peak_bytes,
                                                a.loss_peak_bytes, a.largest_tensor_bytes})
                           .first;
                }
                const Activations& A = it->second;
                Layout lay;
                lay.dp = dp, lay.tp = tp, lay.pp = pp, lay.cp = cp, lay.ep = e;
                lay.sp = sp, lay.micro = b, lay.micro_batches = mb_count, lay.recompute = rc;
                lay.tp_overlap      = in.step.tp_overlap;
                const MicroCosts mc = micro_costs(ctx, lay);
                const U layer_first =
                    static_cast<U>(dense_first) * A.layer + static_cast<U>(moe_first) * A.moe_layer;
                const U layer_last =
                    static_cast<U>(dense_last) * A.layer + static_cast<U>(moe_last) * A.moe_layer;
                for (I v : vs) {
                  if (v > 1 && mb_count % pp != 0) {
                    const I n = n_shard * n_off;
                    evaluated += n;
                    rejected[kInterleaveBatches] += n;
                    continue;
                  }
                  // In-flight micro-batches on the first stage (memory_train.cpp).
                  double flight = 1.0;
                  if (pp > 1)
                    flight = v > 1
                                 ? static_cast<double>(pp) * (1.0 + static_cast<double>(pp - 1) /
                                                                        static_cast<double>(pp * v))
                                 : static_cast<double>(std::min<I>(pp, mb_count));
                  // The transient rows of memory_train.cpp's build_stage: activations of the
                  // in-flight micro-batches, the head's tensors and the backward peak on the
                  // last stage.
                  const U act_first =
                      static_cast<U>(
                          std::ceil(static_cast<double>(layer_first + A.embedding) * flight)) +
                      (pp == 1 ? A.head + std::max(A.loss_peak, A.recompute_peak)
                               : A.recompute_peak);
                  const U act_last = layer_last + A.head + std::max(A.loss_peak, A.recompute_peak);
                  // Device bytes of a stage: allocated + fragmentation + context (allocator.hpp),
                  // or allocated + a flat overhead given by the user.
                  auto device_bytes = [&](U allocated, U transient) {
                    if (in.base.overhead_bytes) return allocated + *in.base.overhead_bytes;
                    return allocated + fragmentation_bytes(transient, A.largest) + context;
                  };
                  lay.v = v;
                  for (I si = 0; si < n_shard; ++si)
                    for (I oi = 0; oi < n_off; ++oi) {
                      ++evaluated;
                      const Static& st = statics[static_cast<std::size_t>(si * n_off + oi)];
                      if (!st.ok) {
                        ++rejected[st.reason];
                        continue;
                      }
                      const U mem_first =
                          device_bytes(st.first + act_first, st.first_transient + act_first);
                      const U mem_last =
                          pp > 1 ? device_bytes(st.last + act_last, st.last_transient + act_last)
                                 : mem_first;
                      const U mem = std::max(mem_first, mem_last);
                      if (mem > limit) {
                        ++rejected[kOom];
                        continue;
                      }
                      ++feasible;
                      const ShardMode sm     = in.shard[static_cast<std::size_t>(si)];
                      lay.zero               = sm == ShardMode::zero1   ? 1
                                               : sm == ShardMode::zero2 ? 2
                                               : sm == ShardMode::zero0 ? 0
                                                                        : 3;
                      lay.shard              = sm == ShardMode::fsdp_hybrid
                                                   ? std::clamp<I>(
                                            in.base.gpus_per_node / std::max<I>(1, tp * cp), 1, dp)
                                                   : dp;
                      lay.offload            = in.offload[static_cast<std::size_t>(oi)];
                      const StepBreakdown br = compose_step(ctx, lay, mc, nullptr, in.step);
                      if (!local.wants(br.step_seconds)) continue;
                      PlanCandidate c;
                      c.plan.dp = dp, c.plan.tp = tp, c.plan.pp = pp, c.plan.cp = cp, c.plan.ep = e;
                      c.plan.sequence_parallel = sp;
                      c.plan.interleave        = v;
                      c.plan.schedule = v > 1 ? Schedule::interleaved : Schedule::one_f_one_b;
                      c.plan.offload  = lay.offload ? Offload::optimizer : Offload::none;
                      apply_shard(c.plan, sm);
                      c.micro_batch       = b;
                      c.micro_batches     = mb_count;
                      c.recompute         = rc;
                      c.shard             = sm;
                      c.step_seconds      = br.step_seconds;
                      c.tokens_per_second = static_cast<double>(B * T) / br.step_seconds;
                      c.mfu               = ctx.model_flops_per_token * static_cast<double>(B * T) /
                              (br.step_seconds * static_cast<double>(N) * device.peak_flops_per_s);
                      c.memory_bytes = mem;
                      c.breakdown    = br;
                      local.push(c);
                    }
                }
              }
          }
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> g(mu);
      if (!failure) failure = std::current_exception();
    }
    std::lock_guard<std::mutex> g(mu);
    rep.evaluated += evaluated;
    rep.feasible += feasible;
    for (std::size_t r = 0; r < rejected.size(); ++r) rep.rejected[r] += rejected[r];
    for (const auto& c : local.v) best.push(c);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  rep.plans   = best.v;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

DaysAnswer fewest_gpus_within(const ModelSpec& m, PlanInput in, const DeviceModel& device,
                              double tokens, double days, std::int64_t max_gpus) {
  if (!(tokens > 0) || !std::isfinite(tokens))
    throw InputError("invalid token count", "tokens", "must be a positive number");
  if (!(days > 0) || !std::isfinite(days))
    throw InputError("invalid duration", "days", "must be a positive number of days");
  DaysAnswer a;
  const I node = std::max<I>(1, in.base.gpus_per_node);
  auto days_at = [&](I n, PlanReport& r) {
    in.gpus = n;
    r       = plan_search(m, in, device);
    ++a.searches;
    if (r.plans.empty()) return std::numeric_limits<double>::infinity();
    return tokens / r.plans.front().tokens_per_second / 86400.0;
  };
  I lo = 0, hi = 0;  // lo: last count too slow (0: none), hi: first count fast enough
  PlanReport r_hi;
  for (I n = node; n <= max_gpus; n *= 2) {
    PlanReport r;
    if (days_at(n, r) <= days) {
      hi   = n;
      r_hi = std::move(r);
      break;
    }
    lo = n;
  }
  if (hi == 0) return a;
  // Bisection over whole nodes in (lo, hi].
  I l = lo / node, h = hi / node;
  while (h - l > 1) {
    const I mid = (l + h) / 2;
    PlanReport r;
    if (days_at(mid * node, r) <= days) {
      h    = mid;
      r_hi = std::move(r);
    } else {
      l = mid;
    }
  }
  a.found  = true;
  a.gpus   = h * node;
  a.report = std::move(r_hi);
  a.days   = tokens / a.report.plans.front().tokens_per_second / 86400.0;
  return a;
}

std::vector<SweepPoint> sweep_plans(const ModelSpec& m, const PlanInput& in,
                                    const DeviceModel& device, const std::string& dimension,
                                    const std::vector<std::int64_t>& values) {
  if (dimension != "global_batch" && dimension != "seq_len")
    throw InputError("invalid sweep", "sweep", "sweeps global_batch or seq_len");
  std::vector<SweepPoint> out;
  for (I v : values) {
    if (v < 1) throw InputError("invalid sweep", "sweep", "values must be positive");
    PlanInput p = in;
    if (dimension == "global_batch")
      p.base.workload.global_batch = v;
    else
      p.base.workload.seq_len = v;
    out.push_back({v, plan_search(m, p, device)});
  }
  return out;
}

}  // namespace sizeup
