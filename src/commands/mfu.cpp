// sizeup mfu: model and hardware FLOPs utilisation from a measured throughput
// (PaLM Appendix B; Korthikanti et al. 2022 for HFU with recomputation).
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"

namespace sizeup::cmd {
namespace {

// Cluster tokens/s from tokens_per_second (total, or per GPU with per_gpu) or from
// step_seconds with global_batch and seq.
Row<double> throughput(const Options& o, std::int64_t gpus) {
  const bool per_gpu = flag_option(o, "per_gpu");
  if (has_option(o, "tokens_per_second") && has_option(o, "step_seconds"))
    throw InputError("contradictory throughput", "step_seconds",
                     "give tokens_per_second or step_seconds, not both");
  if (has_option(o, "tokens_per_second")) {
    const double v = *quantity_option(o, "tokens_per_second");
    if (!(v > 0)) throw InputError("invalid throughput", "tokens_per_second", "must be positive");
    if (!per_gpu)
      return {"tokens_per_second",
              "tokens per second (cluster)",
              v,
              {"given", fmt::format("{:g}", v), "measured (tokens_per_second)"}};
    return {"tokens_per_second",
            "tokens per second (cluster)",
            v * static_cast<double>(gpus),
            {"tokens/s per GPU * G", fmt::format("{:g} * {}", v, gpus),
             "measured per GPU (tokens_per_second, per_gpu)"}};
  }
  if (!has_option(o, "step_seconds"))
    throw InputError("missing throughput", "tokens_per_second",
                     "give tokens_per_second, or step_seconds with global_batch and seq");
  if (per_gpu) throw InputError("invalid option", "per_gpu", "applies to tokens_per_second only");
  if (!has_option(o, "global_batch") || !has_option(o, "seq"))
    throw InputError("missing step shape", has_option(o, "global_batch") ? "seq" : "global_batch",
                     "step_seconds needs global_batch (sequences per step) and seq");
  return tokens_per_second_from_step(*count_option(o, "global_batch"), *count_option(o, "seq"),
                                     *quantity_option(o, "step_seconds"));
}

Report mfu_report(const Options& o) {
  const ParamsSource src = resolve_params(o);
  const GpuSpec gpu      = resolve_gpu(o);
  const Peak peak        = resolve_peak(gpu, text_option(o, "precision"));
  MfuInput in;
  in.params    = src.params;
  in.attention = src.attention;
  if (const auto v = text_option(o, "recompute")) in.recompute = parse_recompute(*v, "recompute");
  in.gpus               = resolve_gpu_count(o);
  in.peak_flops_per_s   = peak.flops_per_s;
  const Row<double> tps = throughput(o, in.gpus);
  in.tokens_per_second  = tps.value;
  if (has_option(o, "step_seconds")) in.throughput_field = "step_seconds";
  const MfuReport r = mfu(in);

  Report rep;
  auto& j     = rep.data;
  j["model"]  = src.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.model);
  j["params"] = in.params;
  j["gpu"]    = {
         {"name", gpu.name}, {"peak_dtype", peak.dtype}, {"peak_flops_per_s", peak.flops_per_s}};
  j["gpus"]                     = in.gpus;
  j["recompute"]                = to_string(in.recompute);
  j["model_flops_per_token"]    = r.per_token.find("model")->value;
  j["hardware_flops_per_token"] = r.per_token.find("hardware")->value;
  j["per_token"]                = rows_json(r.per_token);
  j["derivations"]              = derivations_json(r.rows);

  rep.title =
      fmt::format("{} ({} parameters) on {} x {} ({} dense peak {:g} TFLOP/s), recompute {}",
                  src.model.empty() ? "model" : src.model, human_count(in.params), in.gpus,
                  gpu.name, peak.dtype, peak.flops_per_s / 1e12, to_string(in.recompute));
  auto& t = rep.section("Throughput");
  t.rows.push_back(make_row("tokens_per_second", tps.label, tps.value, Unit::none, tps.derivation,
                            {}, fmt::format("{:.6g}", tps.value)));
  auto& f = rep.section("FLOPs per token");
  for (const auto& row : r.per_token.rows)
    f.rows.push_back(
        make_row("", row.label, row.value, Unit::none, row.derivation, {}, sci(row.value)));
  auto& u = rep.section("Utilisation");
  for (const auto& row : r.rows.rows) {
    if (row.key == "tokens_per_second") continue;  // shown under Throughput
    std::string shown = fmt::format("{:.6g}", row.value), label = row.label;
    if (row.key == "mfu" || row.key == "hfu") shown = fmt::format("{:.2f}%", 100 * row.value);
    if (row.key.find("flops_per_s") != std::string::npos) {
      shown = fmt::format("{:.1f}", row.value / 1e12);
      label = row.key.rfind("model", 0) == 0 ? "model TFLOP/s per GPU" : "hardware TFLOP/s per GPU";
    }
    u.rows.push_back(make_row(row.key, label, row.value, Unit::none, row.derivation, {}, shown));
  }
  add_notes(rep, src.notes);
  return rep;
}

}  // namespace

CommandSpec mfu_command() {
  using K      = OptionKind;
  auto options = params_source_options("sequence length T (attention term; step tokens)");
  for (auto& spec : std::vector<OptionSpec>{
           {"tokens_per_second",
            K::quantity,
            "measured tokens/s (cluster total)",
            "",
            {},
            "",
            false},
           {"per_gpu", K::flag, "tokens_per_second is per GPU", "", {}, "", false},
           {"step_seconds", K::quantity, "measured seconds per optimizer step", "", {}, "", false},
           {"global_batch", K::count, "sequences per optimizer step", "", {}, "", false},
           {"recompute", K::text, "none, selective or full (for HFU)", "", {}, "", false}})
    options.push_back(std::move(spec));
  return {"mfu", "MFU and HFU from measured throughput", std::move(options), mfu_report};
}

}  // namespace sizeup::cmd
