// sizeup chinchilla: compute-optimal parameters and tokens for a budget (D = 20N, Hoffmann et
// al. 2022 Approach 3, Kaplan et al. 2020), predicted loss, and the inference-aware optimum.
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/scaling.hpp"

namespace sizeup::cmd {
namespace {

ScalingQuery query(const Options& o) {
  const int given =
      int(has_option(o, "compute")) + int(has_option(o, "params")) + int(has_option(o, "tokens"));
  if (given != 1)
    throw InputError(given == 0 ? "missing budget" : "contradictory budget", "compute",
                     "give exactly one of compute (FLOPs), params or tokens");
  if (has_option(o, "compute")) return {ScalingGiven::compute, *quantity_option(o, "compute")};
  if (has_option(o, "params")) return {ScalingGiven::params, *quantity_option(o, "params")};
  return {ScalingGiven::tokens, *quantity_option(o, "tokens")};
}

nlohmann::json point_json(const ScalingPoint& p) {
  return {{"method", p.method},
          {"params", p.params},
          {"tokens", p.tokens},
          {"compute_flops", p.compute_flops},
          {"tokens_per_param", p.tokens / p.params},
          {"pflop_days", p.compute_flops / kFlopsPerPflopDay},
          {"loss", p.loss},
          {"derivations", derivations_json(p.rows)}};
}

// One allocation as a text row (params, tokens, tokens/param, FLOPs, loss) whose derivations
// are the point's rows (shown by explain in their own section).
ReportRow point_row(const std::string& label, double n, double d, double c, double loss) {
  return make_row(
      "", label, n, Unit::none, {},
      {human_count(d), fmt::format("{:.3g}", d / n), sci(c), fmt::format("{:.4f}", loss)},
      human_count(n));
}

void derivation_section(Report& rep, const std::string& title, const Breakdown<double>& rows) {
  auto& s = rep.section(title);
  for (const auto& r : rows.rows)
    s.rows.push_back(make_row("", r.label, r.value, Unit::none, r.derivation, {},
                              fmt::format("{:.6g}", r.value), false));
}

Report chinchilla_report(const Options& o) {
  const std::string method = text_option(o, "method").value_or("20n");
  const ScalingQuery q     = query(o);
  const ScalingPoint rule  = rule_of_thumb_point(q);
  const ScalingPoint fit   = approach3_point(q);
  const ScalingPoint kap   = kaplan_point(q);
  const ScalingPoint& main = method == "20n" ? rule : fit;

  Report rep;
  auto& j                = rep.data;
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

  rep.title = "Compute-optimal allocations (loss predicted by the Approach 3 fit, nats/token)";
  auto& t   = rep.section(
        "", {"allocation", "params", "tokens", "tokens/param", "FLOPs (6ND)", "loss (fit)"});
  t.rows.push_back(point_row("D = 20N (rule of thumb)", rule.params, rule.tokens,
                             rule.compute_flops, rule.loss));
  t.rows.push_back(
      point_row("Chinchilla Approach 3 fit", fit.params, fit.tokens, fit.compute_flops, fit.loss));
  t.rows.push_back(point_row("Kaplan 2020 (N non-embedding)", kap.params, kap.tokens,
                             kap.compute_flops, kap.loss));
  derivation_section(rep, "D = 20N (rule of thumb)", rule.rows);
  derivation_section(rep, "Chinchilla Approach 3 (L = E + A/N^alpha + B/D^beta)", fit.rows);
  derivation_section(rep, "Kaplan et al. 2020", kap.rows);
  if (const auto d_inf = quantity_option(o, "inference_tokens")) {
    const InferenceOptimal io = inference_optimal(fit, *d_inf);
    const double saving       = 1.0 - io.total_flops / io.reference_total_flops;
    j["inference_optimal"]    = {{"params", io.params},
                                 {"tokens", io.tokens},
                                 {"inference_tokens", *d_inf},
                                 {"training_flops", io.training_flops},
                                 {"inference_flops", io.inference_flops},
                                 {"total_flops", io.total_flops},
                                 {"loss", io.loss},
                                 {"reference_total_flops", io.reference_total_flops},
                                 {"saving", saving},
                                 {"derivations", derivations_json(io.rows)}};
    t.rows.push_back(
        point_row("inference-aware (same loss)", io.params, io.tokens, io.training_flops, io.loss));
    t.notes.push_back(fmt::format(
        "With {} inference tokens: training + inference {} FLOPs vs {} for the Approach 3 model "
        "({:.2f}% saved)",
        human_count(*d_inf), sci(io.total_flops), sci(io.reference_total_flops), 100 * saving));
    derivation_section(
        rep, "Counting " + human_count(*d_inf) + " inference tokens (Sardana & Frankle 2023)",
        io.rows);
  }
  rep.notes.push_back("note: top-level JSON keys follow method " + method +
                      "; Kaplan's N counts non-embedding parameters; its 1.3e9 constant (Fig. 14) "
                      "is from secondary transcriptions");
  return rep;
}

}  // namespace

CommandSpec chinchilla_command() {
  using K = OptionKind;
  return {"chinchilla",
          "compute-optimal parameters and tokens, predicted loss",
          {{"compute", K::quantity, "training FLOPs budget C", "", {}, "", false},
           {"params", K::quantity, "parameter count N", "", {}, "", false},
           {"tokens", K::quantity, "training tokens D", "", {}, "", false},
           {"inference_tokens",
            K::quantity,
            "lifetime inference tokens (Sardana & Frankle 2023)",
            "",
            {},
            "",
            false},
           {"method",
            K::text,
            "allocation for the top-level keys: 20n (default) or approach3",
            "",
            {"20n", "approach3"},
            "",
            false}},
          chinchilla_report};
}

}  // namespace sizeup::cmd
