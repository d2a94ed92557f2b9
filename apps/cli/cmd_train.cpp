// sizeup train MODEL: training / fine-tuning memory of the most loaded GPU, FLOPs per step,
// step time, and the seed documents' heuristics beside the detailed count.
#include <fmt/format.h>

#include <sstream>

#include "common.hpp"
#include "flops_options.hpp"
#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"
#include "sizeup/finetune.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/json.hpp"
#include "sizeup/params.hpp"
#include "sizeup/plan.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/step_time.hpp"
#include "train_options.hpp"

namespace sizeup::cli {
namespace {

struct TrainCmd {
  ModelOptions model;
  TrainCliOptions train;
  std::optional<std::string> mfu, tokens;
  // Step-time model (plan.hpp step_device): names as in `sizeup plan`.
  std::optional<std::string> gemm_efficiency, memory_efficiency, link_efficiency,
      attention_efficiency, nvlink_domain, intra_latency, inter_latency, pcie_bandwidth,
      stage_layers;
  bool no_dp_overlap = false, tp_overlap = false;
};

std::string gib(ByteCount b) { return fmt::format("{:.2f} GiB", to_gib(b)); }
std::string gb(ByteCount b) { return fmt::format("{:.2f} GB", to_gb(b)); }

// Where the seed heuristics differ from the detailed count, in words.
std::vector<std::string> heuristic_differences(const TrainMemoryReport& r, const TrainInput& in) {
  std::vector<std::string> d;
  const auto& R = r.recipe;
  if (R.master_bytes > 0)
    d.push_back(
        "seed 002 has no fp32 master copy (4 bytes/param); sizeup counts it, as seed "
        "004 does inside its 12 bytes/param of optimizer memory");
  if (R.gradient_bytes != 2)
    d.push_back(
        fmt::format("both seeds store 2-byte gradients; this run stores {}-byte gradients "
                    "(--grad-dtype bf16 for 2)",
                    R.gradient_bytes));
  d.push_back(
      "seed 002's activations are alpha·B·L·d·2 per layer with alpha = 5 guessed; sizeup "
      "lists every saved tensor (attention, MLP, norms, dropout masks, logits, loss)");
  if (in.activation.attention == AttentionImpl::flash)
    d.push_back(
        "seed 004's 5·a·s/h term is the eager attention score/softmax/dropout storage; "
        "flash attention keeps none of it (--attention eager to include it)");
  d.push_back(
      "the seeds count no logits/loss buffers, communication buffers or runtime overhead "
      "(seed 002 adds a guessed 1-2 GB 'overhead')");
  d.push_back("seed 002 prints GiB values labelled GB (1,417,347,072 bytes = 1.32 GiB = 1.42 GB)");
  return d;
}

Output train_output(const TrainCmd& o) {
  const ModelSpec m = resolve_model(o.model);
  const GpuSpec gpu = resolve_gpu(o.train.gpu, "h100-sxm");
  std::vector<std::string> notes;
  const TrainInput in        = train_input(o.train, m, gpu, notes);
  const ActivationReport act = activation_memory(m, activation_input(in));
  const TrainMemoryReport r  = train_memory(m, in, act);
  const ParamsReport pr      = count_params(m);
  for (const auto& n : r.notes) notes.push_back(n);

  // FLOPs of one optimizer step, whole cluster (flops.hpp: forward from the matmuls, x3).
  const std::int64_t global = r.micro_batches * in.workload.micro_batch * in.plan.dp;
  FlopsInput fi;
  fi.seq_len     = in.workload.seq_len;
  fi.batch       = global;
  fi.recompute   = in.activation.recompute;
  FlopsReport fr = flops(m, fi);
  // Fine-tuning skips the weight gradients of frozen weights (and, below the lowest trained
  // layer, the whole backward); LoRA adds its adapters.
  Breakdown<FlopCount> ft_flops;
  if (in.finetune.mode != Finetune::full) {
    FinetuneFlopsInput ff;
    ff.mode                      = in.finetune.mode;
    ff.frozen_layers             = in.finetune.frozen_layers;
    ff.head_trainable            = !m.tied_head;
    ff.adapter_forward_per_token = adapter_forward_flops_per_token(m, r.adapters);
    ft_flops                     = finetune_flops_per_token(m, fr, ff);
    const double tokens   = static_cast<double>(global) * static_cast<double>(in.workload.seq_len);
    fr.training_per_token = ft_flops.find("training")->value;
    fr.training_per_step  = fr.training_per_token * tokens;
    fr.hardware_per_step  = fr.training_per_step + fr.recompute_per_token * tokens;
  }
  const Peak peak         = resolve_peak(gpu, o.train.precision);
  double mfu              = kDefaultMfu;
  const std::int64_t gpus = in.plan.gpus();
  // Step time: the step-time model (step_time.hpp) from the hardware and the layout, unless
  // --mfu is given; fine-tuning keeps the MFU path (the model times a full backward).
  std::optional<StepTimeReport> st;
  if (o.mfu) {
    mfu = parse_mfu(*o.mfu);  // the same range as `sizeup time`
  } else if (in.finetune.mode != Finetune::full) {
    notes.push_back(fmt::format(
        "MFU {} assumed for fine-tuning (the step-time model times full training); pass --mfu",
        kDefaultMfu));
  } else {
    nlohmann::json so = nlohmann::json::object();
    const std::pair<const std::optional<std::string>*, const char*> step_opts[] = {
        {&o.gemm_efficiency, "gemm_efficiency"}, {&o.memory_efficiency, "memory_efficiency"},
        {&o.link_efficiency, "link_efficiency"}, {&o.attention_efficiency, "attention_efficiency"},
        {&o.nvlink_domain, "nvlink_domain"},     {&o.intra_latency, "intra_latency"},
        {&o.inter_latency, "inter_latency"},     {&o.pcie_bandwidth, "pcie_bandwidth"}};
    for (const auto& [v, k] : step_opts)
      if (*v) so[k] = **v;
    StepOptions sopt;
    sopt.dp_overlap = !o.no_dp_overlap;
    sopt.tp_overlap = o.tp_overlap;
    if (o.stage_layers) {
      std::string item;
      std::stringstream ss(*o.stage_layers);
      while (std::getline(ss, item, ','))
        sopt.stage_layers.push_back(int_option(item, "--stage-layers", 0, 1, 1000000));
    }
    st  = step_time(m, in, step_device(so, gpu, r.recipe.compute_dtype), sopt);
    mfu = st->mfu;
  }
  const double step_s =
      st ? st->step_seconds
         : fr.training_per_step / (static_cast<double>(gpus) * peak.flops_per_s * mfu);
  if (in.finetune.mode != Finetune::full)
    notes.push_back(
        "fine-tuning FLOPs: frozen weights skip their weight gradients, frozen bottom layers "
        "their whole backward; LoRA adds 3 x its adapters' forward (see --explain)");

  Output out;
  auto& j       = out.json;
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
  j["optimizer"] = to_string(in.optimizer);
  j["finetune"]  = {{"mode", in.finetune.mode == Finetune::full     ? "full"
                             : in.finetune.mode == Finetune::freeze ? "freeze"
                             : in.finetune.mode == Finetune::lora   ? "lora"
                                                                    : "qlora"}};
  auto mem       = rows_json(r.rows);
  if (!mem.contains("fp8_weight_cache_bytes")) mem["fp8_weight_cache_bytes"] = 0;
  mem["total_bytes"]       = r.total_bytes;
  mem["host_bytes"]        = r.host_bytes;
  mem["stage"]             = r.stage;
  mem["first_stage_bytes"] = r.first_stage_bytes;
  mem["last_stage_bytes"]  = r.last_stage_bytes;
  mem["limit_bytes"]       = r.limit_bytes;
  j["memory"]              = mem;
  j["fits"]                = r.fits;
  j["optimizer_state"]     = rows_json(r.optimizer.rows);
  j["activations"]         = {{"layer_bytes", act.layer_bytes},
                              {"moe_layer_bytes", act.moe_layer_bytes},
                              {"outside_bytes", act.outside_bytes},
                              {"per_layer", rows_json(act.per_layer)},
                              {"outside_layers", rows_json(act.outside_layers)}};
  nlohmann::json adapters  = nlohmann::json::array();
  for (const auto& a : r.adapters)
    adapters.push_back({{"module", a.module},
                        {"in", a.in},
                        {"out", a.out},
                        {"experts", a.experts},
                        {"layers", a.count},
                        {"params", a.params}});
  j["adapters"] = adapters;
  j["flops"]    = {{"per_step", fr.training_per_step},
                   {"per_token", fr.training_per_token},
                   {"hardware_per_step", fr.hardware_per_step}};
  j["time"]     = {{"step_seconds", step_s},
                   {"peak_flops_per_s", peak.flops_per_s},
                   {"model", st ? "step-time" : "mfu"}};
  if (st) {
    j["time"]["mfu"]                       = st->mfu;
    j["time"]["hfu"]                       = st->hfu;
    j["time"]["tokens_per_second"]         = st->tokens_per_second;
    j["time"]["tokens_per_second_per_gpu"] = st->tokens_per_second_per_gpu;
    j["time"]["tflops_per_gpu"]            = st->tflops_per_gpu;
    j["time"]["hardware_tflops_per_gpu"]   = st->hardware_tflops_per_gpu;
    j["time"]["stage_layers"]              = st->stage_layers;
    for (const auto& x : st->rows.rows) j["time"][x.key] = x.value;
    for (const auto& n : st->notes) notes.push_back(n);
  }
  if (o.tokens) {
    const double tokens = parse_quantity(*o.tokens, "--tokens");
    if (!(tokens > 0))  // as in `sizeup time`: no run trains on zero tokens
      throw InputError("invalid token count", "--tokens",
                       fmt::format("must be a positive number, got {}", *o.tokens));
    const double steps =
        tokens / (static_cast<double>(global) * static_cast<double>(in.workload.seq_len));
    j["time"]["steps"]   = steps;
    j["time"]["seconds"] = steps * step_s;
    j["time"]["days"]    = steps * step_s / 86400.0;
  }
  j["mfu"]            = mfu;
  nlohmann::json heur = nlohmann::json::array();
  const auto seeds    = seed_heuristics(m, pr.total, in.workload.micro_batch, in.workload.seq_len);
  for (const auto& h : seeds) {
    auto rows           = rows_json(h.rows);
    rows["total_bytes"] = h.total_bytes;
    heur.push_back({{"source", h.source}, {"memory", rows}});
  }
  const auto diffs = heuristic_differences(r, in);
  j["heuristics"]  = heur;
  j["differences"] = diffs;
  j["notes"]       = notes;
  j["derivations"] = derivations_json(r.rows);

  // Human-readable table.
  std::vector<std::vector<std::string>> rows = {
      {r.stage == "all" ? std::string("per GPU") : "per GPU (" + r.stage + " pipeline stage)",
       "bytes", "GiB", "GB"}};
  for (const auto& x : r.rows.rows)
    rows.push_back({x.label, with_commas(x.value), gib(x.value), gb(x.value)});
  rows.push_back({"total", with_commas(r.total_bytes), gib(r.total_bytes), gb(r.total_bytes)});
  out.text = fmt::format(
      "{} ({} params, {} trainable), {} x {} ({}), dp {} tp {} pp {} ep {} cp {}, ZeRO {}, "
      "micro-batch {} x {} tokens, {} + {}\n\n",
      m.name, human_count(static_cast<double>(pr.total)),
      human_count(static_cast<double>(r.trainable_params)), gpus, gpu.name, gib(gpu.memory_bytes),
      p.dp, p.tp, p.pp, p.ep, p.cp, r.zero_stage, in.workload.micro_batch, in.workload.seq_len,
      to_string(in.precision), to_string(in.optimizer));
  out.text += table(rows);
  out.text += fmt::format("fits in {} x (1 - headroom {}): {}\n", gib(gpu.memory_bytes),
                          in.headroom, r.fits ? "yes" : "NO");
  if (r.host_bytes) out.text += "host (offloaded): " + gib(r.host_bytes) + "\n";
  out.text += fmt::format("FLOPs per step {} ({} tokens), step {:.4g} s at MFU {:.3g}{}\n",
                          sci(fr.training_per_step), global * in.workload.seq_len, step_s, mfu,
                          st ? " (step-time model)" : "");
  if (st) {
    std::vector<std::vector<std::string>> trows = {{"step time", "seconds"}};
    for (const auto& x : st->rows.rows)
      if (x.value > 0) trows.push_back({x.label, fmt::format("{:.4g}", x.value)});
    out.text += table(trows);
    out.text += fmt::format(
        "tokens/s {:.4g} ({:.4g} per GPU), {:.1f} TFLOP/s per GPU, HFU {:.3g}\n",
        st->tokens_per_second, st->tokens_per_second_per_gpu, st->tflops_per_gpu, st->hfu);
  }
  out.text += "\n";
  std::vector<std::vector<std::string>> hrows = {
      {"seed heuristic", "weights", "gradients", "optimizer", "activations", "total"}};
  for (const auto& h : seeds) {
    std::vector<std::string> row = {h.source};
    for (const auto& x : h.rows.rows) row.push_back(gib(x.value));
    row.push_back(gib(h.total_bytes));
    hrows.push_back(row);
  }
  out.text += table(hrows);
  for (const auto& d : diffs) out.text += "differs: " + d + "\n";
  for (const auto& n : notes) out.text += "note: " + n + "\n";

  auto show   = [](const ByteCount& b) { return with_commas(b) + " B (" + gib(b) + ")"; };
  out.explain = explain_rows<ByteCount>(
      r.stage == "all" ? std::string("Memory per GPU")
                       : "Memory of the most loaded GPU (" + r.stage + " pipeline stage)",
      r.rows, show);
  out.explain += explain_row("total", {"sum of the rows", "", ""}, show(r.total_bytes));
  out.explain +=
      "\n" + explain_rows<ByteCount>("Optimizer state (before sharding)", r.optimizer.rows, show);
  out.explain += "\n" + explain_rows<ByteCount>("Activations of one layer, one micro-batch",
                                                act.per_layer, show);
  out.explain +=
      "\n" + explain_rows<ByteCount>("Activations outside the layers", act.outside_layers, show);
  if (!ft_flops.rows.empty())
    out.explain += "\n" + explain_rows<FlopCount>("Fine-tuning FLOPs per token", ft_flops,
                                                  [](const FlopCount& v) { return sci(v); });
  out.explain += "\n### FLOPs and time\n\n";
  out.explain += explain_row(
      "FLOPs per step",
      {"training FLOPs per token x global batch x seq",
       fmt::format("{:.6g} x {} x {}", fr.training_per_token, global, in.workload.seq_len),
       ft_flops.rows.empty() ? "flops.hpp (3 x forward matmul FLOPs)"
                             : "flops.hpp finetune_flops_per_token"},
      sci(fr.training_per_step));
  if (st)
    out.explain += explain_rows<double>("Step time (step-time model)", st->rows,
                                        [](const double& v) { return fmt::format("{:.6g} s", v); });
  else
    out.explain += explain_row("step time",
                               {"FLOPs per step / (gpus x peak x MFU)",
                                fmt::format("{:.6g} / ({} x {:.6g} x {:g})", fr.training_per_step,
                                            gpus, peak.flops_per_s, mfu),
                                "PaLM App. B (MFU definition)"},
                               fmt::format("{:.4f} s", step_s));
  for (const auto& h : seeds)
    out.explain += "\n" + explain_rows<ByteCount>("Seed heuristic: " + h.source, h.rows, show) +
                   explain_row("total", {}, show(h.total_bytes));
  out.explain += "\n### Differences from the seed heuristics\n\n";
  for (const auto& d : diffs) out.explain += "- " + d + "\n";
  return out;
}

}  // namespace

Action register_train(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand(
      "train", "training or fine-tuning memory per GPU, FLOPs per step, step time");
  auto o = std::make_shared<TrainCmd>();
  add_model_options(app, o->model);
  add_train_options(app, o->train);
  add_quantity(app, "--mfu", o->mfu,
               "model FLOPs utilisation in (0, 1]; replaces the step-time model");
  const char* sg = "Step-time model";
  add_quantity(app, "--gemm-efficiency", o->gemm_efficiency,
               "fraction of dense peak for large GEMMs (0.73)")
      ->group(sg);
  add_quantity(app, "--memory-efficiency", o->memory_efficiency,
               "fraction of HBM bandwidth for memory-bound ops (0.6)")
      ->group(sg);
  add_quantity(app, "--link-efficiency", o->link_efficiency,
               "fraction of link bandwidth NCCL reaches (0.8)")
      ->group(sg);
  add_quantity(app, "--attention-efficiency", o->attention_efficiency,
               "fraction of 16-bit peak for fused attention (0.6)")
      ->group(sg);
  add_quantity(app, "--nvlink-domain", o->nvlink_domain, "GPUs on one NVLink fabric")->group(sg);
  add_quantity(app, "--intra-latency", o->intra_latency, "NVLink message latency, s (2e-6)")
      ->group(sg);
  add_quantity(app, "--inter-latency", o->inter_latency, "network message latency, s (5e-6)")
      ->group(sg);
  app->add_option("--pcie-bandwidth", o->pcie_bandwidth, "host link per GPU (32GB)")->group(sg);
  app->add_option("--stage-layers", o->stage_layers, "layers per pipeline stage, e.g. 7,8,...,7")
      ->group(sg);
  app->add_flag("--no-dp-overlap", o->no_dp_overlap,
                "gradient reduction after the backward pass (Megatron-LM 2021 local DDP)")
      ->group(sg);
  app->add_flag("--tp-overlap", o->tp_overlap, "TP communication overlapped with GEMMs")->group(sg);
  add_quantity(app, "--tokens", o->tokens, "training tokens (adds total time)");
  return [o] { return train_output(*o); };
}

}  // namespace sizeup::cli
