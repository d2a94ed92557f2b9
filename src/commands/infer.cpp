// sizeup infer: inference memory per GPU (weights, KV cache, prefill workspace, overhead),
// whether it fits, the largest batch and context, and a decode/prefill roofline.
#include <fmt/format.h>

#include <cmath>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

// Bytes per KV-cache element for kv_dtype (the number-format table).
int kv_bytes(const std::string& s) {
  return format_bits(s, "kv_dtype", {"fp32", "bf16", "fp16", "fp8", "int8"}) / 8;
}

std::int64_t positive(const Options& o, const char* name, std::int64_t dflt) {
  const auto n = count_option(o, name);
  if (!n) return dflt;
  if (*n < 1) throw InputError("invalid value", name, "must be at least 1");
  return *n;
}

// JSON bytes: an integer while it fits in 64 bits, else a (finite) number.
nlohmann::json bytes_json(double v) {
  if (v >= 0 && v < 1.8e19) return static_cast<std::uint64_t>(std::round(v));
  return v;
}

// Table cell for a byte count: exact with thousands separators while it fits in 64 bits, else
// in scientific notation (a clamped integer would disagree with the GiB and GB columns).
std::string bytes_cell(double v) {
  if (v >= 0 && v < 1.8e19) return with_commas(static_cast<std::uint64_t>(std::round(v)));
  return fmt::format("{:.4e}", v);
}

std::string gib(double v) { return fmt::format("{:.2f} GiB", v / kBytesPerGiB); }
std::string gb(double v) { return fmt::format("{:.2f} GB", v / kBytesPerGB); }

ReportRow bytes_row(const std::string& key, const std::string& label, double v, const Derivation& d,
                    bool in_text = true) {
  return {key, label, bytes_json(v), Unit::bytes, d, {gib(v), gb(v)}, bytes_cell(v), in_text};
}

Report infer_report(const Options& o) {
  const ModelSpec m = resolve_model(o);
  InferenceInput in;
  const auto dtype          = text_option(o, "dtype");
  in.weights                = dtype ? parse_weight_format(*dtype, "dtype") : WeightFormat::bf16;
  const std::string kv_name = text_option(o, "kv_dtype")
                                  .value_or(in.weights == WeightFormat::fp32   ? "fp32"
                                            : in.weights == WeightFormat::fp16 ? "fp16"
                                                                               : "bf16");
  in.kv_bytes        = kv_bytes(kv_name);
  in.batch           = positive(o, "batch", 1);
  const auto context = text_option(o, "context"), seq = text_option(o, "seq");
  if (context && seq && *context != *seq)
    throw InputError("contradictory context", "seq", "give context or seq, not both");
  const char* ctx_field = context ? "context" : "seq";
  std::vector<std::string> notes;
  if (context || seq) {
    const std::int64_t c = *count_option(o, ctx_field);
    if (c < 1) throw InputError("invalid context", ctx_field, "must be at least 1 token");
    check_sequence_length(m, c, ctx_field);
    in.context = c;
  } else {
    // Models without a position table (Mamba: n_ctx 2^40) have no natural default.
    in.context = m.n_ctx > 0 && m.n_ctx < (std::int64_t{1} << 40) ? m.n_ctx : 2048;
    notes.push_back(
        fmt::format("context {} = the model's maximum positions; set context", in.context));
  }
  if (has_option(o, "encoder_seq")) in.encoder_seq = positive(o, "encoder_seq", 1);
  in.group_size    = positive(o, "group_size", 128);
  in.prefill_chunk = positive(o, "prefill_chunk", 512);
  in.double_quant  = !flag_option(o, "no_double_quant");
  in.quantize_head = flag_option(o, "quantize_head");
  // Multimodal: images per sequence and their size (towers.hpp); recurrent-state dtype.
  if (const auto n = count_option(o, "images")) {
    if (*n < 0) throw InputError("invalid value", "images", "must not be negative");
    in.images = *n;
  }
  if (has_option(o, "image_size")) in.image_size = positive(o, "image_size", 0);
  if (const auto d = text_option(o, "state_dtype")) in.state_bytes = *d == "fp32" ? 4 : 2;
  if (const auto v = text_option(o, "mla_cache"))
    in.mla_cache = *v == "full" ? MlaCache::full : MlaCache::latent;  // choices checked
  if (const auto v = bytes_option(o, "overhead")) {
    if (!(*v >= 0) || *v > 1e18)
      throw InputError("invalid overhead", "overhead", "must be between 0 and 1e18 bytes");
    in.overhead_bytes = static_cast<ByteCount>(std::llround(*v));
  } else if (has_option(o, "gpu_utilization")) {
    // The headroom gpu_utilization leaves (vLLM's 1 - gpu_memory_utilization) is where the
    // CUDA context and allocator slack live: subtracting the 1 GiB overhead as well counted the
    // same memory twice.
    in.overhead_bytes = 0;
    notes.push_back(
        "runtime overhead 0: gpu_utilization's headroom holds the CUDA context and allocator "
        "slack (give overhead to count it as well)");
  }

  // The fraction of memory usable is checked even when no gpu asks for the fit that uses it.
  const auto utilization = quantity_option(o, "gpu_utilization");
  if (utilization) {
    if (!(*utilization > 0 && *utilization <= 1))
      throw InputError("invalid utilization", "gpu_utilization",
                       fmt::format("must be in (0, 1], got {:g}", *utilization));
    if (!has_option(o, "gpu")) notes.push_back("gpu_utilization is used only with gpu (what fits)");
  }

  // gpus and tp: tensor parallelism over all GPUs unless tp says otherwise; the other GPUs
  // hold independent replicas (data parallel serving).
  const bool tp_given     = has_option(o, "tp");
  const std::int64_t gpus = resolve_gpu_count(o, tp_given ? positive(o, "tp", 1) : 1);
  in.tp                   = tp_given ? positive(o, "tp", 1) : gpus;
  if (gpus % in.tp != 0)
    throw InputError("invalid GPU count", "gpus",
                     fmt::format("{} GPUs are not a multiple of tp {}", gpus, in.tp));
  const std::int64_t replicas = gpus / in.tp;

  InferenceReport r;
  try {
    r = inference_memory(m, in);
  } catch (const InputError& e) {  // tp taken from gpus: name the option that was given
    if (tp_given || e.field() != "tp") throw;
    throw InputError(e.subject(), "gpus", e.reason() + " (tp defaults to gpus; give tp)");
  }
  notes.insert(notes.end(), r.notes.begin(), r.notes.end());
  if (in.weights != WeightFormat::bf16 && in.weights != WeightFormat::fp16 &&
      in.weights != WeightFormat::fp32)
    notes.push_back(
        "weights: only linear layers inside transformer blocks are quantised; embeddings, norms, "
        "biases, routers and the head stay 16-bit (quantize_head quantises an untied head)");

  Report rep;
  auto& j                     = rep.data;
  j["model"]                  = m.name;
  j["dtype"]                  = to_string(in.weights);
  j["kv_dtype"]               = kv_name;
  j["batch"]                  = in.batch;
  j["context"]                = in.context;
  j["tp"]                     = in.tp;
  j["gpus"]                   = gpus;
  j["replicas"]               = replicas;
  j["group_size"]             = in.group_size;
  j["prefill_chunk"]          = in.prefill_chunk;
  j["fits"]                   = nullptr;
  j["max_batch"]              = nullptr;
  j["max_context"]            = nullptr;
  j["gpu"]                    = nullptr;
  j["roofline"]               = nullptr;
  nlohmann::json der          = derivations_json(r.memory);
  der["heuristic_1_2x_bytes"] = to_json(r.heuristic_derivation);

  rep.title =
      fmt::format("{}: {} weights, {} KV cache, batch {}, context {}, tp {}", m.name,
                  to_string(in.weights), kv_name, with_commas(static_cast<std::uint64_t>(in.batch)),
                  with_commas(static_cast<std::uint64_t>(in.context)), in.tp);
  auto& mem = rep.section("Inference memory per GPU", {"per GPU", "bytes", "GiB", "GB"});
  for (const auto& row : r.memory.rows)
    mem.rows.push_back(bytes_row("memory." + row.key, row.label, row.value, row.derivation));
  mem.rows.push_back(bytes_row("memory.heuristic_1_2x_bytes",
                               "heuristic 1.2 x weights (Transformer Math 101)",
                               r.heuristic_1_2x_bytes, r.heuristic_derivation));
  auto& wsec = rep.section("Weights by storage class");
  for (const auto& row : r.weight_rows.rows)
    wsec.rows.push_back(
        bytes_row("weights." + row.key + "_bytes", row.label, row.value, row.derivation, false));
  auto& ksec = rep.section("KV cache by layer kind");
  for (const auto& row : r.kv_rows.rows)
    ksec.rows.push_back(
        bytes_row("kv_cache." + row.key + "_bytes", row.label, row.value, row.derivation, false));
  if (r.weight_rows.rows.empty()) j["weights"] = nlohmann::json::object();
  if (r.kv_rows.rows.empty()) j["kv_cache"] = nlohmann::json::object();

  if (has_option(o, "gpu")) {
    const GpuSpec g = resolve_gpu(o);
    InferenceDevice dev;
    dev.memory_bytes = g.memory_bytes;
    if (utilization) dev.utilization = *utilization;
    dev.bandwidth_bytes_per_s     = g.memory_bandwidth_bytes_per_s;
    const auto [peak_dtype, peak] = matmul_peak(g, in.weights);
    dev.peak_flops_per_s          = peak;
    memory_for_fit(g);
    const InferenceFitReport f = inference_fit(m, in, dev);
    j["fits"]                  = f.fits;
    j["max_batch"]             = f.max_batch;
    j["max_context"] = f.max_context ? nlohmann::json(*f.max_context) : nlohmann::json(nullptr);
    j["gpu"]         = {{"name", g.name},
                        {"memory_bytes", g.memory_bytes},
                        {"utilization", dev.utilization},
                        {"usable_bytes", bytes_json(f.usable_bytes)},
                        {"peak_dtype", peak_dtype},
                        {"peak_flops_per_s", peak}};
    if (f.max_context && m.n_ctx > 0 && *f.max_context > m.n_ctx)
      notes.push_back(
          fmt::format("max_context {} is the memory limit; the model was trained for {} positions",
                      *f.max_context, m.n_ctx));
    if (!f.max_context)
      notes.push_back(
          m.has_recurrent_layers() && m.n_attention_layers() == 0
              ? "max_context: memory does not grow with the context (recurrent layers keep a "
                "fixed-size state; no attention layer caches K and V)"
              : "max_context: memory does not run out within 1e15 tokens (sliding window)");
    auto& fit = rep.section(fmt::format("{} on {} x {} ({} usable per GPU, {:.0f}% of {})", m.name,
                                        gpus, g.name, gib(f.usable_bytes), dev.utilization * 100,
                                        gib(static_cast<double>(g.memory_bytes))));
    fit.rows.push_back(
        make_row("", "fits", f.fits, Unit::none, {}, {}, f.fits ? "FITS" : "DOES NOT FIT"));
    fit.rows.push_back(make_row(
        "",
        fmt::format("max batch at context {}", with_commas(static_cast<std::uint64_t>(in.context))),
        f.max_batch, Unit::count));
    fit.rows.push_back(make_row(
        "",
        fmt::format("max context at batch {}", with_commas(static_cast<std::uint64_t>(in.batch))),
        f.max_context ? nlohmann::json(*f.max_context) : nlohmann::json(nullptr), Unit::count, {},
        {}, f.max_context ? "" : "unbounded"));
    if (dev.bandwidth_bytes_per_s > 0 && peak > 0) {
      const Roofline rf = inference_roofline(m, in, dev);
      j["roofline"]     = {{"lower_bound", true},
                           {"decode_bytes", bytes_json(rf.decode_bytes)},
                           {"decode_flops", rf.decode_flops},
                           {"decode_seconds", rf.decode_seconds},
                           {"decode_tokens_per_s", rf.decode_tokens_per_s},
                           {"decode_bound", rf.decode_bound},
                           {"prefill_bytes", bytes_json(rf.prefill_bytes)},
                           {"prefill_flops", rf.prefill_flops},
                           {"prefill_seconds", rf.prefill_seconds},
                           {"prefill_tokens_per_s", rf.prefill_tokens_per_s},
                           {"prefill_bound", rf.prefill_bound}};
      for (const auto& row : rf.rows.rows) der["roofline_" + row.key] = to_json(row.derivation);
      auto& roof = rep.section(fmt::format(
          "Roofline (lower bound on time, per replica of {} GPUs, {} peak)", in.tp, peak_dtype));
      roof.rows.push_back(make_row(
          "", "decode step", rf.decode_seconds, Unit::seconds, {},
          {fmt::format("{:.4g} tokens/s", rf.decode_tokens_per_s), rf.decode_bound + "-bound"}));
      roof.rows.push_back(make_row(
          "", fmt::format("prefill of {} x {} tokens", in.batch, in.context), rf.prefill_seconds,
          Unit::seconds, {},
          {fmt::format("{:.4g} tokens/s", rf.prefill_tokens_per_s), rf.prefill_bound + "-bound"}));
      for (const auto& row : rf.rows.rows)
        roof.rows.push_back({"",
                             row.label,
                             row.value,
                             Unit::none,
                             row.derivation,
                             {},
                             fmt::format("{:.6g}", row.value),
                             false});
    }
  }
  add_infer_serving(o, m, in, gpus, utilization, rep, notes);
  j["derivations"] = der;
  add_notes(rep, notes);
  return rep;
}

}  // namespace

CommandSpec infer_command() {
  using K  = OptionKind;
  auto opt = [](const char* name, K kind, const char* help, std::vector<std::string> choices = {}) {
    return OptionSpec{name, kind, help, "", std::move(choices), "", false};
  };
  auto options = join(model_options(), gpu_options());
  for (auto& spec : std::vector<OptionSpec>{
           opt("dtype", K::text,
               "weights: fp32, bf16, fp16, fp8, int8, int4, nf4, gptq-int4, awq-int4 "
               "(default bf16)"),
           opt("kv_dtype", K::text,
               "KV cache: fp32, bf16, fp16, fp8, int8 (default: the compute "
               "format)"),
           opt("batch", K::count, "concurrent sequences (default 1)"),
           opt("context", K::count, "tokens per sequence (default: max positions)"),
           opt("seq", K::count, "same as context"),
           opt("encoder_seq", K::count, "encoder-decoder: encoder tokens (default: context)"),
           opt("tp", K::count, "tensor-parallel ranks (default: gpus)"),
           opt("group_size", K::count, "int4 quantisation group (default 128)"),
           opt("no_double_quant", K::flag,
               "nf4: fp32 absmax per block instead of QLoRA double quantisation"),
           opt("quantize_head", K::flag, "also quantise an untied output head"),
           opt("mla_cache", K::text, "MLA cache: latent (vLLM/SGLang, default) or full (HF eager)",
               {"latent", "full"}),
           opt("prefill_chunk", K::count, "tokens per prefill chunk (default 512)"),
           opt("overhead", K::bytes, "runtime overhead per GPU (default 1GiB; bytes, 2GiB, 1.5GB)"),
           opt("gpu_utilization", K::number,
               "fraction of GPU memory usable (default 1.0; vLLM uses 0.9)"),
           opt("images", K::count, "images per sequence (multimodal models), e.g. 1"),
           opt("image_size", K::count,
               "pixels per image side (default: the vision tower's native size)"),
           opt("state_dtype", K::text,
               "recurrent state of Mamba/DeltaNet layers: fp32, bf16, fp16 (default bf16)",
               {"fp32", "bf16", "fp16"})})
    options.push_back(std::move(spec));
  for (auto& spec : infer_serving_options()) options.push_back(std::move(spec));
  return {"infer",
          "inference memory per GPU, what fits, decode/prefill roofline; serving latency, "
          "throughput, engine KV pool and load",
          std::move(options), infer_report};
}

}  // namespace sizeup::cmd
