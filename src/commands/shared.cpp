// Options and readers shared by several commands (shared.hpp).
#include "commands/shared.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/dtypes.hpp"
#include "sizeup/error.hpp"
#include "sizeup/framework.hpp"
#include "sizeup/params.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/towers.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {

std::int64_t int_option(const Options& o, const std::string& name, std::int64_t dflt,
                        std::int64_t lo, std::int64_t hi) {
  const auto v = text_option(o, name);
  if (!v) return dflt;
  const double x = parse_quantity(*v, name);
  if (!(x >= static_cast<double>(lo) && x <= static_cast<double>(hi)) || std::floor(x) != x)
    throw InputError("invalid value", name,
                     fmt::format("must be an integer between {} and {}, got {}", lo, hi, *v));
  return static_cast<std::int64_t>(x);
}

std::vector<OptionSpec> train_options() {
  using K  = OptionKind;
  auto opt = [](const char* name, K kind, const char* help, const char* group,
                std::vector<std::string> choices = {}) {
    return OptionSpec{name, kind, help, group, std::move(choices), "", false};
  };
  const char* w = "Workload and recipe";
  const char* p = "Parallel layout";
  const char* a = "Activations";
  const char* f = "Fine-tuning";
  const char* x = "Assumptions";
  return {
      opt("precision", K::text, "fp32, tf32, bf16, fp16, mixed-bf16 (default), mixed-fp16, fp8", w),
      opt("framework", K::text,
          "hf, torchtune, megatron, deepspeed, fsdp, qlora-paper: that framework's defaults "
          "(each printed, each overridable)",
          w, {"hf", "torchtune", "megatron", "deepspeed", "fsdp", "qlora-paper"}),
      opt("grad_dtype", K::text, "gradient storage: fp32 (default with mixed precision) or bf16",
          w),
      opt("optimizer", K::text, "adamw (default), adam8bit, sgd, sgd-momentum, adafactor, lion", w),
      opt("batch", K::count, "same as micro_batch", w),
      opt("micro_batch", K::count, "sequences per GPU per forward (default 1)", w),
      opt("global_batch", K::count, "sequences per optimizer step (default micro-batch x dp)", w),
      opt("seq", K::count, "tokens per sequence (default min(2048, max positions))", w),
      opt("dp", K::count, "data-parallel replicas (default gpus / (tp·pp·cp))", p),
      opt("tp", K::count, "tensor-parallel ranks", p),
      opt("pp", K::count, "pipeline stages", p),
      opt("ep", K::count, "expert-parallel ranks (within dp)", p),
      opt("cp", K::count, "context-parallel ranks", p),
      opt("interleave", K::count, "virtual stages per pipeline rank", p),
      opt("zero", K::number, "ZeRO stage 0-3", p),
      opt("fsdp", K::text, "full (=ZeRO-3), grad-op (=ZeRO-2), hybrid", p),
      opt("sequence_parallel", K::flag, "Megatron sequence parallelism", p),
      opt("schedule", K::text, "1f1b (default) or interleaved", p),
      opt("offload", K::text, "none or optimizer (states and master to host)", p),
      opt("recompute", K::text, "none (default), selective, full", a),
      opt("attention", K::text, "flash (default) or eager", a),
      opt("loss", K::text, "standard (default), chunked, fused", a,
          {"standard", "chunked", "fused"}),
      opt("head", K::text,
          "lm (default: vocabulary logits and loss) or classifier (sequence classification)", a,
          {"lm", "classifier"}),
      opt("dropout", K::number, "dropout probability (default 0)", a),
      opt("moe_capacity_factor", K::number,
          "MoE expert capacity factor, e.g. 1.25 (default 0: dropless top-k)", a),
      opt("finetune", K::text, "full (default), freeze, lora, qlora", f),
      opt("lora_rank", K::count, "LoRA rank r (default 16)", f),
      opt("lora_targets", K::text,
          "comma-separated module names or all-linear (default q_proj,v_proj)", f),
      opt("frozen_layers", K::count, "freeze: first k layers frozen", f),
      opt("images", K::count, "images per sequence (their tokens lengthen seq; multimodal)",
          "Multimodal"),
      opt("image_size", K::count, "pixels per image side (default: the tower's native size)",
          "Multimodal"),
      opt("freeze_towers", K::flag, "vision tower and projector frozen (language model trains)",
          "Multimodal"),
      opt("overhead", K::bytes,
          "flat runtime overhead per GPU in bytes, e.g. 1GiB, instead of the allocator and CUDA "
          "context model",
          x),
      opt("cuda_loading", K::text,
          "CUDA module loading: lazy (default, CUDA >= 11.7) or eager (older CUDA)", x,
          {"lazy", "eager"}),
      opt("headroom", K::number, "fraction of GPU memory kept free (default 0)", x),
  };
}

std::vector<std::string> given_workload_options(const Options& o) {
  std::vector<std::string> given;
  for (const char* name : {"batch", "micro_batch", "global_batch", "seq", "dp", "tp", "pp", "ep",
                           "cp", "recompute", "attention", "finetune"})
    if (has_option(o, name)) given.push_back(name);
  return given;
}

TrainInput train_input(const Options& o, const ModelSpec& m, const GpuSpec& gpu,
                       std::vector<std::string>& notes) {
  TrainInput in;
  if (const auto v = text_option(o, "precision")) in.precision = parse_precision(*v, "precision");
  in.grad_bytes = grad_bytes_option(o);
  if (const auto v = text_option(o, "optimizer")) in.optimizer = parse_optimizer(*v, "optimizer");
  const bool batch = has_option(o, "batch"), micro = has_option(o, "micro_batch");
  if (batch && micro)
    throw InputError("contradictory batch", "batch", "give batch or micro_batch, not both");
  in.workload.micro_batch     = int_option(o, batch ? "batch" : "micro_batch", 1);
  const std::int64_t dflt_seq = m.n_ctx > 0 ? std::min<std::int64_t>(2048, m.n_ctx) : 2048;
  if (!has_option(o, "seq")) notes.push_back(fmt::format("sequence length {} (default)", dflt_seq));
  in.workload.seq_len = int_option(o, "seq", dflt_seq, 1, 10000000);
  // Multimodal: images join each sequence as tokens of the language model (towers.hpp).
  in.images        = int_option(o, "images", 0, 0, 100000);
  in.image_size    = int_option(o, "image_size", 0, 1, 100000);
  in.freeze_towers = flag_option(o, "freeze_towers");
  if ((in.images > 0 || in.freeze_towers) && !m.vision.present())
    throw InputError("not a multimodal model", in.images > 0 ? "images" : "freeze_towers",
                     "the model has no vision tower (its config has no vision_config)");
  if (in.images > 0) {
    const ImageCost ic = image_cost(m, in.image_size);
    notes.push_back(fmt::format(
        "{} image(s) per sequence, {} tokens each ({}): sequence {} = {} text + {} image tokens{}",
        in.images, ic.tokens, ic.rows.find("tokens")->derivation.substituted,
        in.workload.seq_len + in.images * ic.tokens, in.workload.seq_len, in.images * ic.tokens,
        in.freeze_towers ? "; vision tower and projector frozen" : ""));
    in.workload.seq_len += in.images * ic.tokens;
  }
  auto& p               = in.plan;
  p.tp                  = int_option(o, "tp", 1);
  p.pp                  = int_option(o, "pp", 1);
  p.cp                  = int_option(o, "cp", 1);
  p.ep                  = int_option(o, "ep", 1);
  p.interleave          = int_option(o, "interleave", 1);
  const std::int64_t mp = p.tp * p.pp * p.cp;
  if (has_option(o, "gpus")) {
    in.gpus = int_option(o, "gpus", 1);
    if (!has_option(o, "dp")) {
      if (in.gpus % mp != 0)
        throw InputError("indivisible layout", "gpus",
                         fmt::format("{} GPUs are not a multiple of tp·pp·cp = {}", in.gpus, mp));
      p.dp = in.gpus / mp;
    }
  }
  p.dp                     = int_option(o, "dp", p.dp);
  in.workload.global_batch = int_option(o, "global_batch", 0, 0, 1000000000000);
  if (has_option(o, "zero")) p.zero = static_cast<int>(int_option(o, "zero", 0, 0, 3));
  if (const auto v = text_option(o, "fsdp")) p.fsdp = parse_fsdp(*v, "fsdp");
  p.sequence_parallel = flag_option(o, "sequence_parallel");
  if (const auto v = text_option(o, "schedule")) p.schedule = parse_schedule(*v, "schedule");
  if (const auto v = text_option(o, "offload")) p.offload = parse_offload(*v, "offload");
  if (const auto v = text_option(o, "recompute"))
    in.activation.recompute = parse_recompute(*v, "recompute");
  if (const auto v = text_option(o, "attention"))
    in.activation.attention = parse_attention(*v, "attention");
  if (const auto v = number_option(o, "dropout")) in.activation.dropout = *v;
  if (const auto v = number_option(o, "moe_capacity_factor")) {
    in.moe_capacity_factor = *v;
    if (!(in.moe_capacity_factor >= 0) || in.moe_capacity_factor > 1e6)
      throw InputError("invalid capacity factor", "moe_capacity_factor",
                       "must be 0 (dropless) or a positive factor such as 1.25");
  }
  if (const auto v = text_option(o, "finetune")) in.finetune.mode = parse_finetune(*v, "finetune");
  in.finetune.lora_rank     = int_option(o, "lora_rank", 16, 1, 1000000);
  in.finetune.frozen_layers = int_option(o, "frozen_layers", 0, 0, 10000000);
  if (const auto v = text_option(o, "lora_targets")) {
    std::string cur;
    for (char c : *v + ",") {
      if (c == ',') {
        if (!cur.empty()) in.finetune.lora_targets.push_back(cur);
        cur.clear();
      } else if (c != ' ') {
        cur += c;
      }
    }
    if (in.finetune.lora_targets.empty())
      throw InputError("no LoRA targets", "lora_targets",
                       "give module names such as q_proj,v_proj, or all-linear");
  }
  if (has_option(o, "frozen_layers") && in.finetune.mode != Finetune::freeze)
    throw InputError("frozen layers without freeze", "frozen_layers", "needs finetune freeze");
  in.gpus_per_node    = gpu.gpus_per_node;  // resolve_gpu applied gpus_per_node
  in.gpu_memory_bytes = gpu.memory_bytes;
  if (const auto v = bytes_option(o, "overhead")) {
    if (!(*v >= 0 && *v <= 1e15))
      throw InputError("invalid overhead", "overhead", "must be between 0 and 1e15 bytes");
    in.overhead_bytes = static_cast<ByteCount>(*v);
  }
  if (const auto v = text_option(o, "cuda_loading"))
    in.context_loading = parse_context_loading(*v, "cuda_loading");
  if (const auto v = text_option(o, "loss")) in.loss = parse_loss(*v, "loss");
  if (const auto v = text_option(o, "head")) in.head = parse_head(*v, "head");
  if (const auto v = text_option(o, "framework")) {
    ExplicitOptions given;
    given.precision    = has_option(o, "precision");
    given.grad_dtype   = has_option(o, "grad_dtype");
    given.optimizer    = has_option(o, "optimizer");
    given.recompute    = has_option(o, "recompute");
    given.attention    = has_option(o, "attention");
    given.loss         = has_option(o, "loss");
    given.zero         = has_option(o, "zero");
    given.fsdp         = has_option(o, "fsdp");
    given.finetune     = has_option(o, "finetune");
    given.lora_rank    = has_option(o, "lora_rank");
    given.lora_targets = has_option(o, "lora_targets");
    given.offload      = has_option(o, "offload");
    for (const auto& d : apply_framework(parse_framework(*v, "framework"), given, in))
      notes.push_back(fmt::format("{} default: {} = {} ({})", *v, d.option, d.value, d.source));
  }
  const bool lora = in.finetune.mode == Finetune::lora || in.finetune.mode == Finetune::qlora;
  if ((has_option(o, "lora_rank") || has_option(o, "lora_targets")) && !lora)
    throw InputError("LoRA option without LoRA",
                     has_option(o, "lora_rank") ? "lora_rank" : "lora_targets",
                     "needs finetune lora or qlora");
  if (const auto v = number_option(o, "headroom")) in.headroom = *v;
  validate_plan(m, in);
  return in;
}

int format_bits(const std::string& name, const std::string& field,
                const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  const DType* t = find_dtype(name);
  if (std::find(allowed.begin(), allowed.end(), name) == allowed.end() || !t)
    throw InputError("invalid choice", field, "'" + name + "' is not one of " + list);
  return t->storage_bits;
}

int grad_bytes_option(const Options& o) {
  const auto v = text_option(o, "grad_dtype");
  return v ? format_bits(*v, "grad_dtype", {"fp32", "bf16", "fp16"}) / 8 : 0;
}

Peak resolve_peak(const GpuSpec& gpu, const std::optional<std::string>& precision) {
  Peak p;
  p.precision   = precision.value_or("bf16");
  p.dtype       = recipe_for(parse_precision(p.precision, "precision")).compute_dtype;
  p.flops_per_s = gpu.peak(p.dtype, "precision");
  return p;
}

OptionSpec mfu_spec() {
  return {"mfu", OptionKind::number, "model FLOPs utilisation in (0, 1] (default 0.4)", "", {}, "",
          false};
}

std::optional<double> mfu_option(const Options& o) {
  const auto text = text_option(o, "mfu");
  if (!text) return std::nullopt;
  // parse_quantity rejects negatives; below kMinMfu (absurd times) and above 1 are refused.
  const double v = parse_quantity(*text, "mfu");
  if (!(v >= kMinMfu && v <= 1))
    throw InputError("invalid MFU", "mfu",
                     "must be a fraction in [1e-6, 1], e.g. 0.4 for 40%, got " + *text);
  return v;
}

namespace {

std::int64_t positive(const Options& o, const char* name) {
  const std::int64_t n = *count_option(o, name);
  if (n < 1) throw InputError("invalid shape", name, "must be positive");
  return n;
}

// PaLM's attention term from layers, heads, head_dim (or hidden) and seq beside params.
std::optional<AttentionShape> shape_from_options(const Options& o,
                                                 std::vector<std::string>& notes) {
  // seq alone is not a request for the attention term: mfu with step_seconds needs it for the
  // tokens of a step (B*T/S) with nothing but params known about the model.
  const bool any = has_option(o, "layers") || has_option(o, "heads") || has_option(o, "head_dim") ||
                   has_option(o, "hidden");
  if (!any) {
    notes.push_back(
        "attention term omitted: give layers, heads, head_dim and seq for PaLM's 12*L*H*Q*T");
    return std::nullopt;
  }
  const std::pair<bool, const char*> needed[] = {
      {has_option(o, "layers"), "layers"},
      {has_option(o, "heads"), "heads"},
      {has_option(o, "head_dim") || has_option(o, "hidden"), "head_dim"},
      {has_option(o, "seq"), "seq"}};
  for (const auto& [present, name] : needed)
    if (!present)
      throw InputError("incomplete attention shape", name,
                       "the attention term needs layers, heads, head_dim (or hidden) and seq");
  AttentionShape s;
  s.n_layer = positive(o, "layers");
  s.n_head  = positive(o, "heads");
  s.seq_len = positive(o, "seq");
  if (has_option(o, "head_dim")) {
    s.head_dim = positive(o, "head_dim");
  } else {
    const std::int64_t hidden = positive(o, "hidden");
    if (hidden % s.n_head != 0)
      throw InputError("invalid shape", "heads", "heads do not divide the hidden size");
    s.head_dim = hidden / s.n_head;
  }
  return s;
}

bool any_model_option(const Options& o) {
  for (const auto& spec : model_options())
    if (has_option(o, spec.name)) return true;
  return false;
}

}  // namespace

std::pair<std::string, double> matmul_peak(const GpuSpec& g, WeightFormat f) {
  std::vector<std::string> order;
  if (f == WeightFormat::fp8) order.push_back("fp8");
  if (f == WeightFormat::int8) order.push_back("int8");
  if (f == WeightFormat::fp32) order.push_back("fp32");
  if (f == WeightFormat::fp16) order.push_back("fp16");
  for (const char* d : {"bf16", "fp16", "fp32"}) order.push_back(d);
  for (const auto& d : order) {
    auto it = g.peak_flops_per_s.find(d);
    if (it != g.peak_flops_per_s.end() && it->second > 0) return {d, it->second};
  }
  return {"", 0};
}

ByteCount memory_for_fit(const GpuSpec& gpu) {
  if (gpu.memory_bytes == 0)
    throw InputError("incomplete custom accelerator", "gpu_memory",
                     "what fits needs the memory per GPU");
  return gpu.memory_bytes;
}

std::vector<OptionSpec> params_source_options(const std::string& seq_help) {
  using K = OptionKind;
  return join(join(model_options(), gpu_options()),
              {{"params", K::quantity, "parameter count N instead of a MODEL", "", {}, "", false},
               {"seq", K::count, seq_help, "", {}, "", false},
               {"precision",
                K::text,
                "recipe whose compute format sets the peak (default bf16)",
                "",
                {},
                "",
                false}});
}

ParamsSource resolve_params(const Options& o) {
  ParamsSource src;
  if (has_option(o, "params")) {
    if (has_option(o, "model") || has_option(o, "config"))
      throw InputError("contradictory model", "params", "give MODEL or params, not both");
    src.params = *quantity_option(o, "params");
    if (!(src.params > 0))
      throw InputError("invalid parameter count", "params", "must be positive");
    src.attention = shape_from_options(o, src.notes);
    return src;
  }
  if (!any_model_option(o))
    throw InputError("missing model", "params",
                     "give MODEL, the shape options, or params (e.g. 70B)");
  const ModelSpec spec   = resolve_model(o);
  const ParamsReport rep = count_params(spec);
  src.model              = spec.name;
  src.params             = static_cast<double>(rep.active);
  if (spec.is_moe())
    src.notes.push_back(
        fmt::format("mixture of experts: N = {} active parameters per token of {} total",
                    rep.active, rep.total));
  if (spec.n_attention_layers() + spec.n_layer_dec == 0) {
    src.notes.push_back("no attention layers: the attention term is 0");
  } else if (has_option(o, "seq")) {
    src.attention = attention_shape(spec, positive(o, "seq"));
  } else {
    src.notes.push_back("attention term omitted: give seq for PaLM's 12*L*H*Q*T");
  }
  return src;
}

std::string sci(double v) { return fmt::format("{:.4e}", v); }

void add_notes(Report& r, const std::vector<std::string>& notes) {
  r.data["notes"] = notes;
  for (const auto& n : notes) r.notes.push_back("note: " + n);
}

ReportRow byte_row(const std::string& key, const std::string& label, ByteCount v,
                   const Derivation& d) {
  return {key,
          label,
          v,
          Unit::bytes,
          d,
          {fmt::format("{:.2f} GiB", to_gib(v)), fmt::format("{:.2f} GB", to_gb(v))},
          with_commas(v),
          true};
}

void byte_rows(ReportSection& s, const std::string& prefix, const Breakdown<ByteCount>& b) {
  for (const auto& row : b.rows)
    s.rows.push_back(
        byte_row(prefix.empty() ? "" : prefix + row.key, row.label, row.value, row.derivation));
}

}  // namespace sizeup::cmd
