// sizeup plan MODEL: every parallel layout of a training run on N GPUs, those that fit in
// memory ranked by the step-time model, the best K with their breakdowns and the counts of
// why the others were rejected. With --days: the fewest GPUs that train --tokens within that
// many days; with --sweep: the best layout as the global batch or the sequence length changes.
#include "sizeup/plan.hpp"

#include <fmt/format.h>

#include <sstream>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cmd {
namespace {

using I = std::int64_t;

ReportRow row(std::string key, std::string label, nlohmann::json value, Unit unit = Unit::none,
              Derivation d = {}, std::vector<std::string> cells = {}) {
  return {std::move(key),
          std::move(label),
          std::move(value),
          unit,
          std::move(d),
          std::move(cells),
          "",
          true};
}

OptionSpec opt(std::string name, OptionKind kind, std::string help, std::string group = "",
               std::vector<std::string> choices = {}, std::string off = "") {
  return {std::move(name), kind, std::move(help), std::move(group), std::move(choices),
          std::move(off),  false};
}

std::string layout_text(const PlanCandidate& c) {
  const auto& p = c.plan;
  std::string s = fmt::format("dp{} tp{} pp{}", p.dp, p.tp, p.pp);
  if (p.interleave > 1) s += fmt::format(" v{}", p.interleave);
  if (p.ep > 1) s += fmt::format(" ep{}", p.ep);
  if (p.cp > 1) s += fmt::format(" cp{}", p.cp);
  if (p.sequence_parallel) s += " sp";
  s += fmt::format(" mb{} {} rc-{}", c.micro_batch, to_string(c.shard), to_string(c.recompute));
  if (p.offload == Offload::optimizer) s += " offload";
  return s;
}

nlohmann::json breakdown_json(const StepBreakdown& b) {
  return {{"compute_seconds", b.compute},       {"recompute_seconds", b.recompute},
          {"tp_comm_seconds", b.tp_comm},       {"cp_comm_seconds", b.cp_comm},
          {"ep_comm_seconds", b.ep_comm},       {"pp_p2p_seconds", b.pp_p2p},
          {"pp_bubble_seconds", b.pp_bubble},   {"zero_gather_seconds", b.zero_gather},
          {"dp_comm_seconds", b.dp_comm},       {"optimizer_seconds", b.optimizer},
          {"offload_seconds", b.offload},       {"first_stage_layers", b.first_layers},
          {"last_stage_layers", b.last_layers}, {"slowest_stage_layers", b.max_layers}};
}

nlohmann::json plan_json(const PlanCandidate& c, I gpus) {
  const auto& p = c.plan;
  return {{"layout",
           {{"dp", p.dp},
            {"tp", p.tp},
            {"pp", p.pp},
            {"interleave", p.interleave},
            {"ep", p.ep},
            {"cp", p.cp},
            {"sequence_parallel", p.sequence_parallel},
            {"micro_batch", c.micro_batch},
            {"micro_batches", c.micro_batches},
            {"sharding", to_string(c.shard)},
            {"recompute", to_string(c.recompute)},
            {"offload", p.offload == Offload::optimizer ? "optimizer" : "none"}}},
          {"dp", p.dp},
          {"tp", p.tp},
          {"pp", p.pp},
          {"step_seconds", c.step_seconds},
          {"mfu", c.mfu},
          {"tokens_per_second", c.tokens_per_second},
          {"tokens_per_second_per_gpu", c.tokens_per_second / static_cast<double>(gpus)},
          {"memory_bytes", c.memory_bytes},
          {"breakdown", breakdown_json(c.breakdown)}};
}

template <class E>
E choose(const Options& o, const char* name, std::initializer_list<std::pair<const char*, E>> m,
         E dflt) {
  const auto v = text_option(o, name);
  if (!v) return dflt;
  for (const auto& [k, e] : m)
    if (*v == k) return e;
  throw InputError("invalid choice", name, "'" + *v + "' is not accepted");
}

DimBound bound(const Options& o, const char* fixed, const char* max) {
  DimBound b;
  if (auto v = count_option(o, fixed)) {
    if (*v < 1) throw InputError("invalid value", fixed, "must be at least 1");
    b.fixed = *v;
  }
  if (auto v = count_option(o, max)) {
    if (*v < 1) throw InputError("invalid value", max, "must be at least 1");
    b.max = *v;
  }
  return b;
}

double fraction(const Options& o, const char* name, double dflt) {
  const auto v = number_option(o, name);
  if (!v) return dflt;
  if (!(*v > 0 && *v <= 1)) throw InputError("invalid efficiency", name, "must be in (0, 1]");
  return *v;
}

std::vector<I> parse_list(const std::string& s, const char* field) {
  std::vector<I> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const double v = parse_quantity(item, field);
    if (!(v >= 1 && v <= 1e9) || v != static_cast<double>(static_cast<I>(v)))
      throw InputError("invalid sweep", field, "'" + item + "' is not a positive whole number");
    out.push_back(static_cast<I>(v));
  }
  if (out.empty() || out.size() > 64)
    throw InputError("invalid sweep", field, "give 1 to 64 comma-separated values");
  return out;
}

}  // namespace

}  // namespace sizeup::cmd

namespace sizeup {

DeviceModel step_device(const nlohmann::json& o, const GpuSpec& gpu, const std::string& dtype) {
  PerfConstants k;
  k.gemm_peak_fraction      = cmd::fraction(o, "gemm_efficiency", k.gemm_peak_fraction);
  k.memory_bw_fraction      = cmd::fraction(o, "memory_efficiency", k.memory_bw_fraction);
  k.link_fraction           = cmd::fraction(o, "link_efficiency", k.link_fraction);
  k.attention_peak_fraction = cmd::fraction(o, "attention_efficiency", k.attention_peak_fraction);
  GpuSpec g                 = gpu;
  if (auto v = count_option(o, "nvlink_domain")) {
    if (*v < 1 || *v > 100000) throw InputError("invalid value", "nvlink_domain", "1..100000");
    g.nvlink_domain_gpus = static_cast<int>(*v);
  }
  if (auto v = quantity_option(o, "intra_latency")) {
    if (!(*v >= 0 && *v < 1)) throw InputError("invalid latency", "intra_latency", "seconds");
    g.intra_node_latency_seconds = *v;
  }
  if (auto v = quantity_option(o, "inter_latency")) {
    if (!(*v >= 0 && *v < 1)) throw InputError("invalid latency", "inter_latency", "seconds");
    g.inter_node_latency_seconds = *v;
  }
  if (auto v = rate_option(o, "pcie_bandwidth")) {
    if (!(*v > 0)) throw InputError("invalid bandwidth", "pcie_bandwidth", "must be positive");
    g.pcie_bandwidth_bytes_per_s = *v;
  }
  return device_model(g, dtype, k);
}

}  // namespace sizeup

namespace sizeup::cmd {

std::vector<OptionSpec> step_model_options() {
  using K       = OptionKind;
  const char* g = "Step-time model";
  return {
      opt("gemm_efficiency", K::number, "fraction of dense peak for large GEMMs (default 0.73)", g),
      opt("memory_efficiency", K::number, "fraction of HBM bandwidth, memory-bound ops (0.6)", g),
      opt("link_efficiency", K::number, "fraction of link bandwidth NCCL reaches (0.8)", g),
      opt("attention_efficiency", K::number, "fraction of 16-bit peak, fused attention (0.6)", g),
      opt("nvlink_domain", K::count, "GPUs on one NVLink fabric (default: GPUs per node)", g),
      opt("intra_latency", K::quantity, "per-message latency in the NVLink domain, s (2e-6)", g),
      opt("inter_latency", K::quantity, "per-message latency across domains, s (5e-6)", g),
      opt("pcie_bandwidth", K::rate, "host link per GPU, one direction (32GB)", g),
      opt("dp_overlap", K::toggle, "gradient reduction overlaps the last backward (default on)", g,
          {}, "no_dp_overlap"),
      opt("tp_overlap", K::flag, "tensor-parallel communication overlapped with GEMMs", g),
  };
}

namespace {

Report plan_report(const Options& o) {
  // --serve: a serving deployment instead of a training layout (src/commands/serve_plan.cpp).
  if (flag_option(o, "serve")) return serve_plan_report(o);
  const ModelSpec m = resolve_model(o);
  const GpuSpec gpu = resolve_gpu(o, "h100-sxm");
  memory_for_fit(gpu);
  PlanInput in;
  in.gpus            = resolve_gpu_count(o, 0);
  auto& b            = in.base;
  b.workload.seq_len = count_option(o, "seq").value_or(2048);
  if (b.workload.seq_len < 1 || b.workload.seq_len > 10000000)
    throw InputError("invalid value", "seq", "must be between 1 and 10^7");
  const auto gb = count_option(o, "global_batch");
  if (!gb || *gb < 1)
    throw InputError("missing global batch", "global_batch", "give it, e.g. 1536");
  b.workload.global_batch = *gb;
  b.precision             = choose<Precision>(o, "precision",
                                  {{"mixed-bf16", Precision::mixed_bf16},
                                               {"mixed-fp16", Precision::mixed_fp16},
                                               {"bf16", Precision::bf16},
                                               {"fp16", Precision::fp16},
                                               {"fp32", Precision::fp32},
                                               {"fp8", Precision::fp8}},
                                  Precision::mixed_bf16);
  b.optimizer             = choose<Optimizer>(o, "optimizer",
                                  {{"adamw", Optimizer::adamw},
                                               {"adam8bit", Optimizer::adam8bit},
                                               {"sgd", Optimizer::sgd},
                                               {"sgd-momentum", Optimizer::sgd_momentum},
                                               {"adafactor", Optimizer::adafactor},
                                               {"lion", Optimizer::lion}},
                                  Optimizer::adamw);
  b.activation.attention  = choose<AttentionImpl>(
      o, "attention", {{"flash", AttentionImpl::flash}, {"eager", AttentionImpl::eager}},
      AttentionImpl::flash);
  b.activation.dropout = number_option(o, "dropout").value_or(0.0);
  if (!(b.activation.dropout >= 0 && b.activation.dropout < 1))
    throw InputError("invalid dropout", "dropout", "must be in [0, 1)");
  b.gpus_per_node    = gpu.gpus_per_node;
  b.gpu_memory_bytes = gpu.memory_bytes;
  if (auto v = bytes_option(o, "overhead")) b.overhead_bytes = static_cast<ByteCount>(*v);
  b.headroom = number_option(o, "headroom").value_or(0.0);
  if (!(b.headroom >= 0 && b.headroom < 1))
    throw InputError("invalid headroom", "headroom", "must be in [0, 1)");
  in.tp    = bound(o, "tp", "max_tp");
  in.pp    = bound(o, "pp", "max_pp");
  in.dp    = bound(o, "dp", "max_dp");
  in.ep    = bound(o, "ep", "max_ep");
  in.cp    = bound(o, "cp", "max_cp");
  in.v     = bound(o, "interleave", "max_interleave");
  in.micro = bound(o, "micro_batch", "max_micro_batch");
  if (auto r = text_option(o, "recompute"); r && *r != "any")
    in.recompute = {choose<Recompute>(
        o, "recompute",
        {{"none", Recompute::none}, {"selective", Recompute::selective}, {"full", Recompute::full}},
        Recompute::none)};
  if (auto z = text_option(o, "sharding"); z && *z != "any")
    in.shard = {choose<ShardMode>(o, "sharding",
                                  {{"zero0", ShardMode::zero0},
                                   {"zero1", ShardMode::zero1},
                                   {"zero2", ShardMode::zero2},
                                   {"zero3", ShardMode::zero3},
                                   {"fsdp-hybrid", ShardMode::fsdp_hybrid}},
                                  ShardMode::zero0)};
  if (auto sp = toggle_option(o, "sequence_parallel")) in.sequence_parallel = {*sp};
  if (auto off = toggle_option(o, "offload")) in.offload = {*off};
  in.top = static_cast<int>(count_option(o, "top").value_or(5));
  if (in.top < 1 || in.top > 1000) throw InputError("invalid value", "top", "must be 1..1000");
  if (auto t = count_option(o, "threads")) {
    if (*t < 1 || *t > 1024) throw InputError("invalid value", "threads", "must be 1..1024");
    in.threads = static_cast<int>(*t);
  }
  in.step.dp_overlap    = toggle_option(o, "dp_overlap").value_or(true);
  in.step.tp_overlap    = flag_option(o, "tp_overlap");
  const DeviceModel dev = step_device(o, gpu, train_recipe(b).compute_dtype);
  const auto tokens     = quantity_option(o, "tokens");
  const auto days       = number_option(o, "days");
  const auto sweep      = text_option(o, "sweep");

  Report r;
  r.data["model"] = m.name;
  r.data["gpu"]   = gpu.name;
  auto add_search = [&](const PlanReport& pr, I gpus) {
    auto& s = r.section("Search", {"", "value"});
    s.rows.push_back(row("evaluated", "layouts evaluated", pr.evaluated, Unit::count));
    s.rows.push_back(row("feasible", "fit in memory", pr.feasible, Unit::count));
    for (std::size_t i = 0; i < kRejectReasons.size(); ++i)
      s.rows.push_back(row(std::string("rejected.") + kRejectReasons[i],
                           std::string("rejected: ") + kRejectReasons[i], pr.rejected[i],
                           Unit::count));
    s.rows.push_back(row("seconds", "search time", pr.seconds, Unit::seconds));
    s.notes.push_back(fmt::format("{} threads; {:.3g} layouts/s", pr.threads,
                                  static_cast<double>(pr.evaluated) / std::max(1e-9, pr.seconds)));
    auto& t         = r.section(fmt::format("Best {} of {} layouts on {} x {}", pr.plans.size(),
                                            pr.feasible, gpus, gpu.name),
                                {"layout", "step", "tokens/s/GPU", "MFU", "memory GiB"});
    r.data["plans"] = nlohmann::json::array();
    for (const auto& c : pr.plans) {
      r.data["plans"].push_back(plan_json(c, gpus));
      t.rows.push_back(row(
          "", layout_text(c), c.step_seconds, Unit::seconds, {},
          {fmt::format("{:.0f}", c.tokens_per_second / static_cast<double>(gpus)),
           fmt::format("{:.1f}%", 100 * c.mfu), fmt::format("{:.2f}", to_gib(c.memory_bytes))}));
    }
    if (pr.plans.empty()) {
      t.notes.push_back("no layout fits: raise gpus, lower global_batch or seq");
      return;
    }
    // The best layout through the public train path, with every term's derivation.
    const TrainInput ti     = train_input_of(in, pr.plans.front());
    PlanInput at            = in;
    at.gpus                 = gpus;
    const StepTimeReport st = step_time(m, train_input_of(at, pr.plans.front()), dev, in.step);
    (void)ti;
    auto& bsec = r.section("Step time of the best layout: " + layout_text(pr.plans.front()),
                           {"component", "seconds"});
    for (const auto& x : st.rows.rows)
      bsec.rows.push_back(row("best.time." + x.key, x.label, x.value, Unit::seconds, x.derivation));
    bsec.rows.push_back(row("best.time.step_seconds", "step", st.step_seconds, Unit::seconds));
    bsec.rows.push_back(row("best.time.mfu", "MFU", st.mfu, Unit::fraction));
    bsec.rows.push_back(row("best.time.hfu", "HFU", st.hfu, Unit::fraction));
    bsec.rows.push_back(
        row("best.time.tokens_per_second", "tokens/s", st.tokens_per_second, Unit::tokens_per_s));
    bsec.rows.push_back(row("best.time.tflops_per_gpu", "TFLOP/s per GPU", st.tflops_per_gpu));
    for (const auto& n : st.notes) bsec.notes.push_back(n);
  };

  if (days) {
    if (!tokens) throw InputError("missing token count", "tokens", "days needs tokens");
    const DaysAnswer a = fewest_gpus_within(m, in, dev, *tokens, *days);
    r.title = fmt::format("{}: fewest {} GPUs to train {:.4g} tokens within {:g} days", m.name,
                          gpu.name, *tokens, *days);
    auto& s = r.section("Answer", {"", "value"});
    s.rows.push_back(row("days.found", "found", a.found));
    s.rows.push_back(row("days.searches", "plan searches", a.searches, Unit::count));
    if (!a.found) {
      s.notes.push_back("no GPU count up to 2^20 trains it in time");
      return r;
    }
    s.rows.push_back(row("days.gpus", "GPUs", a.gpus, Unit::count));
    s.rows.push_back(row("days.days", "days at the best layout", a.days));
    add_search(a.report, a.gpus);
    return r;
  }
  if (in.gpus < 1) throw InputError("missing GPU count", "gpus", "give the number of GPUs (gpus)");
  if (sweep) {
    const auto eq = sweep->find('=');
    if (eq == std::string::npos)
      throw InputError("invalid sweep", "sweep", "write global_batch=512,1024 or seq=2048,4096");
    std::string dim = sweep->substr(0, eq);
    if (dim == "seq") dim = "seq_len";
    const auto pts = sweep_plans(m, in, dev, dim, parse_list(sweep->substr(eq + 1), "sweep"));
    r.title = fmt::format("{} on {} x {}: best layout as {} changes", m.name, in.gpus, gpu.name,
                          sweep->substr(0, eq));
    auto& s =
        r.section("Sweep", {sweep->substr(0, eq), "best layout", "step", "tokens/s/GPU", "MFU"});
    r.data["sweep"] = nlohmann::json::array();
    for (const auto& p : pts) {
      nlohmann::json j = {{"value", p.value}, {"feasible", p.report.feasible}};
      if (p.report.plans.empty()) {
        s.rows.push_back(row("", std::to_string(p.value), "none fits", Unit::none));
      } else {
        const auto& c = p.report.plans.front();
        j["best"]     = plan_json(c, in.gpus);
        s.rows.push_back(
            row("", std::to_string(p.value), layout_text(c), Unit::none, {},
                {fmt::format("{:.4g} s", c.step_seconds),
                 fmt::format("{:.0f}", c.tokens_per_second / static_cast<double>(in.gpus)),
                 fmt::format("{:.1f}%", 100 * c.mfu)}));
      }
      r.data["sweep"].push_back(j);
    }
    return r;
  }
  const PlanReport pr = plan_search(m, in, dev);
  r.title =
      fmt::format("{} on {} x {}, global batch {} x {} tokens: {} layouts, {} fit", m.name, in.gpus,
                  gpu.name, b.workload.global_batch, b.workload.seq_len, pr.evaluated, pr.feasible);
  add_search(pr, in.gpus);
  if (tokens && !pr.plans.empty()) {
    auto& s          = r.section("Training time at the best layout", {"", "value"});
    const double sec = *tokens / pr.plans.front().tokens_per_second;
    s.rows.push_back(row("time.seconds", "seconds", sec, Unit::seconds));
    s.rows.push_back(row("time.days", "days", sec / 86400.0));
  }
  return r;
}

}  // namespace

CommandSpec plan_command() {
  using K                     = OptionKind;
  std::vector<OptionSpec> own = {
      opt("global_batch", K::count, "sequences per optimizer step (required)"),
      opt("seq", K::count, "tokens per sequence (default 2048)"),
      opt("tokens", K::quantity, "training tokens (time at the best layout; with days)"),
      opt("days", K::number, "find the fewest GPUs that train the tokens within this many days"),
      opt("sweep", K::text, "global_batch=V1,V2,... or seq=V1,V2,...: best layout per value"),
      opt("top", K::count, "layouts shown (default 5)"),
      opt("threads", K::count, "search threads (default: every core)"),
      opt("precision", K::text, "recipe", "",
          {"mixed-bf16", "mixed-fp16", "bf16", "fp16", "fp32", "fp8"}),
      opt("optimizer", K::text, "optimizer", "",
          {"adamw", "adam8bit", "sgd", "sgd-momentum", "adafactor", "lion"}),
      opt("attention", K::text, "attention kernel", "", {"flash", "eager"}),
      opt("dropout", K::number, "dropout probability (default 0)"),
      opt("overhead", K::bytes, "runtime overhead per GPU (default 1GiB)"),
      opt("headroom", K::number, "fraction of GPU memory kept free (default 0)"),
      opt("tp", K::count, "fix tensor parallelism", "Constraints"),
      opt("pp", K::count, "fix pipeline stages", "Constraints"),
      opt("dp", K::count, "fix data parallelism", "Constraints"),
      opt("ep", K::count, "fix expert parallelism", "Constraints"),
      opt("cp", K::count, "fix context parallelism", "Constraints"),
      opt("interleave", K::count, "fix virtual stages per pipeline rank", "Constraints"),
      opt("micro_batch", K::count, "fix the micro-batch", "Constraints"),
      opt("max_tp", K::count, "bound tensor parallelism", "Constraints"),
      opt("max_pp", K::count, "bound pipeline stages", "Constraints"),
      opt("max_dp", K::count, "bound data parallelism", "Constraints"),
      opt("max_ep", K::count, "bound expert parallelism", "Constraints"),
      opt("max_cp", K::count, "bound context parallelism", "Constraints"),
      opt("max_interleave", K::count, "bound virtual stages", "Constraints"),
      opt("max_micro_batch", K::count, "bound the micro-batch", "Constraints"),
      opt("recompute", K::text, "fix recomputation (default any)", "Constraints",
          {"any", "none", "selective", "full"}),
      opt("sharding", K::text, "fix ZeRO stage / FSDP mode (default any)", "Constraints",
          {"any", "zero0", "zero1", "zero2", "zero3", "fsdp-hybrid"}),
      opt("sequence_parallel", K::toggle, "fix sequence parallelism on or off", "Constraints", {},
          "no_sequence_parallel"),
      opt("offload", K::toggle, "fix optimizer offload on or off", "Constraints", {}, "no_offload"),
  };
  return {"plan", "search every parallel layout; rank those that fit by predicted step time",
          with_serve_plan_options(join(join(join(model_options(), gpu_options("h100-sxm")), own),
                                       step_model_options())),
          plan_report};
}

}  // namespace sizeup::cmd
