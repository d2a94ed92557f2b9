// sizeup infer: inference memory per GPU (weights, KV cache, prefill workspace, overhead),
// whether it fits, the largest batch and context, and a decode/prefill roofline.
#include <fmt/format.h>

#include <cmath>

#include "common.hpp"
#include "serving_cli.hpp"
#include "sizeup/error.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

struct InferOptions {
  ModelOptions model;
  GpuOptions gpu;
  std::optional<std::string> dtype, kv_dtype, batch, context, seq, encoder_seq, tp, group_size;
  std::optional<std::string> mla_cache, prefill_chunk, overhead, utilization;
  bool no_double_quant = false, quantize_head = false;
  ServingCliOptions serving;
};

// Bytes per KV-cache element for --kv-dtype.
int kv_bytes(const std::string& s) {
  if (s == "fp32") return 4;
  if (s == "bf16" || s == "fp16") return 2;
  if (s == "fp8" || s == "int8") return 1;
  throw InputError("unknown dtype", "--kv-dtype",
                   "'" + s + "' is not one of fp32, bf16, fp16, fp8, int8");
}

std::int64_t positive(const std::optional<std::string>& v, const char* field, std::int64_t dflt) {
  if (!v) return dflt;
  const std::int64_t n = parse_count(*v, field);
  if (n < 1) throw InputError("invalid value", field, "must be at least 1");
  return n;
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

// One --explain section of byte rows, followed by a blank line.
std::string bytes_section(const std::string& title, const Breakdown<double>& b) {
  return explain_rows<double>(title, b,
                              [](const double& v) { return fmt::format("{:.0f} bytes", v); }) +
         "\n";
}

std::string gib(double v) { return fmt::format("{:.2f} GiB", v / kBytesPerGiB); }
std::string gb(double v) { return fmt::format("{:.2f} GB", v / kBytesPerGB); }

// Dense peak in the format the matmuls run in: fp8 and int8 weights use the device's fp8/int8
// peak when it has one (W8A8), weight-only int4/nf4 dequantise to 16-bit.
std::pair<std::string, double> compute_peak(const GpuSpec& g, WeightFormat f) {
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

Output infer_output(const InferOptions& o) {
  const ModelSpec m = resolve_model(o.model);
  InferenceInput in;
  in.weights                = o.dtype ? parse_weight_format(*o.dtype) : WeightFormat::bf16;
  const std::string kv_name = o.kv_dtype ? *o.kv_dtype
                                         : (in.weights == WeightFormat::fp32   ? "fp32"
                                            : in.weights == WeightFormat::fp16 ? "fp16"
                                                                               : "bf16");
  in.kv_bytes               = kv_bytes(kv_name);
  in.batch                  = positive(o.batch, "--batch", 1);
  if (o.context && o.seq && *o.context != *o.seq)
    throw InputError("contradictory context", "--seq", "give --context or --seq, not both");
  const auto& ctx_text  = o.context ? o.context : o.seq;
  const char* ctx_field = o.context ? "--context" : "--seq";
  std::vector<std::string> notes;
  if (ctx_text) {
    const std::int64_t c = parse_count(*ctx_text, ctx_field);
    if (c < 1) throw InputError("invalid context", ctx_field, "must be at least 1 token");
    check_sequence_length(m, c, ctx_field);
    in.context = c;
  } else {
    in.context = m.n_ctx > 0 ? m.n_ctx : 2048;
    notes.push_back(
        fmt::format("context {} = the model's maximum positions; set --context", in.context));
  }
  if (o.encoder_seq) in.encoder_seq = positive(o.encoder_seq, "--encoder-seq", 1);
  in.group_size    = positive(o.group_size, "--group-size", 128);
  in.prefill_chunk = positive(o.prefill_chunk, "--prefill-chunk", 512);
  in.double_quant  = !o.no_double_quant;
  in.quantize_head = o.quantize_head;
  if (o.mla_cache) {
    if (*o.mla_cache == "latent")
      in.mla_cache = MlaCache::latent;
    else if (*o.mla_cache == "full")
      in.mla_cache = MlaCache::full;
    else
      throw InputError("invalid choice", "--mla-cache",
                       "'" + *o.mla_cache + "' is not latent or full");
  }
  if (o.overhead) {
    const double v = parse_bytes(*o.overhead, "--overhead");
    if (!(v >= 0) || v > 1e18)
      throw InputError("invalid overhead", "--overhead", "must be between 0 and 1e18 bytes");
    in.overhead_bytes = static_cast<ByteCount>(std::llround(v));
  } else if (o.utilization) {
    // The headroom --gpu-utilization leaves (vLLM's 1 - gpu_memory_utilization) is where the
    // CUDA context and allocator slack live: subtracting sizeup's 1 GiB as well counted the
    // same memory twice.
    in.overhead_bytes = 0;
    notes.push_back(
        "runtime overhead 0: --gpu-utilization's headroom holds the CUDA context and allocator "
        "slack (give --overhead to count it as well)");
  }

  // The fraction of memory usable is checked even when no --gpu asks for the fit that uses it.
  if (o.utilization) {
    const double u = parse_quantity(*o.utilization, "--gpu-utilization");
    if (!(u > 0 && u <= 1))
      throw InputError("invalid utilization", "--gpu-utilization",
                       fmt::format("must be in (0, 1], got {}", *o.utilization));
    if (!o.gpu.gpu) notes.push_back("--gpu-utilization is used only with --gpu (what fits)");
  }

  // --gpus and --tp: tensor parallelism over all GPUs unless --tp says otherwise; the other
  // GPUs hold independent replicas (data parallel serving).
  const std::int64_t gpus = resolve_gpu_count(o.gpu, o.tp ? positive(o.tp, "--tp", 1) : 1);
  in.tp                   = o.tp ? positive(o.tp, "--tp", 1) : gpus;
  if (gpus % in.tp != 0)
    throw InputError("invalid GPU count", "--gpus",
                     fmt::format("{} GPUs are not a multiple of --tp {}", gpus, in.tp));
  const std::int64_t replicas = gpus / in.tp;

  InferenceReport r;
  try {
    r = inference_memory(m, in);
  } catch (const InputError& e) {  // --tp taken from --gpus: name the option the user typed
    if (o.tp || e.field() != "--tp") throw;
    throw InputError(e.subject(), "--gpus", e.reason() + " (--tp defaults to --gpus; give --tp)");
  }
  notes.insert(notes.end(), r.notes.begin(), r.notes.end());
  if (in.weights != WeightFormat::bf16 && in.weights != WeightFormat::fp16 &&
      in.weights != WeightFormat::fp32)
    notes.push_back(
        "weights: only linear layers inside transformer blocks are quantised; embeddings, norms, "
        "biases, routers and the head stay 16-bit (--quantize-head quantises an untied head)");

  Output out;
  auto& j            = out.json;
  j["model"]         = m.name;
  j["dtype"]         = to_string(in.weights);
  j["kv_dtype"]      = kv_name;
  j["batch"]         = in.batch;
  j["context"]       = in.context;
  j["tp"]            = in.tp;
  j["gpus"]          = gpus;
  j["replicas"]      = replicas;
  j["group_size"]    = in.group_size;
  j["prefill_chunk"] = in.prefill_chunk;
  j["memory"]        = {
             {"weights_bytes", bytes_json(r.weights_bytes)},
             {"kv_cache_bytes", bytes_json(r.kv_cache_bytes)},
             {"workspace_bytes", bytes_json(r.workspace_bytes)},
             {"overhead_bytes", bytes_json(r.overhead_bytes)},
             {"total_bytes", bytes_json(r.total_bytes)},
             {"heuristic_1_2x_bytes", bytes_json(r.heuristic_1_2x_bytes)},
  };
  nlohmann::json wrows = nlohmann::json::object(), krows = nlohmann::json::object();
  for (const auto& row : r.weight_rows.rows) wrows[row.key + "_bytes"] = bytes_json(row.value);
  for (const auto& row : r.kv_rows.rows) krows[row.key + "_bytes"] = bytes_json(row.value);
  j["weights"]                = wrows;
  j["kv_cache"]               = krows;
  j["fits"]                   = nullptr;
  j["max_batch"]              = nullptr;
  j["max_context"]            = nullptr;
  j["gpu"]                    = nullptr;
  j["roofline"]               = nullptr;
  nlohmann::json der          = derivations_json(r.memory);
  der["heuristic_1_2x_bytes"] = to_json(r.heuristic_derivation);

  std::vector<std::vector<std::string>> rows = {{"per GPU", "bytes", "GiB", "GB"}};
  for (const auto& row : r.memory.rows)
    rows.push_back({row.label, bytes_cell(row.value), gib(row.value), gb(row.value)});
  rows.push_back({"heuristic 1.2 x weights (Transformer Math 101)",
                  bytes_cell(r.heuristic_1_2x_bytes), gib(r.heuristic_1_2x_bytes),
                  gb(r.heuristic_1_2x_bytes)});
  out.text =
      fmt::format("{}: {} weights, {} KV cache, batch {}, context {}, tp {}\n\n", m.name,
                  to_string(in.weights), kv_name, with_commas(static_cast<std::uint64_t>(in.batch)),
                  with_commas(static_cast<std::uint64_t>(in.context)), in.tp) +
      table(rows);
  out.explain = bytes_section("Inference memory per GPU", r.memory) +
                bytes_section("Weights by storage class", r.weight_rows) +
                bytes_section("KV cache by layer kind", r.kv_rows) +
                explain_row("Heuristic (1.2 x weights)", r.heuristic_derivation,
                            fmt::format("{:.0f} bytes", r.heuristic_1_2x_bytes));

  if (o.gpu.gpu) {
    const GpuSpec g = resolve_gpu(o.gpu);
    InferenceDevice dev;
    dev.memory_bytes = g.memory_bytes;
    if (o.utilization) dev.utilization = parse_quantity(*o.utilization, "--gpu-utilization");
    dev.bandwidth_bytes_per_s     = g.memory_bandwidth_bytes_per_s;
    const auto [peak_dtype, peak] = compute_peak(g, in.weights);
    dev.peak_flops_per_s          = peak;
    if (g.memory_bytes == 0)
      throw InputError("incomplete custom accelerator", "--gpu-memory",
                       "the fit needs the memory per GPU");
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
      notes.push_back("max_context: memory does not run out within 1e15 tokens (sliding window)");
    out.text += fmt::format(
        "\n{} on {} x {} ({} usable per GPU, {:.0f}% of {}): {}\nmax batch at context {}: {}\n"
        "max context at batch {}: {}\n",
        m.name, gpus, g.name, gib(f.usable_bytes), dev.utilization * 100,
        gib(static_cast<double>(g.memory_bytes)), f.fits ? "FITS" : "DOES NOT FIT",
        with_commas(static_cast<std::uint64_t>(in.context)),
        with_commas(static_cast<std::uint64_t>(f.max_batch)),
        with_commas(static_cast<std::uint64_t>(in.batch)),
        f.max_context ? with_commas(static_cast<std::uint64_t>(*f.max_context))
                      : std::string("unbounded"));
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
      out.text += fmt::format(
          "roofline (lower bound on time, per replica of {} GPUs, {} peak):\n"
          "  decode: {:.3g} ms per step, {:.4g} tokens/s ({}-bound)\n"
          "  prefill of {} x {} tokens: {:.3g} s, {:.4g} tokens/s ({}-bound)\n",
          in.tp, peak_dtype, rf.decode_seconds * 1e3, rf.decode_tokens_per_s, rf.decode_bound,
          in.batch, in.context, rf.prefill_seconds, rf.prefill_tokens_per_s, rf.prefill_bound);
      out.explain +=
          "\n" + explain_rows<double>("Roofline (lower bound)", rf.rows,
                                      [](const double& v) { return fmt::format("{:.6g}", v); });
    }
  }
  std::optional<GpuSpec> serving_gpu;
  if (o.gpu.gpu) serving_gpu = resolve_gpu(o.gpu);
  std::optional<double> util;
  if (o.utilization) util = parse_quantity(*o.utilization, "--gpu-utilization");
  add_serving_output(o.serving, {m, in, serving_gpu ? &*serving_gpu : nullptr, gpus, util}, out,
                     notes);
  j["notes"]       = notes;
  j["derivations"] = der;
  for (const auto& n : notes) out.text += "note: " + n + "\n";
  return out;
}

}  // namespace

Action register_infer(CLI::App& root, GlobalOptions&) {
  auto* app =
      root.add_subcommand("infer", "inference memory per GPU, what fits, decode/prefill roofline");
  auto o = std::make_shared<InferOptions>();
  add_model_options(app, o->model);
  add_gpu_options(app, o->gpu);
  app->add_option("--dtype", o->dtype,
                  "weights: fp32, bf16, fp16, fp8, int8, int4, nf4, gptq-int4, awq-int4 "
                  "(default bf16)");
  app->add_option("--kv-dtype", o->kv_dtype,
                  "KV cache: fp32, bf16, fp16, fp8, int8 (default: the compute format)");
  add_quantity(app, "--batch", o->batch, "concurrent sequences (default 1)");
  add_quantity(app, "--context", o->context, "tokens per sequence (default: max positions)");
  add_quantity(app, "--seq", o->seq, "same as --context");
  add_quantity(app, "--encoder-seq", o->encoder_seq,
               "encoder-decoder: encoder tokens (default: --context)");
  add_quantity(app, "--tp", o->tp, "tensor-parallel ranks (default: --gpus)");
  add_quantity(app, "--group-size", o->group_size, "int4 quantisation group (default 128)");
  app->add_flag("--no-double-quant", o->no_double_quant,
                "nf4: fp32 absmax per block instead of QLoRA double quantisation");
  app->add_flag("--quantize-head", o->quantize_head, "also quantise an untied output head");
  app->add_option("--mla-cache", o->mla_cache,
                  "MLA cache: latent (vLLM/SGLang, default) or full (HF eager)");
  add_quantity(app, "--prefill-chunk", o->prefill_chunk, "tokens per prefill chunk (default 512)");
  app->add_option("--overhead", o->overhead,
                  "runtime overhead per GPU (default 1GiB; bytes, 2GiB, 1.5GB)");
  app->add_option("--gpu-utilization", o->utilization,
                  "fraction of GPU memory usable (default 1.0; vLLM uses 0.9)");
  add_serving_options(app, o->serving);
  return [o] { return infer_output(*o); };
}

}  // namespace sizeup::cli
