// sizeup mfu: model and hardware FLOPs utilisation from a measured throughput
// (PaLM Appendix B; Korthikanti et al. 2022 for HFU with recomputation).
#include <fmt/format.h>

#include "common.hpp"
#include "flops_options.hpp"
#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

struct MfuOptions {
  ModelOptions model;
  GpuOptions gpu;
  std::optional<std::string> params, seq, precision, tokens_per_second, step_seconds, global_batch,
      recompute;
  bool per_gpu = false;
};

// Cluster tokens/s from --tokens-per-second (total, or per GPU with --per-gpu) or from
// --step-seconds with --global-batch and --seq.
Row<double> throughput(const MfuOptions& o, std::int64_t gpus) {
  if (o.tokens_per_second && o.step_seconds)
    throw InputError("contradictory throughput", "--step-seconds",
                     "give --tokens-per-second or --step-seconds, not both");
  if (o.tokens_per_second) {
    const double v = parse_quantity(*o.tokens_per_second, "--tokens-per-second");
    if (!(v > 0)) throw InputError("invalid throughput", "--tokens-per-second", "must be positive");
    if (!o.per_gpu)
      return {"tokens_per_second",
              "tokens per second (cluster)",
              v,
              {"given", fmt::format("{:g}", v), "--tokens-per-second"}};
    return {"tokens_per_second",
            "tokens per second (cluster)",
            v * static_cast<double>(gpus),
            {"tokens/s per GPU * G", fmt::format("{:g} * {}", v, gpus),
             "--tokens-per-second --per-gpu"}};
  }
  if (!o.step_seconds)
    throw InputError("missing throughput", "--tokens-per-second",
                     "give --tokens-per-second, or --step-seconds with --global-batch and --seq");
  if (o.per_gpu)
    throw InputError("invalid option", "--per-gpu", "applies to --tokens-per-second only");
  if (!o.global_batch || !o.seq)
    throw InputError("missing step shape", o.global_batch ? "--seq" : "--global-batch",
                     "--step-seconds needs --global-batch (sequences per step) and --seq");
  return tokens_per_second_from_step(parse_count(*o.global_batch, "--global-batch"),
                                     parse_count(*o.seq, "--seq"),
                                     parse_quantity(*o.step_seconds, "--step-seconds"));
}

Output mfu_output(const MfuOptions& o) {
  const ParamsSource src = resolve_params(o.model, o.params, o.seq);
  const GpuSpec gpu      = resolve_gpu(o.gpu);
  const Peak peak        = resolve_peak(gpu, o.precision);
  MfuInput in;
  in.params             = src.params;
  in.attention          = src.attention;
  in.recompute          = o.recompute ? parse_recompute(*o.recompute) : Recompute::none;
  in.gpus               = resolve_gpu_count(o.gpu);
  in.peak_flops_per_s   = peak.flops_per_s;
  const Row<double> tps = throughput(o, in.gpus);
  in.tokens_per_second  = tps.value;
  if (o.step_seconds) in.throughput_field = "--step-seconds";
  const MfuReport r = mfu(in);

  Output out;
  auto& j     = out.json;
  j["model"]  = src.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.model);
  j["params"] = in.params;
  j["gpu"]    = {
         {"name", gpu.name}, {"peak_dtype", peak.dtype}, {"peak_flops_per_s", peak.flops_per_s}};
  j["gpus"]                         = in.gpus;
  j["recompute"]                    = to_string(in.recompute);
  j["tokens_per_second"]            = in.tokens_per_second;
  j["model_flops_per_token"]        = r.per_token.find("model")->value;
  j["hardware_flops_per_token"]     = r.per_token.find("hardware")->value;
  j["model_flops_per_s_per_gpu"]    = r.rows.find("model_flops_per_s_per_gpu")->value;
  j["hardware_flops_per_s_per_gpu"] = r.rows.find("hardware_flops_per_s_per_gpu")->value;
  j["mfu"]                          = r.mfu;
  j["hfu"]                          = r.hfu;
  j["notes"]                        = src.notes;
  j["per_token"]                    = rows_json(r.per_token);
  j["derivations"]                  = derivations_json(r.rows);

  std::vector<std::vector<std::string>> rows = {{"quantity", "value"}};
  rows.push_back({"tokens per second (cluster)", fmt::format("{:.6g}", in.tokens_per_second)});
  for (const auto& row : r.per_token.rows) rows.push_back({row.label, sci(row.value)});
  rows.push_back(
      {"model TFLOP/s per GPU", fixed(j["model_flops_per_s_per_gpu"].get<double>() / 1e12, 1)});
  rows.push_back({"hardware TFLOP/s per GPU",
                  fixed(j["hardware_flops_per_s_per_gpu"].get<double>() / 1e12, 1)});
  rows.push_back({"MFU", fmt::format("{:.2f}%", 100 * r.mfu)});
  rows.push_back({"HFU", fmt::format("{:.2f}%", 100 * r.hfu)});
  out.text =
      fmt::format("{} ({} parameters) on {} x {} ({} dense peak {:g} TFLOP/s), recompute {}\n\n",
                  src.model.empty() ? "model" : src.model, human_count(in.params), in.gpus,
                  gpu.name, peak.dtype, peak.flops_per_s / 1e12, to_string(in.recompute)) +
      table(rows);
  for (const auto& n : src.notes) out.text += "note: " + n + "\n";
  auto show = [](const double& v) { return fmt::format("{:.6g}", v); };
  out.explain =
      "### Throughput\n\n" + explain_row(tps.label, tps.derivation, show(tps.value)) + "\n";
  out.explain += explain_rows<double>("FLOPs per token", r.per_token, show) + "\n";
  out.explain += explain_rows<double>("Utilisation", r.rows, show);
  return out;
}

}  // namespace

Action register_mfu(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("mfu", "MFU and HFU from measured throughput");
  auto o    = std::make_shared<MfuOptions>();
  add_model_options(app, o->model, false);
  add_gpu_options(app, o->gpu);
  add_quantity(app, "--params", o->params, "parameter count N instead of a MODEL");
  add_quantity(app, "--seq", o->seq, "sequence length T (attention term; step tokens)");
  app->add_option("--precision", o->precision,
                  "recipe whose compute format sets the peak (default bf16)");
  add_quantity(app, "--tokens-per-second", o->tokens_per_second,
               "measured tokens/s (cluster total)");
  app->add_flag("--per-gpu", o->per_gpu, "--tokens-per-second is per GPU");
  add_quantity(app, "--step-seconds", o->step_seconds, "measured seconds per optimizer step");
  add_quantity(app, "--global-batch", o->global_batch, "sequences per optimizer step");
  app->add_option("--recompute", o->recompute, "none, selective or full (for HFU)");
  return [o] { return mfu_output(*o); };
}

}  // namespace sizeup::cli
