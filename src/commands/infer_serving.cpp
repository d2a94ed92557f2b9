// sizeup infer: serving latency/throughput (--prompt/--gen), the engine's KV pool (--engine)
// and the load simulation (--rate). The math is in the library (serving.hpp, kv_capacity.hpp,
// serve_sim.hpp); this file reads the options and writes the report.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/kv_capacity.hpp"
#include "sizeup/serve_sim.hpp"
#include "sizeup/serving.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

using I = std::int64_t;

const char* const kServingOptions[] = {"prompt",
                                       "gen",
                                       "engine",
                                       "rate",
                                       "requests",
                                       "length_spread",
                                       "seed",
                                       "max_num_seqs",
                                       "max_num_batched_tokens",
                                       "block_size",
                                       "mem_fraction_static",
                                       "kv_free_fraction",
                                       "pp",
                                       "ep",
                                       "ttft_ms",
                                       "tpot_ms"};

I count_opt(const Options& o, const char* name, I dflt, I lo = 1) {
  const auto v = count_option(o, name);
  if (!v) return dflt;
  if (*v < lo) throw InputError("invalid value", name, fmt::format("must be at least {}", lo));
  return *v;
}

double fraction_opt(const Options& o, const char* name, double dflt) {
  const auto v = number_option(o, name);
  if (!v) return dflt;
  if (!(*v > 0 && *v <= 1)) throw InputError("invalid fraction", name, "must be in (0, 1]");
  return *v;
}

nlohmann::json step_json(const StepTime& s) {
  nlohmann::json ops = nlohmann::json::array();
  for (const auto& o : s.ops)
    ops.push_back({{"key", o.key},
                   {"flops", o.flops},
                   {"weight_bytes", o.weight_bytes},
                   {"kv_read_bytes", o.kv_read_bytes},
                   {"kv_write_bytes", o.kv_write_bytes},
                   {"activation_bytes", o.activation_bytes},
                   {"comm_bytes", o.comm_bytes},
                   {"seconds", o.seconds},
                   {"bound", o.bound}});
  return {{"seconds", s.seconds},
          {"compute_seconds", s.compute_seconds},
          {"memory_seconds", s.memory_seconds},
          {"comm_seconds", s.comm_seconds},
          {"flops", s.flops},
          {"bytes", s.bytes},
          {"ops", ops}};
}

// One operator per row (text only: the JSON holds them under serving.prefill/decode).
void step_rows(ReportSection& sec, const StepTime& s) {
  for (const auto& o : s.ops)
    sec.rows.push_back(make_row("", o.label, o.seconds, Unit::seconds, o.derivation, {o.bound},
                                fmt::format("{:.4g} ms", o.seconds * 1e3)));
}

nlohmann::json pct_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}};
}

OptionSpec opt(const char* name, OptionKind kind, const char* help,
               std::vector<std::string> choices = {}) {
  return OptionSpec{name, kind, help, "Serving", std::move(choices), "", false};
}

}  // namespace

std::vector<OptionSpec> infer_serving_options() {
  using K = OptionKind;
  return {
      opt("prompt", K::count, "serving: prompt tokens per request"),
      opt("gen", K::count, "serving: output tokens per request"),
      opt("engine", K::text, "KV pool as an engine sizes it (default vllm with --rate)",
          {"vllm", "sglang", "trtllm"}),
      opt("rate", K::number, "load: Poisson arrivals, requests/s per replica"),
      opt("requests", K::count, "load: requests simulated (default 5000)"),
      opt("length_spread", K::number, "load: lengths uniform in [(1-s)x, (1+s)x] (default 0)"),
      opt("seed", K::count, "load: random seed (default 1)"),
      opt("max_num_seqs", K::count, "engine: running sequences limit"),
      opt("max_num_batched_tokens", K::count, "engine: tokens per step limit"),
      opt("block_size", K::count, "engine: tokens per KV block"),
      opt("mem_fraction_static", K::number, "sglang: mem_fraction_static (default by tp)"),
      opt("kv_free_fraction", K::number, "trtllm: kv_cache_free_gpu_mem_fraction (default 0.9)"),
      opt("pp", K::count, "serving: pipeline stages per replica (default 1)"),
      opt("ep", K::count, "serving: expert-parallel ranks (default 1)"),
      opt("ttft_ms", K::number, "load: time-to-first-token target for goodput"),
      opt("tpot_ms", K::number, "load: time-per-output-token target for goodput"),
  };
}

void add_infer_serving(const Options& o, const ModelSpec& m, const InferenceInput& in, I gpus,
                       std::optional<double> utilization, Report& rep,
                       std::vector<std::string>& notes) {
  auto& j      = rep.data;
  j["serving"] = nullptr;
  j["engine"]  = nullptr;
  j["load"]    = nullptr;
  bool any     = false;
  for (const char* name : kServingOptions) any = any || has_option(o, name);
  if (!any) return;
  if (!has_option(o, "gpu"))
    throw InputError("missing accelerator", "gpu",
                     "serving predictions (prompt, gen, engine, rate) need a GPU");
  const GpuSpec g = resolve_gpu(o);

  ServingLayout layout;
  layout.tp = in.tp;
  layout.pp = count_opt(o, "pp", 1);
  layout.ep = count_opt(o, "ep", 1);
  if (gpus % layout.gpus() != 0)
    throw InputError(
        "invalid GPU count", "gpus",
        fmt::format("{} GPUs are not a multiple of tp x pp = {}", gpus, layout.gpus()));
  // Named variables, not a structured binding: clang 14 cannot capture one in a lambda.
  const auto matmul            = matmul_peak(g, in.weights);
  const std::string peak_dtype = matmul.first;
  const double peak            = matmul.second;
  if (!(peak > 0))
    throw InputError("incomplete accelerator", "gpu", g.name + " has no peak FLOP/s");
  // The performance model needs link figures a custom GPU may lack: name the option.
  const DeviceModel hw = [&] {
    try {
      return device_model(g, peak_dtype);
    } catch (const InputError& e) {
      const std::string& f  = e.field();
      const std::string opt = f == "memory_bandwidth_bytes_per_s"       ? "bandwidth"
                              : f == "intra_node_bandwidth_bytes_per_s" ? "intra_node_bandwidth"
                              : f == "inter_node_bandwidth_bytes_per_s" ? "inter_node_bandwidth"
                                                                        : "gpu";
      throw InputError(e.subject(), opt, e.reason());
    }
  }();
  const ServingEfficiency eff;
  const I prompt = count_opt(o, "prompt", std::min<I>(in.context, 512));
  const I gen    = count_opt(o, "gen", 128);
  if (prompt > 100000000 || gen > 100000000)
    throw InputError("invalid request shape", prompt > gen ? "prompt" : "gen",
                     "at most 1e8 tokens");
  if (m.n_ctx > 0 && prompt + gen > m.n_ctx)
    notes.push_back(
        fmt::format("prompt + gen = {} exceeds the model's {} positions", prompt + gen, m.n_ctx));

  // Static batch: latency and throughput.
  const ServingReport s = serve_static(m, in, layout, hw, eff, in.batch, prompt, gen);
  j["serving"]          = {
               {"batch", in.batch},
               {"prompt", prompt},
               {"gen", gen},
               {"tp", layout.tp},
               {"pp", layout.pp},
               {"ep", layout.ep},
               {"peak_dtype", peak_dtype},
               {"ttft_seconds", s.ttft_seconds},
               {"tpot_seconds", s.tpot_seconds},
               {"e2e_seconds", s.e2e_seconds},
               {"output_tokens_per_second", s.output_tokens_per_second},
               {"output_tokens_per_second_per_gpu", s.output_tokens_per_second_per_gpu},
               {"total_tokens_per_second_per_gpu", s.total_tokens_per_second_per_gpu},
               {"compute_bound_batch",
       s.compute_bound_batch > 0 ? nlohmann::json(s.compute_bound_batch) : nlohmann::json()},
               {"efficiency",
                {{"gemm_peak_fraction", hw.k.gemm_peak_fraction},
                 {"memory_bw_fraction", hw.k.memory_bw_fraction},
                 {"streaming_bw_fraction", kStreamingBwFraction},
                 {"link_fraction", hw.k.link_fraction},
                 {"attention_peak_fraction", hw.k.attention_peak_fraction},
                 {"step_overhead_seconds", eff.step_overhead_seconds}}},
               {"prefill", step_json(s.prefill)},
               {"decode", step_json(s.decode_first)},
               {"derivations", derivations_json(s.rows)},
  };
  notes.insert(notes.end(), s.notes.begin(), s.notes.end());
  auto& sv = rep.section(fmt::format(
      "Serving {} requests of {} prompt + {} output tokens (static batch, {} GPU(s) per replica, "
      "{} peak)",
      in.batch, prompt, gen, layout.gpus(), peak_dtype));
  for (const auto& row : s.rows.rows) {
    const bool rate = row.key.find("per_second") != std::string::npos;
    sv.rows.push_back(make_row(
        "", row.label, row.value, rate ? Unit::tokens_per_s : Unit::seconds, row.derivation, {},
        rate ? fmt::format("{:.0f}", row.value) : fmt::format("{:.4g} ms", row.value * 1e3)));
  }
  sv.rows.push_back(
      make_row("", "decode turns compute-bound at batch",
               s.compute_bound_batch > 0 ? nlohmann::json(s.compute_bound_batch) : nlohmann::json(),
               Unit::none, {}, {},
               s.compute_bound_batch > 0
                   ? std::to_string(s.compute_bound_batch)
                   : "never (each sequence's KV reads outweigh its FLOPs at this context)"));
  step_rows(rep.section("Prefill step by operator"), s.prefill);
  step_rows(rep.section("Decode step by operator (first)"), s.decode_first);

  // Engine KV capacity.
  EngineSettings es;
  const auto engine = text_option(o, "engine");
  es.engine         = engine ? parse_serving_engine(*engine, "engine") : ServingEngine::vllm;
  es.gpu_name       = g.name;
  es.gpu_memory_utilization = utilization.value_or(0.9);
  es.mem_fraction_static    = fraction_opt(o, "mem_fraction_static", 0);
  es.kv_free_fraction       = fraction_opt(o, "kv_free_fraction", 0.9);
  es.block_size             = count_opt(o, "block_size", 0);
  es.max_num_seqs           = count_opt(o, "max_num_seqs", 0);
  es.max_num_batched_tokens = count_opt(o, "max_num_batched_tokens", 0);
  es.max_model_len          = in.context;
  es.pp                     = layout.pp;
  std::optional<EngineKvReport> kv;
  if (engine || has_option(o, "rate")) {
    if (g.memory_bytes == 0)
      throw InputError("incomplete custom accelerator", "gpu_memory",
                       "engine KV capacity needs the memory per GPU");
    kv          = engine_kv_capacity(m, in, static_cast<double>(g.memory_bytes), es);
    j["engine"] = {{"name", to_string(kv->engine)},
                   {"kv_cache_tokens", kv->kv_cache_tokens},
                   {"max_concurrency", kv->max_concurrency},
                   {"max_model_len", kv->max_model_len},
                   {"kv_cache_bytes", kv->kv_cache_bytes},
                   {"kv_bytes_per_token", kv->kv_bytes_per_token},
                   {"num_blocks", kv->num_blocks},
                   {"block_size", kv->block_size},
                   {"visible_bytes", kv->visible_bytes},
                   {"weights_bytes", kv->weights_bytes},
                   {"activation_bytes", kv->activation_bytes},
                   {"non_torch_bytes", kv->non_torch_bytes},
                   {"max_num_seqs", kv->max_num_seqs},
                   {"max_num_batched_tokens", kv->max_num_batched_tokens},
                   {"derivations", derivations_json(kv->rows)}};
    notes.insert(notes.end(), kv->notes.begin(), kv->notes.end());
    auto& ks = rep.section(std::string("KV capacity as ") + to_string(kv->engine) +
                           " sizes it at start-up");
    for (const auto& row : kv->rows.rows) {
      const bool bytes = row.key.find("bytes") != std::string::npos;
      ks.rows.push_back(make_row(
          "", row.label, row.value, bytes ? Unit::bytes : Unit::none, row.derivation, {},
          bytes                          ? fmt::format("{:.2f} GiB", row.value / kBytesPerGiB)
          : row.key == "max_concurrency" ? fmt::format("{:.2f}x", row.value)
                                         : with_commas(static_cast<std::uint64_t>(row.value))));
    }
  }

  // Load: continuous batching at a request rate.
  if (const auto rate = number_option(o, "rate")) {
    SimInput si;
    si.rate_per_s = *rate;
    if (!(si.rate_per_s > 0) || si.rate_per_s > 1e9)
      throw InputError("invalid rate", "rate", "must be in (0, 1e9] requests/s");
    si.requests = count_opt(o, "requests", 5000);
    if (si.requests > 1000000) throw InputError("invalid request count", "requests", "at most 1e6");
    si.prompt        = prompt;
    si.gen           = gen;
    si.length_spread = number_option(o, "length_spread").value_or(0);
    if (!(si.length_spread >= 0 && si.length_spread < 1))
      throw InputError("invalid spread", "length_spread", "must be in [0, 1)");
    si.seed                   = static_cast<std::uint64_t>(count_opt(o, "seed", 1, 0));
    si.max_num_seqs           = kv->max_num_seqs;
    si.max_num_batched_tokens = kv->max_num_batched_tokens;
    si.block_size             = kv->block_size;
    si.kv_blocks              = kv->num_blocks;
    if (const auto v = number_option(o, "ttft_ms")) si.ttft_slo_seconds = *v / 1e3;
    if (const auto v = number_option(o, "tpot_ms")) si.tpot_slo_seconds = *v / 1e3;
    const StepCostModel cost = step_cost_model(m, in, layout, hw, eff);
    SimReport r;
    try {
      r = simulate_serving(cost, si);
    } catch (const InputError& e) {
      if (e.field() != "kv_blocks") throw;
      throw InputError(e.subject(), "context", e.reason());
    }
    const double ng = static_cast<double>(layout.gpus());
    j["load"]       = {{"rate", si.rate_per_s},
                       {"requests", si.requests},
                       {"ttft_seconds", pct_json(r.ttft_seconds)},
                       {"tpot_seconds", pct_json(r.tpot_seconds)},
                       {"e2e_seconds", pct_json(r.e2e_seconds)},
                       {"duration_seconds", r.duration_seconds},
                       {"requests_per_second", r.requests_per_second},
                       {"goodput_requests_per_second", r.goodput_requests_per_second},
                       {"output_tokens_per_second", r.output_tokens_per_second},
                       {"output_tokens_per_second_per_gpu", r.output_tokens_per_second / ng},
                       {"total_tokens_per_second_per_gpu", r.total_tokens_per_second / ng},
                       {"mean_running", r.mean_running},
                       {"steps", r.steps},
                       {"preemptions", r.preemptions}};
    auto& ls        = rep.section(
               fmt::format(
                   "Load: {} requests/s ({} requests simulated, continuous batching as vLLM schedules)",
                   si.rate_per_s, si.requests),
               {"", "p50", "p90", "p99"});
    auto pct_row = [&](const char* label, const Percentiles& p) {
      ls.rows.push_back(
          make_row("", label, p.p50, Unit::seconds, {},
                   {fmt::format("{:.2f} ms", p.p90 * 1e3), fmt::format("{:.2f} ms", p.p99 * 1e3)},
                   fmt::format("{:.2f} ms", p.p50 * 1e3)));
    };
    pct_row("time to first token", r.ttft_seconds);
    pct_row("time per output token", r.tpot_seconds);
    pct_row("end-to-end", r.e2e_seconds);
    ls.notes.push_back(fmt::format(
        "{:.0f} output tokens/s per GPU, goodput {:.3g} requests/s, {:.1f} running on average, "
        "{} preemptions",
        r.output_tokens_per_second / ng, r.goodput_requests_per_second, r.mean_running,
        r.preemptions));
  }
}

}  // namespace sizeup::cmd
