// sizeup plan MODEL --serve: the cheapest serving deployments (GPU kind and count, TP/PP/EP,
// replicas, weight and KV formats) that meet a time-to-first-token and a time-per-output-token
// target at a request rate. The search is serve_plan.hpp's; this file reads the options and
// writes the report.
#include "sizeup/serve_plan.hpp"

#include <fmt/format.h>

#include <sstream>

#include "commands/commands.hpp"
#include "sizeup/error.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cmd {
namespace {

using I = std::int64_t;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// Catalog GPUs a serving plan considers when --gpu is not given: current data-centre parts
// with published prices in the usual clouds.
const char* const kDefaultServeGpus[] = {"a100-80gb", "h100-sxm", "h200", "b200", "l40s"};

}  // namespace

namespace {
OptionSpec opt(std::string name, OptionKind kind, std::string help, std::string group) {
  OptionSpec o;
  o.name  = std::move(name);
  o.kind  = kind;
  o.help  = std::move(help);
  o.group = std::move(group);
  return o;
}
}  // namespace

std::vector<OptionSpec> serve_plan_options() {
  return {
      opt("serve", OptionKind::flag, "plan a serving deployment (rate and latency targets)",
          "Serving"),
      opt("rate", OptionKind::number, "requests/s to serve in total", "Serving"),
      opt("prompt", OptionKind::count, "prompt tokens per request (default 512)", "Serving"),
      opt("gen", OptionKind::count, "output tokens per request (default 128)", "Serving"),
      opt("ttft_ms", OptionKind::number, "time-to-first-token target, p90 (default 1000)",
          "Serving"),
      opt("tpot_ms", OptionKind::number, "time-per-output-token target, p90 (default 50)",
          "Serving"),
      opt("price_per_gpu_hour", OptionKind::text,
          "USD per GPU-hour: one price, or kind=price pairs (h100-sxm=3,a100-80gb=1.8)", "Serving"),
      opt("max_gpus", OptionKind::count, "largest deployment considered (default 64)", "Serving"),
      opt("top", OptionKind::count, "deployments to print (default 5)", "Serving"),
  };
}

std::vector<OptionSpec> with_serve_plan_options(std::vector<OptionSpec> base) {
  for (OptionSpec& s : serve_plan_options()) {
    bool present = false;
    for (const OptionSpec& b : base) present = present || b.name == s.name;
    if (!present) base.push_back(std::move(s));
  }
  return base;
}

Report serve_plan_report(const Options& o) {
  const ModelSpec m = resolve_model(o);
  ServePlanInput in;
  const auto rate = number_option(o, "rate");
  if (!rate) throw InputError("missing rate", "rate", "a serving plan needs --rate (requests/s)");
  in.rate_per_s   = *rate;
  in.prompt       = count_option(o, "prompt").value_or(512);
  in.gen          = count_option(o, "gen").value_or(128);
  in.ttft_seconds = number_option(o, "ttft_ms").value_or(1000) / 1e3;
  in.tpot_seconds = number_option(o, "tpot_ms").value_or(50) / 1e3;
  in.max_gpus     = count_option(o, "max_gpus").value_or(64);
  in.top          = count_option(o, "top").value_or(5);
  if (in.max_gpus < 1 || in.max_gpus > 100000)
    throw InputError("invalid GPU limit", "max_gpus", "must be in [1, 100000]");
  if (in.top < 1 || in.top > 1000) throw InputError("invalid count", "top", "must be in [1, 1000]");
  if (in.prompt < 1 || in.gen < 1 || in.prompt > 10000000 || in.gen > 10000000)
    throw InputError("invalid request shape", in.prompt < 1 ? "prompt" : "gen",
                     "must be in [1, 1e7] tokens");
  if (const auto g = text_option(o, "gpu")) {
    for (const auto& name : split_list(*g)) in.gpus.push_back(require_gpu(name, "gpu"));
  } else {
    for (const char* name : kDefaultServeGpus) in.gpus.push_back(require_gpu(name, "gpu"));
  }
  if (const auto p = text_option(o, "price_per_gpu_hour")) {
    for (const auto& item : split_list(*p)) {
      const auto eq  = item.find('=');
      const double v = parse_quantity(eq == std::string::npos ? item : item.substr(eq + 1),
                                      "price_per_gpu_hour");
      if (!(v > 0) || v > 1e6)
        throw InputError("invalid price", "price_per_gpu_hour", "must be in (0, 1e6] USD");
      if (eq == std::string::npos)
        in.default_price_per_gpu_hour = v;
      else
        in.price_per_gpu_hour[require_gpu(item.substr(0, eq), "price_per_gpu_hour").name] = v;
    }
  }
  const ServePlanReport p = plan_serving(m, in);

  Report r;
  r.title = fmt::format(
      "{}: serving {} requests/s of {} + {} tokens, p90 TTFT <= {:.0f} ms and TPOT <= {:.1f} ms",
      m.name, in.rate_per_s, in.prompt, in.gen, in.ttft_seconds * 1e3, in.tpot_seconds * 1e3);
  auto& best      = r.section("Cheapest deployments", {"deployment", "USD/hour", "GPUs", "TTFT p90",
                                                       "TPOT p90", "USD/M in", "USD/M out"});
  r.data["plans"] = nlohmann::json::array();
  for (const ServePlan& s : p.plans) {
    const std::string name =
        fmt::format("{} x {} {} weights, {} KV, tp{}{}{}", s.replicas, s.gpu, to_string(s.weights),
                    s.kv_bytes == 1 ? "fp8" : "bf16", s.layout.tp,
                    s.layout.pp > 1 ? fmt::format(" pp{}", s.layout.pp) : "",
                    s.layout.ep > 1 ? fmt::format(" ep{}", s.layout.ep) : "");
    best.rows.push_back(
        {"",
         name,
         s.cost_per_hour,
         Unit::none,
         {},
         {std::to_string(s.gpus), fmt::format("{:.0f} ms", s.sim_ttft_p90_seconds * 1e3),
          fmt::format("{:.1f} ms", s.sim_tpot_p90_seconds * 1e3),
          fmt::format("{:.3f}", s.cost_per_million_input_tokens),
          fmt::format("{:.3f}", s.cost_per_million_output_tokens)},
         fmt::format("{:.2f}", s.cost_per_hour),
         true});
    r.data["plans"].push_back(
        {{"gpu", s.gpu},
         {"weights", to_string(s.weights)},
         {"kv_dtype", s.kv_bytes == 1 ? "fp8" : "bf16"},
         {"tp", s.layout.tp},
         {"pp", s.layout.pp},
         {"ep", s.layout.ep},
         {"replicas", s.replicas},
         {"gpus", s.gpus},
         {"max_num_seqs", s.max_num_seqs},
         {"kv_cache_tokens", s.kv_cache_tokens},
         {"rate_per_replica", s.rate_per_replica},
         {"running", s.running},
         {"ttft_seconds", s.ttft_seconds},
         {"tpot_seconds", s.tpot_seconds},
         {"sim_ttft_p90_seconds", s.sim_ttft_p90_seconds},
         {"sim_tpot_p90_seconds", s.sim_tpot_p90_seconds},
         {"cost_per_hour", s.cost_per_hour},
         {"cost_per_million_input_tokens", s.cost_per_million_input_tokens},
         {"cost_per_million_output_tokens", s.cost_per_million_output_tokens}});
  }
  auto& search = r.section("Search", {"", "value"});
  search.rows.push_back(
      {"evaluated", "layouts evaluated", p.evaluated, Unit::count, {}, {}, "", true});
  search.rows.push_back(
      {"feasible", "meeting the targets analytically", p.feasible, Unit::count, {}, {}, "", true});
  search.rows.push_back(
      {"simulations", "checked by the simulator", p.simulations, Unit::count, {}, {}, "", true});
  search.rows.push_back(
      {"seconds", "search time (wall)", p.seconds, Unit::seconds, {}, {}, "", true});
  search.rows.push_back(
      {"cpu_seconds", "search time (processor)", p.cpu_seconds, Unit::seconds, {}, {}, "", true});
  r.data["rejected"] = nlohmann::json::object();
  for (const auto& [why, n] : p.rejected) {
    r.data["rejected"][why] = n;
    search.notes.push_back(fmt::format("rejected {}: {}", n, why));
  }
  if (p.plans.empty())
    r.notes.push_back(
        "no deployment meets both targets within --max-gpus; relax a target, "
        "raise --max-gpus or add GPU kinds");
  r.notes.push_back(
      fmt::format("prices: {} USD per GPU-hour unless given per kind (assumption; give "
                  "--price-per-gpu-hour)",
                  in.default_price_per_gpu_hour));
  r.notes.push_back(
      "TTFT/TPOT are p90 of the continuous-batching simulation (vLLM scheduling, Poisson "
      "arrivals, 2000 requests per replica); cost per million input/output tokens splits the GPU "
      "time by the share of each step spent on prompts");
  return r;
}

}  // namespace sizeup::cmd
