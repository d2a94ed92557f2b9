// sizeup fit: the largest model (parameters) that trains or serves on G GPUs, by closed-form
// bytes per parameter; with a MODEL also the largest micro-batch by binary search on the full
// memory model (fit.hpp, memory_train.hpp).
#include "sizeup/fit.hpp"

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/params.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

// Bits per weight of a serving format (the number-format table; no quantisation scales).
int serving_bits(const std::string& d) {
  return format_bits(d, "dtype", {"fp32", "bf16", "fp16", "fp8", "int8", "int4", "nf4"});
}

bool model_given(const Options& o) {
  for (const auto& spec : model_options())
    if (has_option(o, spec.name)) return true;
  return false;
}

Report fit_report(const Options& o) {
  const GpuSpec gpu = resolve_gpu(o, "h100-sxm");
  FitInput in;
  in.gpu_memory_bytes    = memory_for_fit(gpu);
  in.gpus                = resolve_gpu_count(o, 1);
  const std::string mode = text_option(o, "mode").value_or("train");
  in.infer               = mode == "infer";
  if (const auto v = text_option(o, "precision")) in.precision = parse_precision(*v, "precision");
  in.grad_bytes = grad_bytes_option(o);
  if (const auto v = text_option(o, "optimizer")) in.optimizer = parse_optimizer(*v, "optimizer");
  // Sharding: ZeRO 3 by default; FSDP strategies map to ZeRO stages as in train's memory model.
  ParallelPlan plan;
  plan.zero = static_cast<int>(int_option(o, "zero", 3, 0, 3));
  if (const auto v = text_option(o, "fsdp")) {
    if (has_option(o, "zero"))
      throw InputError("contradictory sharding", "fsdp", "give fsdp or zero, not both");
    plan.fsdp = parse_fsdp(*v, "fsdp");
    plan.zero = 0;
  }
  in.zero           = effective_zero(plan);
  const bool hybrid = plan.fsdp == FsdpMode::hybrid;
  if (const auto v = text_option(o, "dtype")) in.infer_weight_bits = serving_bits(*v);
  std::vector<std::string> notes;
  if (hybrid && gpu.gpus_per_node < in.gpus) {
    notes.push_back(fmt::format(
        "hybrid sharding: each node of {} GPUs holds a whole replica (ZeRO-3 within the node), "
        "so the largest model is the one that fits on {} GPUs",
        gpu.gpus_per_node, gpu.gpus_per_node));
    in.gpus = gpu.gpus_per_node;
  }

  Report rep;
  auto& j               = rep.data;
  const bool with_model = model_given(o) && !has_option(o, "params");
  std::optional<ModelSpec> m;
  std::optional<TrainInput> tin;
  ByteCount reserved = 0;
  if (model_given(o) && has_option(o, "params"))
    throw InputError("contradictory model", "params", "give a MODEL or params, not both");
  if (with_model && !in.infer) {
    m = resolve_model(o);
    // The model's layout with the given options; the sharding is the fit's (ZeRO 3 default).
    Options t = o;
    // Fine-tuning with adapters runs on one replica: its default is no sharding.
    const auto ft = text_option(o, "finetune");
    if (ft && (*ft == "lora" || *ft == "qlora") && !has_option(o, "zero") && !has_option(o, "fsdp"))
      in.zero = 0;
    if (!has_option(t, "zero") && !has_option(t, "fsdp")) t["zero"] = in.zero;
    tin = train_input(t, *m, gpu, notes);
    if (!flag_option(o, "no_activations")) {
      const auto r = train_memory(*m, *tin, activation_memory(*m, activation_input(*tin)));
      // The per-GPU bytes that do not scale with the parameter count: activations, logits and
      // loss, the backward peak, buffers, and what the allocator and CUDA context add.
      for (const char* k :
           {"activations_bytes", "logits_bytes", "backward_peak_bytes", "communication_bytes"})
        reserved += r.rows.find(k)->value;
      reserved += r.overhead_bytes;
      notes.push_back(
          fmt::format("max_params reserves the activations, logits, buffers and overhead of {} at "
                      "micro-batch {} x {} tokens ({} bytes per GPU)",
                      m->name, tin->workload.micro_batch, tin->workload.seq_len, reserved));
    }
  } else if (with_model && in.infer) {
    notes.push_back("MODEL is not used with mode infer (weights only); see `sizeup infer MODEL`");
  } else if (!flag_option(o, "no_activations")) {
    notes.push_back(in.infer
                        ? "weights only: KV cache and activations excluded (see `sizeup infer`)"
                        : "activations excluded: give a MODEL (with micro_batch, seq) to "
                          "reserve them");
  }
  if (!with_model || in.infer) {  // the layout and workload only shape a model's activations
    std::string unused;
    for (const auto& name : given_workload_options(o))
      unused += (unused.empty() ? "" : ", ") + name;
    if (!unused.empty())
      notes.push_back(fmt::format("{} not used: {}", unused,
                                  in.infer ? "mode infer counts weights only"
                                           : "they shape a MODEL's activations; give a MODEL"));
  }
  in.reserved_bytes = reserved;
  FitReport r       = fit_params(in);
  if (m && tin && tin->finetune.mode != Finetune::full) {
    // Fine-tuning: the closed-form recipe does not apply (frozen or NF4 base, adapters); the
    // bytes per parameter are the run's own, from its memory rows over the model's parameters.
    const auto tr  = train_memory(*m, *tin);
    const double N = static_cast<double>(tr.params_total);
    auto per       = [&](const char* key) {
      const auto* x = tr.rows.find(key);
      return x ? static_cast<double>(x->value) / N : 0.0;
    };
    const std::string src  = "train_memory rows of this run / total parameters";
    r.bytes_per_param.rows = {
        {"weights", "weights (base and adapters)", per("weights_bytes"), {"", "", src}},
        {"gradients", "gradients (trainable only)", per("gradients_bytes"), {"", "", src}},
        {"master", "fp32 master weights", per("master_bytes"), {"", "", src}},
        {"optimizer", "optimizer states", per("optimizer_bytes"), {"", "", src}}};
    r.per_param_total = 0;
    for (const auto& x : r.bytes_per_param.rows) r.per_param_total += x.value;
    r.bytes_per_param.rows.push_back({"total", "total", r.per_param_total, {"", "", src}});
    notes.push_back(
        fmt::format("finetune {}: bytes per parameter are this run's (ZeRO {}), "
                    "not the full-training recipe",
                    tin->finetune.mode == Finetune::lora    ? "lora"
                    : tin->finetune.mode == Finetune::qlora ? "qlora"
                                                            : "freeze",
                    tin->plan.zero));
  }
  FitInput bare       = in;
  bare.reserved_bytes = 0;
  const FitReport r0  = fit_params(bare);

  j["mode"]      = mode;
  j["gpu"]       = {{"name", gpu.name}, {"memory_bytes", gpu.memory_bytes}};
  j["gpus"]      = in.gpus;
  j["precision"] = to_string(in.precision);
  j["optimizer"] = in.infer ? nlohmann::json(nullptr) : nlohmann::json(to_string(in.optimizer));
  j["zero"]      = in.infer ? nlohmann::json(nullptr) : nlohmann::json(in.zero);
  j["bytes_per_param"]        = rows_json(r.bytes_per_param);
  j["reserved_bytes_per_gpu"] = reserved;
  const auto decimal_memory =
      static_cast<ByteCount>(static_cast<double>(gpu.memory_bytes) / kBytesPerGiB * kBytesPerGB);
  j["readings"]   = {{{"memory", "binary (GiB, as the catalog lists it)"},
                      {"memory_bytes_per_gpu", gpu.memory_bytes},
                      {"max_params", r.max_params}},
                     {{"memory", "the same number read as decimal GB"},
                      {"memory_bytes_per_gpu", decimal_memory},
                      {"max_params", r.max_params_decimal_reading}}};
  j["derivation"] = to_json(r.derivation);

  rep.title =
      fmt::format("{} on {} x {} ({:.0f} GiB = {} bytes each), {}{}", mode, in.gpus, gpu.name,
                  to_gib(gpu.memory_bytes), with_commas(gpu.memory_bytes), to_string(in.precision),
                  in.infer ? "" : fmt::format(" + {}, ZeRO {}", to_string(in.optimizer), in.zero));
  auto& bpp = rep.section("Bytes per parameter", {"bytes per parameter", "bytes"});
  for (const auto& x : r.bytes_per_param.rows)
    bpp.rows.push_back(
        make_row("", x.label, x.value, Unit::none, x.derivation, {}, fmt::format("{:g}", x.value)));
  auto& res = rep.section("Largest model");
  res.rows.push_back(make_row(
      "max_params", "largest model, memory read as GiB", r.max_params, Unit::count, r.derivation,
      {"parameters (" + human_count(static_cast<double>(r.max_params)) + ")"}));
  res.rows.push_back(make_row(
      "", "largest model, the same number read as decimal GB", r.max_params_decimal_reading,
      Unit::count, {"same formula", "", ""},
      {"parameters (" + human_count(static_cast<double>(r.max_params_decimal_reading)) + ")"}));
  res.rows.push_back({"max_params_no_activations",
                      "largest model, nothing reserved",
                      r0.max_params,
                      Unit::count,
                      {},
                      {},
                      "",
                      reserved > 0});

  if (m && tin) {
    const std::int64_t best = largest_micro_batch(*m, *tin);
    j["model"]              = m->name;
    j["model_params"]       = count_params(*m).total;
    res.rows.push_back(make_row("max_micro_batch",
                                fmt::format("{}: largest micro-batch that fits at {} tokens",
                                            m->name, tin->workload.seq_len),
                                best, Unit::count,
                                {"largest b with train memory(b) <= GPU memory", "",
                                 "binary search on sizeup train's memory model"}));
  }
  if (has_option(o, "params")) {
    const double n = *quantity_option(o, "params");
    if (!(n >= 1 && n <= 1e15))
      throw InputError("invalid parameter count", "params", "must be between 1 and 1e15");
    const std::int64_t g = min_gpus(in, n);
    const bool fits      = static_cast<double>(r.max_params) >= n;
    j["params"]          = n;
    j["min_gpus"]        = g > 0 ? nlohmann::json(g) : nlohmann::json(nullptr);
    res.rows.push_back(make_row("fits",
                                fmt::format("{} parameters on {} GPUs", human_count(n), in.gpus),
                                fits, Unit::none, {}, {}, fits ? "fit" : "do not fit"));
    res.rows.push_back(make_row("", "fewest GPUs that hold them",
                                g > 0 ? nlohmann::json(g) : nlohmann::json(), Unit::count, {}, {},
                                g > 0 ? "" : "none (this ZeRO stage)"));
  }
  add_notes(rep, notes);
  return rep;
}

}  // namespace

CommandSpec fit_command() {
  using K      = OptionKind;
  auto options = join(join(model_options(), gpu_options("h100-sxm")), train_options());
  options.push_back(
      {"mode", K::text, "train (default) or infer", "", {"train", "infer"}, "", false});
  options.push_back(
      {"dtype", K::text, "serving weight format for mode infer (default bf16)", "", {}, "", false});
  options.push_back({"params",
                     K::quantity,
                     "a parameter count: does it fit, and on how few GPUs (instead of a MODEL)",
                     "",
                     {},
                     "",
                     false});
  options.push_back({"no_activations",
                     K::flag,
                     "count weights, gradients and optimizer states only",
                     "",
                     {},
                     "",
                     false});
  return {"fit", "largest model (parameters) that trains or serves", std::move(options),
          fit_report};
}

}  // namespace sizeup::cmd
