// sizeup fit: the largest model (parameters) that trains or serves on G GPUs, by closed-form
// bytes per parameter; with a MODEL also the largest micro-batch by binary search on the full
// memory model.
#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/error.hpp"
#include "sizeup/fit.hpp"
#include "sizeup/json.hpp"
#include "sizeup/memory_train.hpp"
#include "sizeup/params.hpp"
#include "sizeup/quantity.hpp"
#include "train_options.hpp"

namespace sizeup::cli {
namespace {

struct FitCmd {
  ModelOptions model;
  TrainCliOptions train;
  std::optional<std::string> mode, dtype, params;
  bool no_activations = false;
};

int serving_bits(const std::string& d) {
  if (d == "fp32") return 32;
  if (d == "bf16" || d == "fp16") return 16;
  if (d == "fp8" || d == "int8") return 8;
  if (d == "int4" || d == "nf4") return 4;
  throw InputError("invalid choice", "--dtype",
                   "'" + d + "' is not one of fp32, bf16, fp16, fp8, int8, int4, nf4");
}

Output fit_output(const FitCmd& o) {
  const GpuSpec gpu = resolve_gpu(o.train.gpu, "h100-sxm");
  FitInput in;
  in.gpu_memory_bytes    = gpu.memory_bytes;
  in.gpus                = resolve_gpu_count(o.train.gpu, 1);
  const std::string mode = o.mode.value_or("train");
  if (mode != "train" && mode != "infer")
    throw InputError("invalid choice", "--mode", "'" + mode + "' is not one of train, infer");
  in.infer = mode == "infer";
  if (o.train.precision) in.precision = parse_precision(*o.train.precision);
  if (o.train.grad_dtype) {
    if (*o.train.grad_dtype == "fp32")
      in.grad_bytes = 4;
    else if (*o.train.grad_dtype == "bf16" || *o.train.grad_dtype == "fp16")
      in.grad_bytes = 2;
    else
      throw InputError("invalid choice", "--grad-dtype", "must be fp32 or bf16");
  }
  if (o.train.optimizer) in.optimizer = parse_optimizer(*o.train.optimizer);
  in.zero     = static_cast<int>(int_option(o.train.zero, "--zero", 3, 0, 3));
  bool hybrid = false;
  if (o.train.fsdp) {  // FSDP's sharding strategies are ZeRO stages over the GPUs given
    if (o.train.zero)
      throw InputError("contradictory sharding", "--fsdp", "give --fsdp or --zero, not both");
    switch (parse_fsdp(*o.train.fsdp)) {
      case FsdpMode::full:
        in.zero = 3;
        break;
      case FsdpMode::grad_op:
        in.zero = 2;
        break;
      case FsdpMode::none:
        in.zero = 0;
        break;
      case FsdpMode::hybrid:
        in.zero = 3;  // every node holds a whole replica, fully sharded over its GPUs
        hybrid  = true;
        break;
    }
  }
  if (o.dtype) in.infer_weight_bits = serving_bits(*o.dtype);
  std::vector<std::string> notes;
  if (hybrid) {
    const std::int64_t node = gpu.gpus_per_node;  // resolve_gpu applied --gpus-per-node
    if (node < in.gpus) {
      notes.push_back(fmt::format(
          "hybrid sharding: each node of {} GPUs holds a whole replica (ZeRO-3 within the node), "
          "so the largest model is the one that fits on {} GPUs",
          node, node));
      in.gpus = node;
    }
  }

  Output out;
  auto& j               = out.json;
  const bool with_model = !o.model.model.empty() || o.model.any_shape_flag();
  std::optional<ModelSpec> m;
  std::optional<TrainInput> tin;
  ByteCount reserved = 0;
  if (with_model && !in.infer) {
    m = resolve_model(o.model);
    // Run the model's layout with the given options; gpus default to one replica per GPU.
    TrainCliOptions t = o.train;
    // Fine-tuning with adapters runs on one replica: its default is no sharding.
    const bool adapters = t.finetune && (*t.finetune == "lora" || *t.finetune == "qlora");
    if (adapters && !t.zero && !t.fsdp) in.zero = 0;
    if (!t.zero && !t.fsdp) t.zero = std::to_string(in.zero);
    tin = train_input(t, *m, gpu, notes);
    if (!o.no_activations) {
      const auto act = activation_memory(*m, activation_input(*tin));
      const auto r   = train_memory(*m, *tin, act);
      // The per-GPU bytes that do not scale with the parameter count: activations, logits and
      // loss, the backward peak, buffers, and what the allocator and CUDA context add.
      reserved = r.rows.find("activations_bytes")->value + r.rows.find("logits_bytes")->value +
                 r.rows.find("backward_peak_bytes")->value +
                 r.rows.find("communication_bytes")->value + r.overhead_bytes;
      notes.push_back(
          fmt::format("max_params reserves the activations, logits, buffers and overhead of {} at "
                      "micro-batch {} x {} tokens ({} bytes per GPU)",
                      m->name, tin->workload.micro_batch, tin->workload.seq_len, reserved));
    }
  } else if (with_model && in.infer) {
    notes.push_back("MODEL is not used with --mode infer (weights only); see `sizeup infer MODEL`");
  } else if (!o.no_activations) {
    notes.push_back(in.infer
                        ? "weights only: KV cache and activations excluded (see `sizeup infer`)"
                        : "activations excluded: give a MODEL (with --micro-batch, --seq) to "
                          "reserve them");
  }
  if (!with_model || in.infer) {  // the layout and workload only shape a model's activations
    const auto& t = o.train;
    std::string unused;
    for (const auto& [given, flag] : std::initializer_list<std::pair<bool, const char*>>{
             {t.batch.has_value(), "--batch"},
             {t.micro_batch.has_value(), "--micro-batch"},
             {t.global_batch.has_value(), "--global-batch"},
             {t.seq.has_value(), "--seq"},
             {t.dp.has_value(), "--dp"},
             {t.tp.has_value(), "--tp"},
             {t.pp.has_value(), "--pp"},
             {t.ep.has_value(), "--ep"},
             {t.cp.has_value(), "--cp"},
             {t.recompute.has_value(), "--recompute"},
             {t.attention.has_value(), "--attention"},
             {t.finetune.has_value(), "--finetune"}})
      if (given) unused += (unused.empty() ? "" : ", ") + std::string(flag);
    if (!unused.empty())
      notes.push_back(fmt::format("{} not used: {}", unused,
                                  in.infer ? "--mode infer counts weights only"
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
        fmt::format("--finetune {}: bytes per parameter are this run's (ZeRO {}), "
                    "not the full-training recipe",
                    *o.train.finetune, tin->plan.zero));
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
  j["bytes_per_param"]           = rows_json(r.bytes_per_param);
  j["max_params"]                = r.max_params;
  j["max_params_no_activations"] = r0.max_params;
  j["reserved_bytes_per_gpu"]    = reserved;
  j["readings"]                  = {
                       {{"memory", "binary (GiB, as the catalog lists it)"},
                        {"memory_bytes_per_gpu", gpu.memory_bytes},
                        {"max_params", r.max_params}},
                       {{"memory", "the same number read as decimal GB"},
                        {"memory_bytes_per_gpu",
                         static_cast<ByteCount>(static_cast<double>(gpu.memory_bytes) / kBytesPerGiB * kBytesPerGB)},
                        {"max_params", r.max_params_decimal_reading}}};
  j["derivation"] = to_json(r.derivation);

  out.text =
      fmt::format("{} on {} x {} ({:.0f} GiB = {} bytes each), {}{}\n\n", mode, in.gpus, gpu.name,
                  to_gib(gpu.memory_bytes), with_commas(gpu.memory_bytes), to_string(in.precision),
                  in.infer ? "" : fmt::format(" + {}, ZeRO {}", to_string(in.optimizer), in.zero));
  std::vector<std::vector<std::string>> rows = {{"bytes per parameter", "bytes"}};
  for (const auto& x : r.bytes_per_param.rows)
    rows.push_back({x.label, fmt::format("{:g}", x.value)});
  out.text += table(rows);
  out.text += fmt::format(
      "largest model: {} parameters ({}) reading memory as GiB; {} ({}) "
      "reading the same number as decimal GB\n",
      with_commas(r.max_params), human_count(static_cast<double>(r.max_params)),
      with_commas(r.max_params_decimal_reading),
      human_count(static_cast<double>(r.max_params_decimal_reading)));

  if (m && tin) {
    // Largest micro-batch for the given model with the full memory model.
    const TrainInput base = *tin;
    auto fits_at          = [&](std::int64_t b) {
      TrainInput t            = base;
      t.workload.micro_batch  = b;
      t.workload.global_batch = 0;
      return train_memory(*m, t, activation_memory(*m, activation_input(t))).fits;
    };
    const std::int64_t best = largest_fitting(1 << 20, fits_at);
    j["model"]              = m->name;
    j["model_params"]       = count_params(*m).total;
    j["max_micro_batch"]    = best;
    out.text += fmt::format("{}: largest micro-batch that fits at {} tokens: {}\n", m->name,
                            base.workload.seq_len, best);
  }
  if (o.params) {
    if (with_model)
      throw InputError("contradictory model", "--params", "give a MODEL or --params, not both");
    const double n = parse_quantity(*o.params, "--params");
    if (!(n >= 1 && n <= 1e15))
      throw InputError("invalid parameter count", "--params", "must be between 1 and 1e15");
    const std::int64_t g = min_gpus(in, n);
    j["params"]          = n;
    j["fits"]            = static_cast<double>(r.max_params) >= n;
    j["min_gpus"]        = g > 0 ? nlohmann::json(g) : nlohmann::json(nullptr);
    out.text +=
        fmt::format("{} parameters: {} on {} GPUs; fewest GPUs that hold them: {}\n",
                    human_count(n), static_cast<double>(r.max_params) >= n ? "fit" : "do not fit",
                    in.gpus, g > 0 ? std::to_string(g) : "none (this ZeRO stage)");
  }
  j["notes"] = notes;
  for (const auto& n : notes) out.text += "note: " + n + "\n";
  out.explain = explain_rows<double>("Bytes per parameter", r.bytes_per_param,
                                     [](const double& v) { return fmt::format("{:g}", v); }) +
                explain_row("max_params", r.derivation, with_commas(r.max_params)) +
                explain_row("max_params, memory read as decimal GB", {"same formula", "", ""},
                            with_commas(r.max_params_decimal_reading));
  return out;
}

}  // namespace

Action register_fit(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("fit", "largest model (parameters) that trains or serves");
  auto o    = std::make_shared<FitCmd>();
  add_model_options(app, o->model, false);
  add_train_options(app, o->train);
  app->add_option("--mode", o->mode, "train (default) or infer");
  app->add_option("--dtype", o->dtype, "serving weight format for --mode infer (default bf16)");
  add_quantity(app, "--params", o->params,
               "a parameter count: does it fit, and on how few GPUs (instead of a MODEL)");
  app->add_flag("--no-activations", o->no_activations,
                "count weights, gradients and optimizer states only");
  return [o] { return fit_output(*o); };
}

}  // namespace sizeup::cli
