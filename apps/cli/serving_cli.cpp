// sizeup infer: serving latency/throughput, engine KV capacity and the load simulation.
#include "serving_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/serve_sim.hpp"

namespace sizeup::cli {
namespace {

std::int64_t count_opt(const std::optional<std::string>& v, const char* field, std::int64_t dflt,
                       std::int64_t lo = 1) {
  if (!v) return dflt;
  const std::int64_t n = parse_count(*v, field);
  if (n < lo) throw InputError("invalid value", field, fmt::format("must be at least {}", lo));
  return n;
}

double fraction_opt(const std::optional<std::string>& v, const char* field, double dflt) {
  if (!v) return dflt;
  const double f = parse_quantity(*v, field);
  if (!(f > 0 && f <= 1)) throw InputError("invalid fraction", field, "must be in (0, 1]");
  return f;
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

std::string step_explain(const std::string& title, const StepTime& s) {
  std::string e = "### " + title + "\n\n";
  for (const auto& o : s.ops)
    e += explain_row(o.label + " (" + o.bound + ")", o.derivation,
                     fmt::format("{:.4g} s", o.seconds));
  return e + "\n";
}

nlohmann::json pct_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}};
}

}  // namespace

void add_serving_options(CLI::App* app, ServingCliOptions& o) {
  add_quantity(app, "--prompt", o.prompt, "serving: prompt tokens per request");
  add_quantity(app, "--gen", o.gen, "serving: output tokens per request");
  app->add_option("--engine", o.engine,
                  "KV pool as an engine sizes it: vllm, sglang, trtllm (default: generic)");
  add_quantity(app, "--rate", o.rate, "load: Poisson arrivals, requests/s per replica");
  add_quantity(app, "--requests", o.requests, "load: requests simulated (default 5000)");
  add_quantity(app, "--length-spread", o.length_spread,
               "load: lengths uniform in [(1-s)x, (1+s)x] (default 0: fixed)");
  add_quantity(app, "--seed", o.seed, "load: random seed (default 1)");
  add_quantity(app, "--max-num-seqs", o.max_num_seqs, "engine: running sequences limit");
  add_quantity(app, "--max-num-batched-tokens", o.max_num_batched_tokens,
               "engine: tokens per step limit");
  add_quantity(app, "--block-size", o.block_size, "engine: tokens per KV block");
  add_quantity(app, "--mem-fraction-static", o.mem_fraction_static,
               "sglang: mem_fraction_static (default by tp)");
  add_quantity(app, "--kv-free-fraction", o.kv_free_fraction,
               "trtllm: kv_cache_free_gpu_mem_fraction (default 0.9)");
  add_quantity(app, "--pp", o.pp, "serving: pipeline stages per replica (default 1)");
  add_quantity(app, "--ep", o.ep, "serving: expert-parallel ranks (default 1)");
  add_quantity(app, "--ttft-ms", o.ttft_ms, "load: time-to-first-token target for goodput");
  add_quantity(app, "--tpot-ms", o.tpot_ms, "load: time-per-output-token target for goodput");
}

std::pair<std::string, double> matmul_peak(const GpuSpec& g, WeightFormat f) {
  std::vector<std::string> order;
  if (f == WeightFormat::fp8) order.push_back("fp8");
  if (f == WeightFormat::int8) order.push_back("int8");
  if (f == WeightFormat::fp32) order.push_back("fp32");
  if (f == WeightFormat::fp16) order.push_back("fp16");
  for (const char* d : {"bf16", "fp16", "fp32"}) order.push_back(d);
  for (const auto& d : order) {
    auto it = g.peak_flops_per_s.find(d);
    if (it != g.peak_flops_per_s.end() && it->second > 0) return {d, it->second};
  }
  return {"", 0};
}

namespace {
void serving_output(const ServingCliOptions& o, const ServingCliContext& c, Output& out,
                    std::vector<std::string>& notes);
}

// Library errors name fields by identifier (prompt, gpu_memory); the command line spells
// them as options (--prompt, --gpu-memory).
void add_serving_output(const ServingCliOptions& o, const ServingCliContext& c, Output& out,
                        std::vector<std::string>& notes) {
  try {
    serving_output(o, c, out, notes);
  } catch (const InputError& e) {
    const std::string& f = e.field();
    if (f.rfind("--", 0) == 0 || f == "MODEL") throw;
    std::string flag = "--" + f;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (f == "model") flag = "MODEL";
    // Hardware figures the performance model needs: the --gpu custom options that give them.
    if (f == "memory_bandwidth_bytes_per_s") flag = "--bandwidth";
    if (f == "intra_node_bandwidth_bytes_per_s") flag = "--intra-node-bandwidth";
    if (f == "inter_node_bandwidth_bytes_per_s") flag = "--inter-node-bandwidth";
    if (f == "pcie_bandwidth_bytes_per_s" || f == "compute_dtype") flag = "--gpu";
    throw InputError(e.subject(), flag, e.reason());
  }
}

namespace {
void serving_output(const ServingCliOptions& o, const ServingCliContext& c, Output& out,
                    std::vector<std::string>& notes) {
  auto& j      = out.json;
  j["serving"] = nullptr;
  j["engine"]  = nullptr;
  j["load"]    = nullptr;
  if (!o.any()) return;
  if (!c.gpu)
    throw InputError("missing accelerator", "--gpu",
                     "serving predictions (--prompt, --gen, --engine, --rate) need --gpu");
  const GpuSpec& g   = *c.gpu;
  const ModelSpec& m = c.model;

  ServingLayout layout;
  layout.tp = c.in.tp;
  layout.pp = count_opt(o.pp, "--pp", 1);
  layout.ep = count_opt(o.ep, "--ep", 1);
  if (c.gpus % layout.gpus() != 0)
    throw InputError(
        "invalid GPU count", "--gpus",
        fmt::format("{} GPUs are not a multiple of tp x pp = {}", c.gpus, layout.gpus()));
  const auto [peak_dtype, peak] = matmul_peak(g, c.in.weights);
  if (!(peak > 0))
    throw InputError("incomplete accelerator", "--gpu", g.name + " has no 16-bit peak FLOP/s");
  const DeviceModel hw = device_model(g, peak_dtype);
  const ServingEfficiency eff;
  const std::int64_t prompt =
      count_opt(o.prompt, "--prompt", std::min<std::int64_t>(c.in.context, 512));
  const std::int64_t gen = count_opt(o.gen, "--gen", 128);
  if (m.n_ctx > 0 && prompt + gen > m.n_ctx)
    notes.push_back(
        fmt::format("prompt + gen = {} exceeds the model's {} positions", prompt + gen, m.n_ctx));

  // Static batch: latency and throughput.
  const ServingReport s = serve_static(m, c.in, layout, hw, eff, c.in.batch, prompt, gen);
  j["serving"]          = {
               {"batch", c.in.batch},
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
                 {"link_fraction", hw.k.link_fraction},
                 {"attention_peak_fraction", hw.k.attention_peak_fraction},
                 {"step_overhead_seconds", eff.step_overhead_seconds}}},
               {"prefill", step_json(s.prefill)},
               {"decode", step_json(s.decode_first)},
               {"derivations", derivations_json(s.rows)},
  };
  notes.insert(notes.end(), s.notes.begin(), s.notes.end());
  out.text += fmt::format(
      "\nserving {} requests of {} prompt + {} output tokens (static batch, {} GPU(s) per "
      "replica, {} peak):\n"
      "  time to first token {:.1f} ms, time per output token {:.2f} ms, end-to-end {:.3f} s\n"
      "  {:.0f} output tokens/s per GPU, {:.0f} total tokens/s per GPU\n"
      "  decode turns compute-bound at batch: {}\n",
      c.in.batch, prompt, gen, layout.gpus(), peak_dtype, s.ttft_seconds * 1e3,
      s.tpot_seconds * 1e3, s.e2e_seconds, s.output_tokens_per_second_per_gpu,
      s.total_tokens_per_second_per_gpu,
      s.compute_bound_batch > 0
          ? std::to_string(s.compute_bound_batch)
          : "never (each sequence's KV reads outweigh its FLOPs at this context)");
  out.explain += "\n" +
                 explain_rows<double>("Serving (static batch)", s.rows,
                                      [](const double& v) { return fmt::format("{:.6g}", v); }) +
                 "\n" + step_explain("Prefill step by operator", s.prefill) +
                 step_explain("Decode step by operator (first)", s.decode_first);

  // Engine KV capacity.
  EngineSettings es;
  es.engine   = o.engine ? parse_serving_engine(*o.engine, "--engine") : ServingEngine::vllm;
  es.gpu_name = g.name;
  es.gpu_memory_utilization = c.utilization.value_or(0.9);
  es.mem_fraction_static    = fraction_opt(o.mem_fraction_static, "--mem-fraction-static", 0);
  es.kv_free_fraction       = fraction_opt(o.kv_free_fraction, "--kv-free-fraction", 0.9);
  es.block_size             = count_opt(o.block_size, "--block-size", 0);
  es.max_num_seqs           = count_opt(o.max_num_seqs, "--max-num-seqs", 0);
  es.max_num_batched_tokens = count_opt(o.max_num_batched_tokens, "--max-num-batched-tokens", 0);
  es.max_model_len          = c.in.context;
  std::optional<EngineKvReport> kv;
  if (o.engine || o.rate) {
    if (g.memory_bytes == 0)
      throw InputError("incomplete custom accelerator", "--gpu-memory",
                       "engine KV capacity needs the memory per GPU");
    kv          = engine_kv_capacity(m, c.in, static_cast<double>(g.memory_bytes), es);
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
    out.text += fmt::format(
        "{} start-up: KV cache {:.2f} GiB, GPU KV cache size: {} tokens\n"
        "  maximum concurrency for {} tokens per request: {:.2f}x\n",
        to_string(kv->engine), kv->kv_cache_bytes / kBytesPerGiB,
        with_commas(static_cast<std::uint64_t>(kv->kv_cache_tokens)),
        with_commas(static_cast<std::uint64_t>(kv->max_model_len)), kv->max_concurrency);
    out.explain +=
        explain_rows<double>(std::string("KV capacity as ") + to_string(kv->engine) + " sizes it",
                             kv->rows, [](const double& v) { return fmt::format("{:.6g}", v); }) +
        "\n";
  }

  // Load: continuous batching at a request rate.
  if (o.rate) {
    SimInput si;
    si.rate_per_s = parse_quantity(*o.rate, "--rate");
    if (!(si.rate_per_s > 0) || si.rate_per_s > 1e9)
      throw InputError("invalid rate", "--rate", "must be in (0, 1e9] requests/s");
    si.requests = count_opt(o.requests, "--requests", 5000);
    if (si.requests > 1000000)
      throw InputError("invalid request count", "--requests", "at most 1e6");
    si.prompt        = prompt;
    si.gen           = gen;
    si.length_spread = o.length_spread ? parse_quantity(*o.length_spread, "--length-spread") : 0;
    if (!(si.length_spread >= 0 && si.length_spread < 1))
      throw InputError("invalid spread", "--length-spread", "must be in [0, 1)");
    si.seed                   = static_cast<std::uint64_t>(count_opt(o.seed, "--seed", 1, 0));
    si.max_num_seqs           = kv->max_num_seqs;
    si.max_num_batched_tokens = kv->max_num_batched_tokens;
    si.block_size             = kv->block_size;
    si.kv_blocks              = kv->num_blocks;
    if (o.ttft_ms) si.ttft_slo_seconds = parse_quantity(*o.ttft_ms, "--ttft-ms") / 1e3;
    if (o.tpot_ms) si.tpot_slo_seconds = parse_quantity(*o.tpot_ms, "--tpot-ms") / 1e3;
    const StepCostModel cost = step_cost_model(m, c.in, layout, hw, eff);
    SimInput checked         = si;
    SimReport r;
    try {
      r = simulate_serving(cost, checked);
    } catch (const InputError& e) {
      if (e.field() != "kv_blocks") throw;
      throw InputError(e.subject(), "--context", e.reason());
    }
    const double gpus = static_cast<double>(layout.gpus());
    j["load"]         = {{"rate", si.rate_per_s},
                         {"requests", si.requests},
                         {"ttft_seconds", pct_json(r.ttft_seconds)},
                         {"tpot_seconds", pct_json(r.tpot_seconds)},
                         {"e2e_seconds", pct_json(r.e2e_seconds)},
                         {"duration_seconds", r.duration_seconds},
                         {"requests_per_second", r.requests_per_second},
                         {"goodput_requests_per_second", r.goodput_requests_per_second},
                         {"output_tokens_per_second", r.output_tokens_per_second},
                         {"output_tokens_per_second_per_gpu", r.output_tokens_per_second / gpus},
                         {"total_tokens_per_second_per_gpu", r.total_tokens_per_second / gpus},
                         {"mean_running", r.mean_running},
                         {"steps", r.steps},
                         {"preemptions", r.preemptions}};
    out.text += fmt::format(
        "load {} requests/s ({} requests simulated, continuous batching as vLLM schedules):\n"
        "  TTFT p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms\n"
        "  TPOT p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms\n"
        "  {:.0f} output tokens/s per GPU, goodput {:.3g} requests/s, {:.1f} running on average, "
        "{} preemptions\n",
        si.rate_per_s, si.requests, r.ttft_seconds.p50 * 1e3, r.ttft_seconds.p90 * 1e3,
        r.ttft_seconds.p99 * 1e3, r.tpot_seconds.p50 * 1e3, r.tpot_seconds.p90 * 1e3,
        r.tpot_seconds.p99 * 1e3, r.output_tokens_per_second / gpus, r.goodput_requests_per_second,
        r.mean_running, r.preemptions);
  }
}

}  // namespace

}  // namespace sizeup::cli
