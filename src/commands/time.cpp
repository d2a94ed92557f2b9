// sizeup time: training time, GPU-hours, PFLOP-days, cost, energy and emissions from C = 6ND
// and an assumed (or measured) MFU (compute_time.hpp).
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"

namespace sizeup::cmd {
namespace {

std::string show(const Row<double>& r) {
  const auto whole = [](double v) { return with_commas(static_cast<std::uint64_t>(v + 0.5)); };
  if (r.key == "days" || r.key == "days_with_attention") return fmt::format("{:.6g}", r.value);
  if (r.key == "gpu_hours" || r.key == "energy_kwh" || r.key == "emissions_kg")
    return whole(r.value);
  if (r.key == "cost_usd") return "$" + whole(r.value);
  if (r.key == "pflop_days") return fmt::format("{:.6g}", r.value);
  return sci(r.value);
}

// Rows that are JSON keys of their own; the attention-inclusive ones go under with_attention.
bool top_level(const std::string& key) { return key.find("with_attention") == std::string::npos; }

// Without gpu: what needs no accelerator, the FLOPs (6ND, and with seq the attention term)
// and PFLOP-days; the time rows need a peak and are null.
Report flops_only_report(const Options& o, const ParamsSource& src) {
  TrainTimeInput in;
  in.params               = src.params;
  in.tokens               = *quantity_option(o, "tokens");
  in.attention            = src.attention;
  in.peak_flops_per_s     = 1;  // not reported: only the FLOPs rows are kept
  const TrainTimeReport r = train_time(in);
  Report rep;
  auto& j     = rep.data;
  j["model"]  = src.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.model);
  j["params"] = in.params;
  j["tokens"] = in.tokens;
  j["gpu"]    = nullptr;
  for (const char* k : {"achieved_flops_per_s", "cluster_flops_per_s", "seconds", "days",
                        "gpu_hours", "cost_usd", "energy_kwh", "emissions_kg"})
    j[k] = nullptr;
  j["with_attention"] = nullptr;
  if (r.has("total_flops_with_attention"))
    j["with_attention"] = {{"total_flops", r.value("total_flops_with_attention")}};
  std::vector<std::string> notes = src.notes;
  notes.push_back("no gpu: FLOPs only; give gpu (and gpus, mfu) for time, GPU-hours, cost");
  Breakdown<double> kept;
  for (const auto& row : r.rows.rows)
    if (row.key == "total_flops" || row.key == "pflop_days" ||
        row.key == "total_flops_with_attention")
      kept.rows.push_back(row);
  j["derivations"] = derivations_json(kept);
  rep.title = fmt::format("{} ({} parameters), {} tokens", src.model.empty() ? "model" : src.model,
                          human_count(in.params), human_count(in.tokens));
  auto& s   = rep.section("Training FLOPs", {"quantity", "value"});
  for (const auto& row : kept.rows)
    s.rows.push_back(make_row(top_level(row.key) ? row.key : "", row.label, row.value, Unit::none,
                              row.derivation, {}, show(row)));
  add_notes(rep, notes);
  return rep;
}

Report time_report(const Options& o) {
  if (!has_option(o, "tokens"))
    throw InputError("missing token count", "tokens", "give the training tokens, e.g. 15T");
  const ParamsSource src = resolve_params(o);
  if (!has_option(o, "gpu")) return flops_only_report(o, src);
  const GpuSpec gpu = resolve_gpu(o);
  const Peak peak   = resolve_peak(gpu, text_option(o, "precision"));

  TrainTimeInput in;
  in.params             = src.params;
  in.tokens             = *quantity_option(o, "tokens");
  in.attention          = src.attention;
  in.gpus               = resolve_gpu_count(o);
  in.peak_flops_per_s   = peak.flops_per_s;
  in.board_power_watts  = gpu.board_power_watts;
  in.price_per_gpu_hour = quantity_option(o, "price_per_gpu_hour");
  in.grid_kg_per_kwh    = quantity_option(o, "grid_intensity");
  if (const auto v = number_option(o, "pue")) in.pue = *v;
  std::vector<std::string> notes = src.notes;
  const auto given_mfu           = mfu_option(o);
  if (given_mfu && has_option(o, "achieved_flops"))
    throw InputError("contradictory efficiency", "achieved_flops",
                     "give mfu or achieved_flops, not both");
  if (has_option(o, "achieved_flops")) {
    in.achieved_flops_per_s = *quantity_option(o, "achieved_flops");
  } else if (given_mfu) {
    in.mfu = *given_mfu;
  } else {
    notes.push_back(
        fmt::format("MFU {} assumed (default); set mfu or achieved_flops", kDefaultMfu));
  }
  if (!gpu.board_power_watts)
    notes.push_back("energy omitted: no published board power (gpu custom with gpu_power)");
  else if (!has_option(o, "pue"))
    notes.push_back("energy counts GPU board power only (PUE 1.0); set pue for facility overhead");
  const TrainTimeReport r = train_time(in);

  Report rep;
  auto& j     = rep.data;
  j["model"]  = src.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.model);
  j["params"] = in.params;
  j["tokens"] = in.tokens;
  j["gpu"]    = {{"name", gpu.name},
                 {"precision", peak.precision},
                 {"peak_dtype", peak.dtype},
                 {"peak_flops_per_s", peak.flops_per_s}};
  j["gpus"]   = in.gpus;
  j["mfu"]    = r.mfu;
  j["pue"]    = in.pue;
  for (const char* k :
       {"total_flops", "achieved_flops_per_s", "cluster_flops_per_s", "seconds", "days",
        "gpu_hours", "pflop_days", "cost_usd", "energy_kwh", "emissions_kg"})
    j[k] = nullptr;
  j["with_attention"] = nullptr;
  if (r.has("total_flops_with_attention"))
    j["with_attention"] = {{"total_flops", r.value("total_flops_with_attention")},
                           {"seconds", r.value("seconds_with_attention")},
                           {"days", r.value("days_with_attention")},
                           {"attention_shape",
                            {{"n_layer", in.attention->n_layer},
                             {"n_head", in.attention->n_head},
                             {"head_dim", in.attention->head_dim},
                             {"seq_len", in.attention->seq_len}}}};
  j["derivations"] = derivations_json(r.rows);

  rep.title = fmt::format(
      "{} ({} parameters), {} tokens on {} x {} ({} dense peak {:g} TFLOP/s), MFU {:.3g}",
      src.model.empty() ? "model" : src.model, human_count(in.params), human_count(in.tokens),
      in.gpus, gpu.name, peak.dtype, peak.flops_per_s / 1e12, r.mfu);
  auto& s = rep.section("Training time, cost and energy", {"quantity", "value"});
  for (const auto& row : r.rows.rows)
    s.rows.push_back(make_row(top_level(row.key) ? row.key : "", row.label, row.value, Unit::none,
                              row.derivation, {}, show(row)));
  add_notes(rep, notes);
  return rep;
}

}  // namespace

CommandSpec time_command() {
  using K      = OptionKind;
  auto options = params_source_options("sequence length T (enables the attention term)");
  for (auto& spec : std::vector<OptionSpec>{
           {"tokens", K::quantity, "training tokens D", "", {}, "", false},
           mfu_spec(),
           {"achieved_flops", K::quantity, "measured FLOP/s per GPU, e.g. 400T", "", {}, "", false},
           {"price_per_gpu_hour", K::quantity, "USD per GPU-hour", "", {}, "", false},
           {"pue",
            K::number,
            "power usage effectiveness (default 1.0: GPUs only)",
            "",
            {},
            "",
            false},
           {"grid_intensity", K::quantity, "kgCO2e per kWh", "", {}, "", false}})
    options.push_back(std::move(spec));
  return {"time", "training time, GPU-hours, cost and energy (C = 6ND)", std::move(options),
          time_report};
}

}  // namespace sizeup::cmd
