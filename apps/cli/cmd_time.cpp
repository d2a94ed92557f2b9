// sizeup time: training time, GPU-hours, PFLOP-days, cost, energy and emissions from C = 6ND
// and an assumed (or measured) MFU.
#include <fmt/format.h>

#include "common.hpp"
#include "flops_options.hpp"
#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

struct TimeOptions {
  ModelOptions model;
  GpuOptions gpu;
  std::optional<std::string> params, tokens, seq, precision, mfu, achieved, price, pue, grid;
};

std::optional<double> opt_quantity(const std::optional<std::string>& v, const char* field) {
  if (!v) return std::nullopt;
  return parse_quantity(*v, field);
}

std::string show(const Row<double>& r) {
  if (r.key == "days" || r.key == "days_with_attention") return fixed(r.value, 2);
  if (r.key == "gpu_hours") return with_commas(static_cast<std::uint64_t>(r.value + 0.5));
  if (r.key == "cost_usd") return "$" + with_commas(static_cast<std::uint64_t>(r.value + 0.5));
  if (r.key == "energy_kwh" || r.key == "emissions_kg")
    return with_commas(static_cast<std::uint64_t>(r.value + 0.5));
  if (r.key == "pflop_days") return fmt::format("{:.6g}", r.value);
  return sci(r.value);
}

// Without --gpu: what needs no accelerator, the FLOPs (6ND, and with --seq the attention term)
// and PFLOP-days; the time rows need a peak and are null.
Output flops_only(const TimeOptions& o, const ParamsSource& src) {
  TrainTimeInput in;
  in.params               = src.params;
  in.tokens               = parse_quantity(*o.tokens, "--tokens");
  in.attention            = src.attention;
  in.peak_flops_per_s     = 1;  // not reported: only the FLOPs rows are kept
  const TrainTimeReport r = train_time(in);
  Output out;
  auto& j     = out.json;
  j["model"]  = src.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.model);
  j["params"] = in.params;
  j["tokens"] = in.tokens;
  j["gpu"]    = nullptr;
  for (const char* k : {"achieved_flops_per_s", "cluster_flops_per_s", "seconds", "days",
                        "gpu_hours", "cost_usd", "energy_kwh", "emissions_kg"})
    j[k] = nullptr;
  j["total_flops"]    = r.value("total_flops");
  j["pflop_days"]     = r.value("pflop_days");
  j["with_attention"] = nullptr;
  if (r.has("total_flops_with_attention"))
    j["with_attention"] = {{"total_flops", r.value("total_flops_with_attention")}};
  std::vector<std::string> notes = src.notes;
  notes.push_back("no --gpu: FLOPs only; give --gpu (and --gpus, --mfu) for time, GPU-hours, cost");
  j["notes"] = notes;
  Breakdown<double> kept;
  for (const auto& row : r.rows.rows)
    if (row.key == "total_flops" || row.key == "pflop_days" ||
        row.key == "total_flops_with_attention")
      kept.rows.push_back(row);
  j["derivations"]                           = derivations_json(kept);
  std::vector<std::vector<std::string>> rows = {{"quantity", "value"}};
  for (const auto& row : kept.rows) rows.push_back({row.label, show(row)});
  out.text =
      fmt::format("{} ({} parameters), {} tokens\n\n", src.model.empty() ? "model" : src.model,
                  human_count(in.params), human_count(in.tokens)) +
      table(rows);
  for (const auto& n : notes) out.text += "note: " + n + "\n";
  out.explain = explain_rows<double>("Training FLOPs", kept,
                                     [](const double& v) { return fmt::format("{:.6g}", v); });
  return out;
}

Output time_output(const TimeOptions& o) {
  if (!o.tokens) throw InputError("missing token count", "--tokens", "give --tokens, e.g. 15T");
  const ParamsSource src = resolve_params(o.model, o.params, o.seq);
  if (!o.gpu.gpu) return flops_only(o, src);
  const GpuSpec gpu = resolve_gpu(o.gpu);
  const Peak peak   = resolve_peak(gpu, o.precision);

  TrainTimeInput in;
  in.params             = src.params;
  in.tokens             = parse_quantity(*o.tokens, "--tokens");
  in.attention          = src.attention;
  in.gpus               = resolve_gpu_count(o.gpu);
  in.peak_flops_per_s   = peak.flops_per_s;
  in.board_power_watts  = gpu.board_power_watts;
  in.price_per_gpu_hour = opt_quantity(o.price, "--price-per-gpu-hour");
  in.grid_kg_per_kwh    = opt_quantity(o.grid, "--grid-intensity");
  if (o.pue) in.pue = parse_quantity(*o.pue, "--pue");
  std::vector<std::string> notes = src.notes;
  if (o.mfu && o.achieved)
    throw InputError("contradictory efficiency", "--achieved-flops",
                     "give --mfu or --achieved-flops");
  if (o.achieved) {
    in.achieved_flops_per_s = parse_quantity(*o.achieved, "--achieved-flops");
  } else if (o.mfu) {
    in.mfu = parse_mfu(*o.mfu);
  } else {
    notes.push_back(
        fmt::format("MFU {} assumed (default); pass --mfu or --achieved-flops", kDefaultMfu));
  }
  if (!gpu.board_power_watts)
    notes.push_back("energy omitted: no published board power (--gpu custom --gpu-power W)");
  else if (!o.pue)
    notes.push_back(
        "energy counts GPU board power only (PUE 1.0); pass --pue for facility overhead");
  const TrainTimeReport r = train_time(in);

  Output out;
  auto& j     = out.json;
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
    j[k] = r.has(k) ? nlohmann::json(r.value(k)) : nlohmann::json(nullptr);
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
  j["notes"]       = notes;
  j["derivations"] = derivations_json(r.rows);

  std::vector<std::vector<std::string>> rows = {{"quantity", "value"}};
  for (const auto& row : r.rows.rows) rows.push_back({row.label, show(row)});
  out.text =
      fmt::format("{} ({} parameters), {} tokens on {} x {} ({} dense peak {} TFLOP/s), MFU {}\n\n",
                  src.model.empty() ? "model" : src.model, human_count(in.params),
                  human_count(in.tokens), in.gpus, gpu.name, peak.dtype,
                  fmt::format("{:g}", peak.flops_per_s / 1e12), fmt::format("{:.3g}", r.mfu)) +
      table(rows);
  for (const auto& n : notes) out.text += "note: " + n + "\n";
  out.explain = explain_rows<double>("Training time, cost and energy", r.rows,
                                     [](const double& v) { return fmt::format("{:.6g}", v); });
  return out;
}

}  // namespace

Action register_time(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("time", "training time, GPU-hours, cost and energy (C = 6ND)");
  auto o    = std::make_shared<TimeOptions>();
  add_model_options(app, o->model, false);
  add_gpu_options(app, o->gpu);
  add_quantity(app, "--params", o->params, "parameter count N instead of a MODEL");
  add_quantity(app, "--tokens", o->tokens, "training tokens D");
  add_quantity(app, "--seq", o->seq, "sequence length T (enables the attention term)");
  app->add_option("--precision", o->precision,
                  "recipe whose compute format sets the peak (default bf16)");
  add_quantity(app, "--mfu", o->mfu, "model FLOPs utilisation in (0, 1] (default 0.4)");
  add_quantity(app, "--achieved-flops", o->achieved, "measured FLOP/s per GPU, e.g. 400T");
  add_quantity(app, "--price-per-gpu-hour", o->price, "USD per GPU-hour");
  add_quantity(app, "--pue", o->pue, "power usage effectiveness (default 1.0: GPUs only)");
  add_quantity(app, "--grid-intensity", o->grid, "kgCO2e per kWh");
  return [o] { return time_output(*o); };
}

}  // namespace sizeup::cli
