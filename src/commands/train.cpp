// sizeup train MODEL: training / fine-tuning memory of the most loaded GPU, FLOPs per step,
// step time, and the seed documents' heuristics beside the detailed count.
#include <fmt/format.h>

#include <sstream>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/finetune.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/json.hpp"
#include "sizeup/params.hpp"
#include "sizeup/plan.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/step_time.hpp"
#include "sizeup/towers.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

std::string gib(ByteCount b) { return fmt::format("{:.2f} GiB", to_gib(b)); }

// Where the seed heuristics differ from the detailed count, in words.
std::vector<std::string> heuristic_differences(const TrainMemoryReport& r, const TrainInput& in) {
  std::vector<std::string> d;
  const auto& R = r.recipe;
  if (R.master_bytes > 0)
    d.push_back(
        "the 354M worked example has no fp32 master copy (4 bytes/param); sizeup counts it, as "
        "Transformer Math 101 does inside its 12 bytes/param of optimizer memory");
  if (R.gradient_bytes != 2)
    d.push_back(
        fmt::format("both documents store 2-byte gradients; this run stores {}-byte gradients "
                    "(grad-dtype bf16 for 2)",
                    R.gradient_bytes));
  d.push_back(
      "the 354M worked example's activations are alpha·B·L·d·2 per layer with alpha = 5 guessed; "
      "sizeup "
      "lists every saved tensor (attention, MLP, norms, dropout masks, logits, loss)");
  if (in.activation.attention == AttentionImpl::flash)
    d.push_back(
        "Transformer Math 101's 5·a·s/h term is the eager attention score/softmax/dropout storage; "
        "flash attention keeps none of it (attention eager to include it)");
  d.push_back(
      "the documents count no logits/loss buffers, communication buffers or runtime overhead "
      "(the 354M worked example adds a guessed 1-2 GB 'overhead')");
  d.push_back(
      "the 354M worked example prints GiB values labelled GB (1,417,347,072 bytes = 1.32 GiB = "
      "1.42 GB)");
  return d;
}

// FLOPs of one optimizer step, whole cluster. Full training: 3 x the forward matmul FLOPs
// (flops.hpp). Fine-tuning skips the weight gradients of frozen weights (and, below the lowest
// trained layer, the whole backward) and adds LoRA's adapters (finetune.hpp). Recomputation
// adds hardware FLOPs only. Every total is tokens x a per-token figure, so they agree.
struct StepFlops {
  double tokens              = 0;  // global batch x seq
  double per_token           = 0;  // model FLOPs per token (what MFU counts)
  double recompute_per_token = 0;
  double per_step            = 0;  // per_token x tokens
  double hardware_per_step   = 0;  // (per_token + recompute_per_token) x tokens
  Breakdown<FlopCount> finetune;   // per-token rows when fine-tuning
  std::string source;
};

StepFlops step_flops(const ModelSpec& m, const TrainInput& in, const TrainMemoryReport& r,
                     std::int64_t global) {
  FlopsInput fi;
  fi.seq_len           = in.workload.seq_len;
  fi.batch             = global;
  fi.recompute         = in.activation.recompute;
  const FlopsReport fr = flops(m, fi);
  StepFlops s;
  s.tokens              = static_cast<double>(global) * static_cast<double>(in.workload.seq_len);
  s.per_token           = fr.training_per_token;
  s.recompute_per_token = fr.recompute_per_token;
  s.source              = "flops.hpp (3 x forward matmul FLOPs)";
  if (in.finetune.mode != Finetune::full) {
    FinetuneFlopsInput ff;
    ff.mode                      = in.finetune.mode;
    ff.frozen_layers             = in.finetune.frozen_layers;
    ff.head_trainable            = !m.tied_head;
    ff.adapter_forward_per_token = adapter_forward_flops_per_token(m, r.adapters);
    s.finetune                   = finetune_flops_per_token(m, fr, ff);
    s.per_token                  = s.finetune.find("training")->value;
    s.source                     = "finetune.hpp finetune_flops_per_token";
  }
  s.per_step          = s.per_token * s.tokens;
  s.hardware_per_step = (s.per_token + s.recompute_per_token) * s.tokens;
  // Images: the tower and projector run forward for each image; trained, their backward costs
  // twice the forward; frozen, forward only (no gradient reaches the pixels). towers.hpp.
  if (in.images > 0) {
    const double tower = static_cast<double>(global) * static_cast<double>(in.images) *
                         image_cost(m, in.image_size).tower_flops * (in.freeze_towers ? 1.0 : 3.0);
    s.per_step += tower;
    s.hardware_per_step += tower;
    s.source += in.freeze_towers ? "; + vision tower forward per image (frozen)"
                                 : "; + 3 x vision tower forward per image";
  }
  return s;
}

const char* finetune_name(Finetune f) {
  switch (f) {
    case Finetune::full:
      return "full";
    case Finetune::freeze:
      return "freeze";
    case Finetune::lora:
      return "lora";
    case Finetune::qlora:
      return "qlora";
  }
  return "full";
}

// Whether the accelerator has the figures the step-time model reads (perf_model.hpp): catalog
// GPUs do; a custom one has them when given.
bool has_step_figures(const GpuSpec& g) {
  return g.memory_bandwidth_bytes_per_s > 0 && g.intra_node_bandwidth_bytes_per_s > 0 &&
         g.inter_node_bandwidth_bytes_per_s > 0;
}

Report train_report(const Options& o) {
  const ModelSpec m = resolve_model(o);
  const GpuSpec gpu = resolve_gpu(o, "h100-sxm");
  memory_for_fit(gpu);
  std::vector<std::string> notes;
  const TrainInput in        = train_input(o, m, gpu, notes);
  const ActivationReport act = activation_memory(m, activation_input(in));
  const TrainMemoryReport r  = train_memory(m, in, act);
  const ParamsReport pr      = count_params(m);
  for (const auto& n : r.notes) notes.push_back(n);

  const std::int64_t global = r.micro_batches * in.workload.micro_batch * in.plan.dp;
  const StepFlops sf        = step_flops(m, in, r, global);
  const Peak peak           = resolve_peak(gpu, text_option(o, "precision"));
  const auto given_mfu      = mfu_option(o);
  double mfu                = given_mfu.value_or(kDefaultMfu);
  // Step time: the step-time model (step_time.hpp) from the hardware and the layout, unless an
  // MFU is given; fine-tuning keeps the MFU path (the model times a full backward).
  std::optional<StepTimeReport> st;
  if (!given_mfu && in.finetune.mode != Finetune::full) {
    notes.push_back(fmt::format(
        "MFU {} assumed for fine-tuning (the step-time model times full training); set mfu",
        kDefaultMfu));
  } else if (!given_mfu && !has_step_figures(gpu)) {
    // A custom accelerator described by its peak and memory only: the step-time model needs
    // its memory and link bandwidths, so the time falls back to the MFU assumption.
    notes.push_back(
        fmt::format("MFU {} assumed: the step-time model needs bandwidth, intra_node_bandwidth and "
                    "inter_node_bandwidth of the custom accelerator; set them, or mfu",
                    kDefaultMfu));
  } else if (!given_mfu) {
    StepOptions so;
    so.dp_overlap = toggle_option(o, "dp_overlap").value_or(true);
    so.tp_overlap = flag_option(o, "tp_overlap");
    if (const auto sl = text_option(o, "stage_layers")) {
      std::stringstream ss(*sl);
      std::string item;
      while (std::getline(ss, item, ',')) {
        const double v = parse_quantity(item, "stage_layers");
        if (!(v >= 1 && v <= 1e6))
          throw InputError("invalid stage layers", "stage_layers", "'" + item + "' is not a count");
        so.stage_layers.push_back(static_cast<std::int64_t>(v));
      }
    }
    st  = step_time(m, in, step_device(o, gpu, r.recipe.compute_dtype), so);
    mfu = st->mfu;
  }
  const std::int64_t gpus = in.plan.gpus();
  const double step_s =
      st ? st->step_seconds : sf.per_step / (static_cast<double>(gpus) * peak.flops_per_s * mfu);
  if (in.finetune.mode != Finetune::full)
    notes.push_back(
        "fine-tuning FLOPs: frozen weights skip their weight gradients, frozen bottom layers "
        "their whole backward; LoRA adds 3 x its adapters' forward (see explain)");

  Report rep;
  auto& j       = rep.data;
  j["model"]    = m.name;
  j["params"]   = {{"total", pr.total},
                   {"trainable", r.trainable_params},
                   {"on_gpu", r.params_on_gpu},
                   {"adapter", r.adapters.empty() ? 0 : r.trainable_params}};
  j["gpu"]      = {{"name", gpu.name}, {"memory_bytes", gpu.memory_bytes}};
  j["gpus"]     = gpus;
  const auto& p = in.plan;
  j["layout"]   = {{"dp", p.dp},
                   {"tp", p.tp},
                   {"pp", p.pp},
                   {"ep", p.ep},
                   {"cp", p.cp},
                   {"zero", r.zero_stage},
                   {"shard_group", r.shard_group},
                   {"sequence_parallel", p.sequence_parallel},
                   {"schedule", p.schedule == Schedule::interleaved ? "interleaved" : "1f1b"},
                   {"interleave", p.interleave},
                   {"offload", p.offload == Offload::optimizer ? "optimizer" : "none"}};
  j["workload"] = {{"micro_batch", in.workload.micro_batch},
                   {"seq", in.workload.seq_len},
                   {"global_batch", global},
                   {"micro_batches", r.micro_batches},
                   {"in_flight_micro_batches", r.in_flight}};
  const auto& R = r.recipe;
  j["recipe"]   = {
        {"precision", to_string(in.precision)},       {"weight_bytes", R.weight_bytes},
        {"gradient_bytes", R.gradient_bytes},         {"master_bytes", R.master_bytes},
        {"optimizer_state_bytes", R.state_bytes},     {"activation_bytes", R.activation_bytes},
        {"fp8_weight_cache_bytes", R.fp8_cache_bytes}};
  j["optimizer"]       = to_string(in.optimizer);
  j["finetune"]        = {{"mode", finetune_name(in.finetune.mode)}};
  j["memory"]          = {{"fp8_weight_cache_bytes", 0},
                          {"host_bytes", r.host_bytes},
                          {"stage", r.stage},
                          {"first_stage_bytes", r.first_stage_bytes},
                          {"last_stage_bytes", r.last_stage_bytes},
                          {"limit_bytes", r.limit_bytes}};
  j["optimizer_state"] = rows_json(r.optimizer.rows);
  j["activations"]     = {{"layer_bytes", act.layer_bytes},
                          {"moe_layer_bytes", act.moe_layer_bytes},
                          {"outside_bytes", act.outside_bytes},
                          {"per_layer", rows_json(act.per_layer)},
                          {"outside_layers", rows_json(act.outside_layers)}};
  j["adapters"]        = nlohmann::json::array();
  for (const auto& a : r.adapters)
    j["adapters"].push_back({{"module", a.module},
                             {"in", a.in},
                             {"out", a.out},
                             {"experts", a.experts},
                             {"layers", a.count},
                             {"params", a.params}});
  j["derivations"] = derivations_json(r.rows);

  rep.title = fmt::format(
      "{} ({} params, {} trainable), {} x {} ({}), dp {} tp {} pp {} ep {} cp {}, ZeRO {}, "
      "micro-batch {} x {} tokens, {} + {}",
      m.name, human_count(static_cast<double>(pr.total)),
      human_count(static_cast<double>(r.trainable_params)), gpus, gpu.name, gib(gpu.memory_bytes),
      p.dp, p.tp, p.pp, p.ep, p.cp, r.zero_stage, in.workload.micro_batch, in.workload.seq_len,
      to_string(in.precision), to_string(in.optimizer));

  // Memory of the most loaded GPU: the rows, their sum, and whether it fits.
  const std::string where =
      r.stage == "all" ? std::string("per GPU") : "per GPU (" + r.stage + " pipeline stage)";
  auto& mem = rep.section(r.stage == "all"
                              ? std::string("Memory per GPU")
                              : "Memory of the most loaded GPU (" + r.stage + " pipeline stage)",
                          {where, "bytes", "GiB", "GB"});
  byte_rows(mem, "memory.", r.rows);
  mem.rows.push_back(
      byte_row("memory.total_bytes", "total", r.total_bytes, {"sum of the rows above", "", ""}));
  mem.notes.push_back(fmt::format("fits in {} x (1 - headroom {}): {}", gib(gpu.memory_bytes),
                                  in.headroom, r.fits ? "yes" : "NO"));
  if (r.host_bytes) mem.notes.push_back("host (offloaded): " + gib(r.host_bytes));
  mem.rows.push_back({"fits", "fits", r.fits, Unit::none, {}, {}, "", false});
  // Allocated / reserved / device (allocator.hpp), the affine form, the largest micro-batch and
  // the changes that make the run fit (memory_train.hpp).
  if (!r.rows.find("overhead_bytes"))
    mem.rows.push_back(byte_row("memory.overhead_bytes", "overhead (device - allocated)",
                                r.overhead_bytes, {"device - allocated", "", "allocator.hpp"}));
  mem.rows.back().in_text = false;
  for (const auto& [key, label, v] :
       {std::tuple{"memory.allocated_bytes", "allocated (tensors at the peak)", r.allocated_bytes},
        std::tuple{"memory.reserved_bytes", "reserved (caching allocator)", r.reserved_bytes},
        std::tuple{"memory.device_bytes", "device (what nvidia-smi shows)", r.device_bytes}}) {
    auto row    = byte_row(key, label, v);
    row.in_text = false;
    mem.rows.push_back(row);
  }
  mem.notes.push_back(fmt::format("allocated {}, reserved {}, device {} (what nvidia-smi shows)",
                                  gib(r.allocated_bytes), gib(r.reserved_bytes),
                                  gib(r.device_bytes)));
  const AffineMemory aff    = train_memory_affine(m, in);
  j["memory"]["affine"]     = {{"fixed_bytes", aff.fixed_bytes},
                               {"per_sequence_bytes", aff.per_sequence_bytes}};
  const std::int64_t max_mb = largest_micro_batch(m, in);
  j["max_micro_batch"]      = max_mb;
  mem.notes.push_back(fmt::format(
      "memory = {:.2f} GB + {:.2f} GB per sequence of {} tokens; largest micro-batch that fits: {}",
      to_gb(aff.fixed_bytes), to_gb(aff.per_sequence_bytes), in.workload.seq_len, max_mb));
  const auto suggestions = fit_suggestions(m, in);
  j["suggestions"]       = nlohmann::json::array();
  auto spelled           = [](const FitSuggestion& sg) {
    auto flag = [](std::string opt, const std::string& value) {
      for (auto& ch : opt)
        if (ch == '_') ch = '-';
      return "--" + opt + " " + value;
    };
    std::string text = flag(sg.option, sg.value);
    for (const auto& [opt, value] : sg.also) text += " " + flag(opt, value);
    return text;
  };
  for (const auto& sg : suggestions) {
    j["suggestions"].push_back({{"change", spelled(sg)},
                                {"option", sg.option},
                                {"value", sg.value},
                                {"description", sg.change},
                                {"total_bytes", sg.total_bytes},
                                {"fits", sg.fits}});
    mem.notes.push_back(fmt::format("to fit: {} ({}) -> {}{}", spelled(sg), sg.change,
                                    gib(sg.total_bytes), sg.fits ? "" : " (still too large)"));
  }
  j["loss"]      = to_string(in.loss);
  j["framework"] = text_option(o, "framework").value_or("none");

  auto& opt = rep.section("Optimizer state (before sharding)");
  for (const auto& row : r.optimizer.rows.rows)
    opt.rows.push_back(
        {"", row.label, row.value, Unit::count, row.derivation, {}, with_commas(row.value), false});
  auto& layer = rep.section("Activations of one layer, one micro-batch");
  for (const auto& row : act.per_layer.rows)
    layer.rows.push_back(
        {"", row.label, row.value, Unit::count, row.derivation, {}, with_commas(row.value), false});
  auto& outside = rep.section("Activations outside the layers");
  for (const auto& row : act.outside_layers.rows)
    outside.rows.push_back(
        {"", row.label, row.value, Unit::count, row.derivation, {}, with_commas(row.value), false});
  if (!sf.finetune.rows.empty()) {
    auto& ft = rep.section("Fine-tuning FLOPs per token");
    for (const auto& row : sf.finetune.rows)
      ft.rows.push_back({"", row.label, row.value, Unit::flops, row.derivation, {}, "", false});
  }

  // FLOPs and time: every total is built from the per-token figure shown beside it.
  auto& ft = rep.section("FLOPs and time");
  ft.rows.push_back({"flops.per_token",
                     "model FLOPs per token",
                     sf.per_token,
                     Unit::flops,
                     {},
                     {},
                     sci(sf.per_token),
                     false});
  ft.rows.push_back(
      {"flops.per_step",
       "FLOPs per step",
       sf.per_step,
       Unit::flops,
       {"training FLOPs per token x global batch x seq",
        fmt::format("{:.6g} x {} x {}", sf.per_token, global, in.workload.seq_len), sf.source},
       {fmt::format("({} tokens)", global * in.workload.seq_len)},
       sci(sf.per_step),
       true});
  ft.rows.push_back(
      {"flops.hardware_per_step",
       "hardware FLOPs per step (with recomputation)",
       sf.hardware_per_step,
       Unit::flops,
       {"(training + recompute FLOPs per token) x tokens",
        fmt::format("({:.6g} + {:.6g}) x {:.6g}", sf.per_token, sf.recompute_per_token, sf.tokens),
        "flops.hpp (Korthikanti et al. 2022 for recomputation)"},
       {},
       sci(sf.hardware_per_step),
       false});
  ft.rows.push_back({"time.peak_flops_per_s",
                     "peak per GPU (" + peak.dtype + ")",
                     peak.flops_per_s,
                     Unit::flop_per_s,
                     {},
                     {},
                     "",
                     true});
  ft.rows.push_back({"mfu", "MFU", mfu, Unit::none, {}, {}, fmt::format("{:g}", mfu), true});
  if (st) {
    for (const auto& x : st->rows.rows)
      ft.rows.push_back({"time." + x.key,
                         x.label,
                         x.value,
                         Unit::seconds,
                         x.derivation,
                         {},
                         fmt::format("{:.4g} s", x.value),
                         x.value > 0});
    ft.rows.push_back({"time.step_seconds",
                       "step time (step-time model)",
                       step_s,
                       Unit::seconds,
                       {"sum of the rows above", "", "step_time.hpp; docs/step-time.md"},
                       {},
                       fmt::format("{:.4g} s", step_s),
                       true});
    const std::pair<const char*, double> extra[] = {
        {"time.mfu", st->mfu},
        {"time.hfu", st->hfu},
        {"time.tokens_per_second", st->tokens_per_second},
        {"time.tokens_per_second_per_gpu", st->tokens_per_second_per_gpu},
        {"time.tflops_per_gpu", st->tflops_per_gpu},
        {"time.hardware_tflops_per_gpu", st->hardware_tflops_per_gpu}};
    for (const auto& [k, v] : extra)
      ft.rows.push_back({k, k + 5, v, Unit::none, {}, {}, fmt::format("{:.4g}", v), true});
    j["time"]["model"]        = "step-time";
    j["time"]["stage_layers"] = st->stage_layers;
    for (const auto& n : st->notes) notes.push_back(n);
  } else {
    j["time"]["model"] = "mfu";
    ft.rows.push_back(
        {"time.step_seconds",
         "step time",
         step_s,
         Unit::seconds,
         {"FLOPs per step / (gpus x peak x MFU)",
          fmt::format("{:.6g} / ({} x {:.6g} x {:g})", sf.per_step, gpus, peak.flops_per_s, mfu),
          "PaLM App. B (MFU definition)"},
         {},
         fmt::format("{:.4g} s", step_s),
         true});
  }
  if (const auto tokens = quantity_option(o, "tokens")) {
    if (!(*tokens > 0))  // as in `sizeup time`: no run trains on zero tokens
      throw InputError("invalid token count", "tokens",
                       fmt::format("must be a positive number, got {:g}", *tokens));
    const double steps = *tokens / sf.tokens;
    const double secs  = steps * step_s;
    ft.rows.push_back({"time.steps",
                       "optimizer steps",
                       steps,
                       Unit::none,
                       {"training tokens / tokens per step",
                        fmt::format("{:.6g} / {:.6g}", *tokens, sf.tokens), ""},
                       {},
                       fmt::format("{:.6g}", steps),
                       true});
    ft.rows.push_back({"time.seconds",
                       "training time",
                       secs,
                       Unit::seconds,
                       {"steps x step time", fmt::format("{:.6g} x {:.6g}", steps, step_s), ""},
                       {},
                       "",
                       true});
    ft.rows.push_back({"time.days",
                       "training days",
                       secs / kSecondsPerDay,
                       Unit::none,
                       {"seconds / 86400", fmt::format("{:.6g} / {:g}", secs, kSecondsPerDay), ""},
                       {},
                       fmt::format("{:.2f}", secs / kSecondsPerDay),
                       false});
  }

  // The seed documents' heuristics for the same run, and where they differ.
  const auto seeds = seed_heuristics(m, pr.total, in.workload.micro_batch, in.workload.seq_len);
  auto& heur       = rep.section(
            "Heuristics of the documents",
            {"document heuristic", "weights", "gradients", "optimizer", "activations", "total"});
  std::string compact = "document heuristics (totals):";
  j["heuristics"]     = nlohmann::json::array();
  for (const auto& h : seeds) {
    auto rows           = rows_json(h.rows);
    rows["total_bytes"] = h.total_bytes;
    j["heuristics"].push_back({{"source", h.source}, {"title", h.title}, {"memory", rows}});
    compact += fmt::format(" {} {};", h.title, gib(h.total_bytes));
    std::vector<std::string> cells;
    for (const auto& x : h.rows.rows) cells.push_back(gib(x.value));
    cells.push_back(gib(h.total_bytes));
    const std::string first = cells.front();
    cells.erase(cells.begin());
    heur.rows.push_back({"", h.title, nlohmann::json(), Unit::none, {}, cells, first, false});
    auto& hs = rep.section("Heuristic of " + h.title);
    for (const auto& x : h.rows.rows)
      hs.rows.push_back(
          {"", x.label, x.value, Unit::count, x.derivation, {}, with_commas(x.value), false});
    hs.rows.push_back({"",
                       "total",
                       h.total_bytes,
                       Unit::count,
                       {"sum of the rows", "", h.title},
                       {},
                       with_commas(h.total_bytes),
                       false});
  }
  const auto diffs = heuristic_differences(r, in);
  j["differences"] = diffs;
  // One compact line by default; the table, rows and differences under explain.
  rep.notes.push_back(compact.substr(0, compact.size() - 1) +
                      " (explain for their rows and differences)");
  rep.explain_intro = "Differences from the documents' heuristics:\n\n";
  for (const auto& d : diffs) rep.explain_intro += "- " + d + "\n";
  add_notes(rep, notes);
  return rep;
}

}  // namespace

CommandSpec train_command() {
  auto options = join(join(model_options(), gpu_options("h100-sxm")), train_options());
  options.push_back(mfu_spec());
  options = join(options, step_model_options());
  options.push_back({"stage_layers",
                     OptionKind::text,
                     "layers per pipeline stage for the step time, e.g. 7,8,...,8,7",
                     "Step-time model",
                     {},
                     "",
                     false});
  options.push_back(
      {"tokens", OptionKind::quantity, "training tokens (adds total time)", "", {}, "", false});
  return {"train", "training or fine-tuning memory per GPU, FLOPs per step, step time",
          std::move(options), train_report};
}

}  // namespace sizeup::cmd
