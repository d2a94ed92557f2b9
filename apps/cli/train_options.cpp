#include "train_options.hpp"

#include <fmt/format.h>

#include <cmath>

#include "sizeup/error.hpp"
#include "sizeup/framework.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {

std::int64_t int_option(const std::optional<std::string>& v, const char* field, std::int64_t dflt,
                        std::int64_t lo, std::int64_t hi) {
  if (!v) return dflt;
  const double x = parse_quantity(*v, field);
  if (!(x >= static_cast<double>(lo) && x <= static_cast<double>(hi)) || std::floor(x) != x)
    throw InputError("invalid value", field,
                     fmt::format("must be an integer between {} and {}, got {}", lo, hi, *v));
  return static_cast<std::int64_t>(x);
}

void add_train_options(CLI::App* app, TrainCliOptions& o) {
  add_gpu_options(app, o.gpu, "h100-sxm");
  const char* w = "Workload and recipe";
  app->add_option("--precision", o.precision,
                  "fp32, tf32, bf16, fp16, mixed-bf16 (default), mixed-fp16, fp8")
      ->group(w);
  app->add_option("--grad-dtype", o.grad_dtype,
                  "gradient storage: fp32 (default with mixed precision) or bf16")
      ->group(w);
  app->add_option("--optimizer", o.optimizer,
                  "adamw (default), adam8bit, sgd, sgd-momentum, adafactor, lion")
      ->group(w);
  add_quantity(app, "--batch", o.batch, "same as --micro-batch")->group(w);
  add_quantity(app, "--micro-batch", o.micro_batch, "sequences per GPU per forward (default 1)")
      ->group(w);
  add_quantity(app, "--global-batch", o.global_batch,
               "sequences per optimizer step (default micro-batch x dp)")
      ->group(w);
  add_quantity(app, "--seq", o.seq, "tokens per sequence (default min(2048, max positions))")
      ->group(w);
  const char* p = "Parallel layout";
  for (auto [name, into, help] :
       {std::tuple{"--dp", &o.dp, "data-parallel replicas (default gpus / (tp·pp·cp))"},
        std::tuple{"--tp", &o.tp, "tensor-parallel ranks"},
        std::tuple{"--pp", &o.pp, "pipeline stages"},
        std::tuple{"--ep", &o.ep, "expert-parallel ranks (within dp)"},
        std::tuple{"--cp", &o.cp, "context-parallel ranks"},
        std::tuple{"--interleave", &o.interleave, "virtual stages per pipeline rank"}})
    add_quantity(app, name, *into, help)->group(p);
  app->add_option("--zero", o.zero, "ZeRO stage 0-3")->group(p);
  app->add_option("--fsdp", o.fsdp, "full (=ZeRO-3), grad-op (=ZeRO-2), hybrid")->group(p);
  app->add_flag("--sequence-parallel", o.sequence_parallel, "Megatron sequence parallelism")
      ->group(p);
  app->add_option("--schedule", o.schedule, "1f1b (default) or interleaved")->group(p);
  app->add_option("--offload", o.offload, "none or optimizer (states and master to host)")
      ->group(p);
  const char* a = "Activations";
  app->add_option("--recompute", o.recompute, "none (default), selective, full")->group(a);
  app->add_option("--attention", o.attention, "flash (default) or eager")->group(a);
  add_quantity(app, "--dropout", o.dropout, "dropout probability (default 0)")->group(a);
  add_quantity(app, "--moe-capacity-factor", o.capacity_factor,
               "MoE expert capacity factor, e.g. 1.25 (default 0: dropless top-k)")
      ->group(a);
  const char* f = "Fine-tuning";
  app->add_option("--finetune", o.finetune, "full (default), freeze, lora, qlora")->group(f);
  add_quantity(app, "--lora-rank", o.lora_rank, "LoRA rank r (default 16)")->group(f);
  app->add_option("--lora-targets", o.lora_targets,
                  "comma-separated module names or all-linear (default q_proj,v_proj)")
      ->group(f);
  add_quantity(app, "--frozen-layers", o.frozen_layers, "freeze: first k layers frozen")->group(f);
  const char* x = "Assumptions";
  add_quantity(app, "--overhead", o.overhead,
               "flat runtime overhead per GPU in bytes, e.g. 1GiB, instead of the allocator and "
               "CUDA context model")
      ->group(x);
  app->add_option("--cuda-loading", o.cuda_loading,
                  "CUDA module loading: lazy (default, CUDA >= 11.7) or eager (older CUDA)")
      ->group(x);
  app->add_option("--framework", o.framework,
                  "hf, torchtune, megatron, deepspeed, fsdp, qlora-paper: that framework's "
                  "defaults (each printed, each overridable)")
      ->group(w);
  app->add_option("--loss", o.loss, "standard (default), chunked, fused")->group(a);
  app->add_option("--head", o.head,
                  "lm (default: vocabulary logits and loss) or classifier (sequence "
                  "classification: no vocabulary logits)")
      ->group(a);
  add_quantity(app, "--headroom", o.headroom, "fraction of GPU memory kept free (default 0)")
      ->group(x);
}

TrainInput train_input(const TrainCliOptions& o, const ModelSpec& m, const GpuSpec& gpu,
                       std::vector<std::string>& notes) {
  TrainInput in;
  if (o.precision) in.precision = parse_precision(*o.precision);
  if (o.grad_dtype) {
    if (*o.grad_dtype == "fp32")
      in.grad_bytes = 4;
    else if (*o.grad_dtype == "bf16" || *o.grad_dtype == "fp16")
      in.grad_bytes = 2;
    else
      throw InputError("invalid choice", "--grad-dtype",
                       "'" + *o.grad_dtype + "' is not one of fp32, bf16");
  }
  if (o.optimizer) in.optimizer = parse_optimizer(*o.optimizer);
  if (o.batch && o.micro_batch)
    throw InputError("contradictory batch", "--batch", "give --batch or --micro-batch");
  in.workload.micro_batch =
      int_option(o.micro_batch ? o.micro_batch : o.batch, o.batch ? "--batch" : "--micro-batch", 1);
  const std::int64_t dflt_seq = m.n_ctx > 0 ? std::min<std::int64_t>(2048, m.n_ctx) : 2048;
  if (!o.seq) notes.push_back(fmt::format("sequence length {} (default)", dflt_seq));
  in.workload.seq_len   = int_option(o.seq, "--seq", dflt_seq, 1, 10000000);
  auto& p               = in.plan;
  p.tp                  = int_option(o.tp, "--tp", 1);
  p.pp                  = int_option(o.pp, "--pp", 1);
  p.cp                  = int_option(o.cp, "--cp", 1);
  p.ep                  = int_option(o.ep, "--ep", 1);
  p.interleave          = int_option(o.interleave, "--interleave", 1);
  const std::int64_t mp = p.tp * p.pp * p.cp;
  if (o.gpu.gpus) {
    in.gpus = int_option(o.gpu.gpus, "--gpus", 1);
    if (!o.dp) {
      if (in.gpus % mp != 0)
        throw InputError("indivisible layout", "--gpus",
                         fmt::format("--gpus {} is not a multiple of tp·pp·cp = {}", in.gpus, mp));
      p.dp = in.gpus / mp;
    }
  }
  p.dp = int_option(o.dp, "--dp", p.dp);
  if (!o.gpu.gpus) in.gpus = 0;
  in.workload.global_batch = int_option(o.global_batch, "--global-batch", 0, 0, 1000000000000);
  if (o.zero) p.zero = static_cast<int>(int_option(o.zero, "--zero", 0, 0, 3));
  if (o.fsdp) p.fsdp = parse_fsdp(*o.fsdp);
  p.sequence_parallel = o.sequence_parallel;
  if (o.schedule) p.schedule = parse_schedule(*o.schedule);
  if (o.offload) p.offload = parse_offload(*o.offload);
  if (o.recompute) in.activation.recompute = parse_recompute(*o.recompute);
  if (o.attention) in.activation.attention = parse_attention(*o.attention);
  if (o.dropout) in.activation.dropout = parse_quantity(*o.dropout, "--dropout");
  if (o.capacity_factor) {
    in.moe_capacity_factor = parse_quantity(*o.capacity_factor, "--moe-capacity-factor");
    if (!(in.moe_capacity_factor >= 0) || in.moe_capacity_factor > 1e6)
      throw InputError("invalid capacity factor", "--moe-capacity-factor",
                       "must be 0 (dropless) or a positive factor such as 1.25");
  }
  if (o.finetune) in.finetune.mode = parse_finetune(*o.finetune);
  in.finetune.lora_rank     = int_option(o.lora_rank, "--lora-rank", 16, 1, 1000000);
  in.finetune.frozen_layers = int_option(o.frozen_layers, "--frozen-layers", 0, 0, 10000000);
  if (o.lora_targets) {
    std::string cur;
    for (char c : *o.lora_targets + ",") {
      if (c == ',') {
        if (!cur.empty()) in.finetune.lora_targets.push_back(cur);
        cur.clear();
      } else if (c != ' ') {
        cur += c;
      }
    }
    if (in.finetune.lora_targets.empty())
      throw InputError("no LoRA targets", "--lora-targets",
                       "give module names such as q_proj,v_proj, or all-linear");
  }
  if (o.frozen_layers && in.finetune.mode != Finetune::freeze)
    throw InputError("frozen layers without freeze", "--frozen-layers", "needs --finetune freeze");
  in.gpus_per_node    = gpu.gpus_per_node;  // resolve_gpu applied --gpus-per-node
  in.gpu_memory_bytes = gpu.memory_bytes;
  if (o.overhead) {
    const double v = parse_bytes(*o.overhead, "--overhead");
    if (!(v >= 0 && v <= 1e15))
      throw InputError("invalid overhead", "--overhead", "must be between 0 and 1e15 bytes");
    in.overhead_bytes = static_cast<ByteCount>(v);
  }
  if (o.cuda_loading) in.context_loading = parse_context_loading(*o.cuda_loading, "--cuda-loading");
  if (o.loss) in.loss = parse_loss(*o.loss, "--loss");
  if (o.head) in.head = parse_head(*o.head, "--head");
  if (o.framework) {
    ExplicitOptions given;
    given.precision    = o.precision.has_value();
    given.grad_dtype   = o.grad_dtype.has_value();
    given.optimizer    = o.optimizer.has_value();
    given.recompute    = o.recompute.has_value();
    given.attention    = o.attention.has_value();
    given.loss         = o.loss.has_value();
    given.zero         = o.zero.has_value();
    given.fsdp         = o.fsdp.has_value();
    given.finetune     = o.finetune.has_value();
    given.lora_rank    = o.lora_rank.has_value();
    given.lora_targets = o.lora_targets.has_value();
    given.offload      = o.offload.has_value();
    const Framework fw = parse_framework(*o.framework, "--framework");
    for (const auto& d : apply_framework(fw, given, in))
      notes.push_back(
          fmt::format("{} default: {} = {} ({})", *o.framework, d.option, d.value, d.source));
  }
  if ((o.lora_rank || o.lora_targets) && in.finetune.mode != Finetune::lora &&
      in.finetune.mode != Finetune::qlora)
    throw InputError("LoRA option without LoRA", o.lora_rank ? "--lora-rank" : "--lora-targets",
                     "needs --finetune lora or qlora");
  if (o.headroom) in.headroom = parse_quantity(*o.headroom, "--headroom");
  validate_plan(m, in);
  return in;
}

}  // namespace sizeup::cli
