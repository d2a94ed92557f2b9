// sizeup chinchilla: compute-optimal parameters and tokens for a budget (D = 20N, Hoffmann et
// al. 2022 Approach 3, Kaplan et al. 2020), predicted loss, and the inference-aware optimum.
#include <fmt/format.h>

#include "common.hpp"
#include "flops_options.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/scaling.hpp"

namespace sizeup::cli {
namespace {

struct ChinchillaOptions {
  std::optional<std::string> compute, params, tokens, inference_tokens;
  std::string method = "20n";
};

ScalingQuery query(const ChinchillaOptions& o) {
  const int given =
      int(o.compute.has_value()) + int(o.params.has_value()) + int(o.tokens.has_value());
  if (given != 1)
    throw InputError(given == 0 ? "missing budget" : "contradictory budget", "--compute",
                     "give exactly one of --compute (FLOPs), --params or --tokens");
  if (o.compute) return {ScalingGiven::compute, parse_quantity(*o.compute, "--compute")};
  if (o.params) return {ScalingGiven::params, parse_quantity(*o.params, "--params")};
  return {ScalingGiven::tokens, parse_quantity(*o.tokens, "--tokens")};
}

nlohmann::json point_json(const ScalingPoint& p) {
  return {{"method", p.method},
          {"params", p.params},
          {"tokens", p.tokens},
          {"compute_flops", p.compute_flops},
          {"tokens_per_param", p.tokens / p.params},
          {"pflop_days", p.compute_flops / kFlopsPerPflopDayS},
          {"loss", p.loss},
          {"derivations", derivations_json(p.rows)}};
}

std::vector<std::string> point_row(const std::string& label, double n, double d, double c,
                                   double loss) {
  return {label,          human_count(n),
          human_count(d), fmt::format("{:.3g}", d / n),
          sci(c),         fmt::format("{:.4f}", loss)};
}

Output chinchilla_output(const ChinchillaOptions& o) {
  if (o.method != "20n" && o.method != "approach3")
    throw InputError("invalid choice", "--method",
                     "'" + o.method + "' is not one of 20n, approach3");
  const ScalingQuery q     = query(o);
  const ScalingPoint rule  = rule_of_thumb_point(q);
  const ScalingPoint fit   = approach3_point(q);
  const ScalingPoint kap   = kaplan_point(q);
  const ScalingPoint& main = o.method == "20n" ? rule : fit;

  Output out;
  auto& j                = out.json;
  j["method"]            = main.method;
  j["params"]            = main.params;
  j["tokens"]            = main.tokens;
  j["compute_flops"]     = main.compute_flops;
  j["loss"]              = main.loss;
  j["rule_of_thumb"]     = point_json(rule);
  j["approach3"]         = point_json(fit);
  j["kaplan"]            = point_json(kap);
  j["fit"]               = {{"E", kChinchillaFit.E},       {"A", kChinchillaFit.A},
                            {"B", kChinchillaFit.B},       {"alpha", kChinchillaFit.alpha},
                            {"beta", kChinchillaFit.beta}, {"source", "Hoffmann et al. 2022, Appendix D.2"}};
  j["inference_optimal"] = nullptr;

  std::vector<std::vector<std::string>> rows = {
      {"allocation", "params", "tokens", "tokens/param", "FLOPs (6ND)", "loss (fit)"}};
  rows.push_back(point_row("D = 20N (rule of thumb)", rule.params, rule.tokens, rule.compute_flops,
                           rule.loss));
  rows.push_back(
      point_row("Chinchilla Approach 3 fit", fit.params, fit.tokens, fit.compute_flops, fit.loss));
  rows.push_back(point_row("Kaplan 2020 (N non-embedding)", kap.params, kap.tokens,
                           kap.compute_flops, kap.loss));

  auto show = [](const double& v) { return fmt::format("{:.6g}", v); };
  out.explain =
      explain_rows<double>("D = 20N (rule of thumb)", rule.rows, show) + "\n" +
      explain_rows<double>("Chinchilla Approach 3 (L = E + A/N^alpha + B/D^beta)", fit.rows, show) +
      "\n" + explain_rows<double>("Kaplan et al. 2020", kap.rows, show);
  if (o.inference_tokens) {
    const double d_inf        = parse_quantity(*o.inference_tokens, "--inference-tokens");
    const InferenceOptimal io = inference_optimal(fit, d_inf);
    j["inference_optimal"]    = {{"params", io.params},
                                 {"tokens", io.tokens},
                                 {"inference_tokens", d_inf},
                                 {"training_flops", io.training_flops},
                                 {"inference_flops", io.inference_flops},
                                 {"total_flops", io.total_flops},
                                 {"loss", io.loss},
                                 {"reference_total_flops", io.reference_total_flops},
                                 {"saving", 1.0 - io.total_flops / io.reference_total_flops},
                                 {"derivations", derivations_json(io.rows)}};
    rows.push_back(
        point_row("inference-aware (same loss)", io.params, io.tokens, io.training_flops, io.loss));
    out.explain += "\n" + explain_rows<double>("Counting " + human_count(d_inf) +
                                                   " inference tokens (Sardana & Frankle 2023)",
                                               io.rows, show);
  }
  out.text = "Compute-optimal allocations (loss predicted by the Approach 3 fit, nats/token)\n\n" +
             table(rows);
  if (o.inference_tokens) {
    const auto& io = j["inference_optimal"];
    out.text += fmt::format(
        "\nWith {} inference tokens: training + inference {} FLOPs vs {} for the "
        "Approach 3 model ({:.2f}% saved)\n",
        human_count(io["inference_tokens"].get<double>()), sci(io["total_flops"].get<double>()),
        sci(io["reference_total_flops"].get<double>()), 100 * io["saving"].get<double>());
  }
  out.text += "note: top-level JSON keys follow --method " + o.method +
              "; Kaplan's N counts non-embedding parameters; its 1.3e9 constant (Fig. 14) is from "
              "secondary transcriptions\n";
  return out;
}

}  // namespace

Action register_chinchilla(CLI::App& root, GlobalOptions&) {
  auto* app =
      root.add_subcommand("chinchilla", "compute-optimal parameters and tokens, predicted loss");
  auto o = std::make_shared<ChinchillaOptions>();
  add_quantity(app, "--compute", o->compute, "training FLOPs budget C");
  add_quantity(app, "--params", o->params, "parameter count N");
  add_quantity(app, "--tokens", o->tokens, "training tokens D");
  add_quantity(app, "--inference-tokens", o->inference_tokens,
               "lifetime inference tokens (Sardana & Frankle 2023)");
  app->add_option("--method", o->method,
                  "allocation for the top-level keys: 20n (default) or approach3");
  return [o] { return chinchilla_output(*o); };
}

}  // namespace sizeup::cli
