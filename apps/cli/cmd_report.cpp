// sizeup report MODEL: one complete worked example in Markdown, in the manner of the seed
// documents (given values, then each quantity as formula, substituted values and result),
// with every number taken from the library's breakdowns. `--json` gives the same content as
// sections of rows {key, label, value, formula, substituted, source}.
//
// Nothing is computed here that a library function computes: each section is the Breakdown
// (and its Derivations) of one library call, formatted.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "common.hpp"
#include "flops_options.hpp"
#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/json.hpp"
#include "sizeup/memory_train.hpp"
#include "sizeup/params.hpp"
#include "sizeup/quantity.hpp"
#include "sizeup/scaling.hpp"
#include "sizeup/units.hpp"
#include "sizeup/workload.hpp"

namespace sizeup::cli {
namespace {

struct ReportOptions {
  ModelOptions model;
  GpuOptions gpu;
  std::optional<std::string> batch, seq, tokens, mfu, precision, optimizer, output, zero;
};

// The workload the report is computed for, every value resolved (defaults applied).
struct ReportWorkload {
  std::int64_t batch = 8;     // sequences per optimizer step, whole cluster
  std::int64_t seq   = 2048;  // tokens per sequence
  double tokens      = 0;     // training tokens D
  bool tokens_given  = false;
  GpuSpec gpu;
  std::int64_t gpus = 8;
  double mfu        = kDefaultMfu;
  Peak peak;
  Precision precision = Precision::mixed_bf16;
  Optimizer optimizer = Optimizer::adamw;
  int zero            = 0;            // ZeRO stage of the training-memory section
  std::vector<std::string> defaults;  // options left at their default, for the notes
};

// One row of a section: a value, how it is shown, and its derivation.
struct Item {
  std::string key, label;
  nlohmann::json value;
  std::string shown;
  Derivation derivation;
};

struct Section {
  std::string key, title;
  std::vector<Item> rows;
  std::vector<std::string> notes;
  bool as_table = false;  // given values: a two-column table instead of derivations
};

std::string commas(double v) {
  return v >= 0 && v < 1.8e19 ? with_commas(static_cast<std::uint64_t>(std::llround(v))) : sci(v);
}

std::string bytes_shown(ByteCount b) {
  return fmt::format("{} bytes = {:.3f} GB = {:.3f} GiB", with_commas(b), to_gb(b), to_gib(b));
}

// Large counts with separators, large FLOP figures also in scientific notation.
std::string flops_shown(double v) {
  return v < 1e15 ? commas(v) + " FLOPs" : fmt::format("{} FLOPs ({})", sci(v), human_count(v));
}

template <class T>
void append(Section& s, const Breakdown<T>& b,
            const std::function<std::string(const Row<T>&)>& show, const std::string& prefix = "") {
  for (const auto& r : b.rows)
    s.rows.push_back({prefix + r.key, r.label, nlohmann::json(r.value), show(r), r.derivation});
}

std::int64_t positive_count(const std::optional<std::string>& v, const char* field,
                            std::int64_t dflt) {
  if (!v) return dflt;
  const std::int64_t n = parse_count(*v, field);
  if (n < 1) throw InputError("invalid workload", field, "must be a positive whole number");
  return n;
}

ReportWorkload resolve_workload(const ReportOptions& o, const ModelSpec& m, const ParamsReport& p) {
  ReportWorkload w;
  const std::int64_t seq_default = m.n_ctx > 0 ? std::min<std::int64_t>(m.n_ctx, 2048) : 2048;
  w.batch                        = positive_count(o.batch, "--batch", 8);
  w.seq                          = positive_count(o.seq, "--seq", seq_default);
  if (w.seq > 100000000) throw InputError("invalid workload", "--seq", "at most 10^8 tokens");
  if (w.batch > 100000000) throw InputError("invalid workload", "--batch", "at most 10^8");
  if (o.tokens) {
    w.tokens = parse_quantity(*o.tokens, "--tokens");
    if (!(w.tokens > 0)) throw InputError("invalid token count", "--tokens", "must be positive");
    w.tokens_given = true;
  } else {
    w.tokens = rule_of_thumb_point({ScalingGiven::params, static_cast<double>(p.active)}).tokens;
    w.defaults.push_back("--tokens (20 x N, the Chinchilla rule of thumb)");
  }
  w.gpu  = resolve_gpu(o.gpu, "h100-sxm");
  w.gpus = resolve_gpu_count(o.gpu, 8);
  if (!o.gpu.gpu) w.defaults.push_back("--gpu h100-sxm");
  if (!o.gpu.gpus) w.defaults.push_back("--gpus 8");
  if (o.mfu) {
    w.mfu = parse_mfu(*o.mfu);
  } else {
    w.defaults.push_back(fmt::format("--mfu {} (an assumption, not a measurement)", kDefaultMfu));
  }
  w.precision = parse_precision(o.precision.value_or("mixed-bf16"));
  w.peak      = resolve_peak(w.gpu, o.precision.value_or("mixed-bf16"));
  w.optimizer = parse_optimizer(o.optimizer.value_or("adamw"));
  if (o.zero) {
    const std::int64_t z = parse_count(*o.zero, "--zero");
    if (z < 0 || z > 3) throw InputError("invalid ZeRO stage", "--zero", "must be 0, 1, 2 or 3");
    w.zero = static_cast<int>(z);
  }
  if (!o.batch) w.defaults.push_back("--batch 8");
  if (!o.seq) w.defaults.push_back(fmt::format("--seq {}", seq_default));
  if (!o.precision) w.defaults.push_back("--precision mixed-bf16");
  if (!o.optimizer) w.defaults.push_back("--optimizer adamw");
  return w;
}

Item given(const std::string& key, const std::string& label, nlohmann::json value,
           const std::string& shown, const std::string& source) {
  return {key, label, std::move(value), shown, {"given", shown, source}};
}

Section model_section(const ModelSpec& m, const std::string& source) {
  Section s{"model", "Model shape", {}, {}, true};
  auto num = [&](const char* key, const char* label, std::int64_t v) {
    s.rows.push_back(given(key, label, v, with_commas(static_cast<std::uint64_t>(v)), source));
  };
  auto word = [&](const char* key, const char* label, const std::string& v) {
    s.rows.push_back(given(key, label, v, v, source));
  };
  auto flag = [&](const char* key, const char* label, bool v) {
    s.rows.push_back(given(key, label, v, v ? "yes" : "no", source));
  };
  num("n_layer", "layers (L)", m.n_layer);
  num("n_embd", "hidden size (d)", m.n_embd);
  num("n_head", "attention heads (H)", m.n_head);
  num("n_head_kv", "key/value heads", m.n_head_kv);
  num("head_dim", "head width (Q)", m.head_dim);
  num("n_ff", "MLP inner width (f)", m.n_ff);
  num("n_vocab", "vocabulary (V)", m.n_vocab);
  num("n_ctx", "maximum positions", m.n_ctx);
  word("positions", "positions", to_string(m.positions));
  word("norm", "normalisation", to_string(m.norm));
  num("norms_per_layer", "norms per layer", m.norms_per_layer);
  flag("final_norm", "final norm", m.final_norm);
  word("mlp", "MLP", std::string(to_string(m.mlp)) + " (" + m.activation + ")");
  flag("linear_bias", "biases on attention projections", m.q_bias || m.o_bias);
  flag("mlp_bias", "biases on MLP projections", m.mlp_bias);
  flag("tied_head", "output head tied to the embedding", m.tied_head);
  if (m.is_moe()) {
    num("n_expert", "routed experts", m.n_expert);
    num("n_expert_used", "experts per token", m.n_expert_used);
    num("n_ff_expert", "expert inner width", m.n_ff_expert);
  }
  return s;
}

Section workload_section(const ReportWorkload& w, const ReportOptions& o) {
  Section s{"workload", "Workload", {}, {}, true};
  auto src = [](const std::optional<std::string>& v, const char* flag) {
    return v ? std::string(flag) : std::string("default");
  };
  s.rows.push_back(given("batch", "sequences per step (B)", w.batch,
                         with_commas(static_cast<std::uint64_t>(w.batch)),
                         src(o.batch, "--batch")));
  s.rows.push_back(given("seq_len", "tokens per sequence (T)", w.seq,
                         with_commas(static_cast<std::uint64_t>(w.seq)), src(o.seq, "--seq")));
  s.rows.push_back(given("tokens", "training tokens (D)", w.tokens,
                         fmt::format("{} ({})", sci(w.tokens), human_count(w.tokens)),
                         w.tokens_given ? "--tokens" : "20 x N (Chinchilla rule of thumb)"));
  const std::string gpu_source =
      w.gpu.name == "custom" ? "--gpu custom" : "GPU catalog (`sizeup gpus " + w.gpu.name + "`)";
  s.rows.push_back(given("gpu", "accelerator", w.gpu.name, w.gpu.display_name, gpu_source));
  s.rows.push_back(given("gpus", "accelerators (G)", w.gpus,
                         with_commas(static_cast<std::uint64_t>(w.gpus)),
                         src(o.gpu.gpus, "--gpus")));
  s.rows.push_back(given("peak_flops_per_s", "dense peak per GPU (P)", w.peak.flops_per_s,
                         fmt::format("{:g} TFLOP/s ({})", w.peak.flops_per_s / 1e12, w.peak.dtype),
                         gpu_source));
  s.rows.push_back(given("mfu", "model FLOPs utilisation", w.mfu, fmt::format("{:g}", w.mfu),
                         o.mfu ? "--mfu" : "default (assumed)"));
  s.rows.push_back(given("precision", "precision recipe", to_string(w.precision),
                         to_string(w.precision), src(o.precision, "--precision")));
  s.rows.push_back(given("optimizer", "optimizer", to_string(w.optimizer), to_string(w.optimizer),
                         src(o.optimizer, "--optimizer")));
  if (!w.defaults.empty()) {
    std::string list;
    for (const auto& d : w.defaults) list += (list.empty() ? "" : ", ") + d;
    s.notes.push_back("defaults used: " + list);
  }
  return s;
}

Section params_section(const ModelSpec& m, const ParamsReport& p) {
  Section s{"parameters", "Parameters by component", {}, {}, false};
  append<ParamCount>(s, p.components,
                     [](const Row<ParamCount>& r) { return with_commas(r.value); });
  std::string sum_formula, sum_values;
  for (const auto& r : p.components.rows) {
    sum_formula += (sum_formula.empty() ? "" : " + ") + r.key;
    sum_values += (sum_values.empty() ? "" : " + ") + with_commas(r.value);
  }
  s.rows.push_back({"total",
                    "total parameters (N)",
                    p.total,
                    with_commas(p.total),
                    {sum_formula, sum_values, "HF num_parameters() convention (tied head once)"}});
  s.rows.push_back({"embedding",
                    "embedding parameters",
                    p.embedding,
                    with_commas(p.embedding),
                    {"token + position tables + untied head", "", "Kaplan et al. 2020, Sec. 2.1"}});
  s.rows.push_back({"non_embedding",
                    "non-embedding parameters",
                    p.non_embedding,
                    with_commas(p.non_embedding),
                    {"total - embedding", with_commas(p.total) + " - " + with_commas(p.embedding),
                     "Kaplan et al. 2020, Sec. 2.1"}});
  if (m.is_moe())
    s.rows.push_back({"active", "active parameters per token", p.active, with_commas(p.active),
                      p.active_derivation});
  return s;
}

Section weights_section(const ParamsReport& p) {
  Section s{"weights", "Weight memory", {}, {}, false};
  struct F {
    const char* key;
    const char* label;
    int bits;
  };
  for (const F& f :
       {F{"fp32_bytes", "weights in fp32", 32}, F{"bf16_bytes", "weights in bf16/fp16", 16},
        F{"int8_bytes", "weights in int8", 8}, F{"int4_bytes", "weights in int4", 4}}) {
    const ByteCount b = weight_bytes(p.total, f.bits);
    s.rows.push_back({f.key,
                      f.label,
                      b,
                      bytes_shown(b),
                      {fmt::format("N * {} bits / 8", f.bits),
                       fmt::format("{} * {} / 8", with_commas(p.total), f.bits),
                       "storage only, no quantisation scales (see sizeup infer)"}});
  }
  s.notes.push_back("GB = 10^9 bytes, GiB = 2^30 bytes");
  return s;
}

// Serving the model in bf16 with a bf16 KV cache for B sequences of T tokens on one GPU.
Section inference_section(const ModelSpec& m, const ReportWorkload& w) {
  Section s{"inference", "Inference memory (bf16 weights and KV cache, one GPU)", {}, {}, false};
  InferenceInput in;
  in.batch                = w.batch;
  in.context              = w.seq;
  const InferenceReport r = inference_memory(m, in);
  auto show               = [](const Row<double>& row) {
    return bytes_shown(static_cast<ByteCount>(std::llround(row.value)));
  };
  for (const auto& row : r.memory.rows)
    s.rows.push_back({row.key, row.label, row.value, show(row), row.derivation});
  const auto total = static_cast<ByteCount>(std::llround(r.total_bytes));
  const auto heur  = static_cast<ByteCount>(std::llround(r.heuristic_1_2x_bytes));
  s.rows.push_back({"heuristic_1_2x_bytes", "1.2 x weights heuristic", r.heuristic_1_2x_bytes,
                    bytes_shown(heur), r.heuristic_derivation});
  InferenceDevice dev;
  dev.memory_bytes          = w.gpu.memory_bytes;
  dev.bandwidth_bytes_per_s = w.gpu.memory_bandwidth_bytes_per_s;
  dev.peak_flops_per_s      = w.peak.flops_per_s;
  if (dev.memory_bytes > 0) {
    const InferenceFitReport f = inference_fit(m, in, dev);
    s.rows.push_back({"fits",
                      "fits on one " + w.gpu.name,
                      f.fits,
                      f.fits ? "yes" : "no",
                      {"total <= GPU memory",
                       fmt::format("{} <= {}", with_commas(total), with_commas(w.gpu.memory_bytes)),
                       "GPU catalog"}});
    s.rows.push_back({"max_batch",
                      "largest batch at T on one GPU",
                      f.max_batch,
                      with_commas(static_cast<std::uint64_t>(f.max_batch)),
                      {"largest b with total(b, T) <= GPU memory", "", "sizeup infer"}});
  }
  for (const auto& n : r.notes) s.notes.push_back(n);
  return s;
}

// Training memory of one GPU: the B sequences of a step split over G data-parallel GPUs
// (ZeRO 0, no tensor or pipeline parallelism), the chosen recipe and optimizer.
Section training_memory_section(const ModelSpec& m, const ReportWorkload& w) {
  Section s{"training_memory", "Training memory per GPU", {}, {}, false};
  TrainInput in;
  const std::int64_t micro  = (w.batch + w.gpus - 1) / w.gpus;
  in.workload.micro_batch   = micro;
  in.workload.seq_len       = w.seq;
  in.workload.global_batch  = micro * w.gpus;
  in.precision              = w.precision;
  in.optimizer              = w.optimizer;
  in.plan.dp                = w.gpus;
  in.plan.zero              = w.zero;
  in.gpus                   = w.gpus;
  in.gpus_per_node          = w.gpu.gpus_per_node;
  in.gpu_memory_bytes       = w.gpu.memory_bytes;
  const TrainMemoryReport r = train_memory(m, in);
  for (const auto& row : r.rows.rows)
    s.rows.push_back({row.key, row.label, row.value, bytes_shown(row.value), row.derivation});
  std::string sum_formula, sum_values;
  for (const auto& row : r.rows.rows) {
    sum_formula += (sum_formula.empty() ? "" : " + ") + row.key;
    sum_values += (sum_values.empty() ? "" : " + ") + with_commas(row.value);
  }
  s.rows.push_back({"total_bytes",
                    "total per GPU",
                    r.total_bytes,
                    bytes_shown(r.total_bytes),
                    {sum_formula, sum_values, "sizeup train (most loaded GPU)"}});
  if (r.limit_bytes > 0)
    s.rows.push_back(
        {"fits",
         "fits on one " + w.gpu.name,
         r.fits,
         r.fits ? "yes" : "no",
         {"total <= GPU memory",
          fmt::format("{} <= {}", with_commas(r.total_bytes), with_commas(r.limit_bytes)),
          "GPU catalog"}});
  for (const auto& h : seed_heuristics(m, r.params_total, micro, w.seq)) {
    std::string formula, values;
    for (const auto& row : h.rows.rows) {
      formula += (formula.empty() ? "" : " + ") + row.key;
      values += (values.empty() ? "" : " + ") + with_commas(row.value);
    }
    // "seed 002 (...)" -> heuristic_seed_002
    std::string id = h.source.substr(0, h.source.find(' ', 5));
    std::replace(id.begin(), id.end(), ' ', '_');
    s.rows.push_back({"heuristic_" + id,
                      h.source + " estimate",
                      h.total_bytes,
                      bytes_shown(h.total_bytes),
                      {formula, values, h.source}});
  }
  s.notes.push_back(fmt::format(
      "{} sequences per step over {} data-parallel GPUs: micro-batch {} of {} tokens per GPU, "
      "ZeRO {} (--zero; see `sizeup train` for tensor and pipeline parallelism)",
      w.batch, w.gpus, micro, w.seq, w.zero));
  if (micro * w.gpus != w.batch)
    s.notes.push_back(fmt::format("{} sequences do not divide over {} GPUs: rounded up to {}",
                                  w.batch, w.gpus, micro * w.gpus));
  for (const auto& n : r.notes) s.notes.push_back(n);
  return s;
}

Section flops_section(const ModelSpec& m, const ReportWorkload& w) {
  Section s{"flops", "FLOPs per token and per step", {}, {}, false};
  FlopsInput in;
  in.seq_len          = w.seq;
  in.batch            = w.batch;
  const FlopsReport r = flops(m, in);
  auto show           = [](const Row<FlopCount>& row) { return flops_shown(row.value); };
  append<FlopCount>(s, r.forward_per_token, show, "forward_");
  append<FlopCount>(s, r.totals, show);
  for (const auto& row : r.approximations.rows)
    if (row.key == "training_6n" || row.key == "training_6n_active" || row.key == "palm")
      s.rows.push_back(
          {"approx_" + row.key, row.label + " per token", row.value, show(row), row.derivation});
  s.notes.push_back(
      "forward rows count every matrix product (a multiply-add is 2 FLOPs) per token; backward = "
      "2 x forward; a step is B x T tokens (see `sizeup flops` for all approximations)");
  for (const auto& n : r.notes) s.notes.push_back(n);
  return s;
}

Section time_section(const ParamsSource& src, const ReportWorkload& w) {
  Section s{"training_time", "Training time and cost", {}, {}, false};
  TrainTimeInput in;
  in.params               = src.params;
  in.tokens               = w.tokens;
  in.attention            = src.attention;
  in.gpus                 = w.gpus;
  in.peak_flops_per_s     = w.peak.flops_per_s;
  in.mfu                  = w.mfu;
  in.board_power_watts    = w.gpu.board_power_watts;
  const TrainTimeReport r = train_time(in);
  append<double>(s, r.rows, [](const Row<double>& row) {
    if (row.key.find("days") != std::string::npos || row.key == "gpu_hours" ||
        row.key == "energy_kwh")
      return row.value >= 1000 ? commas(row.value) : fmt::format("{:.4g}", row.value);
    if (row.key.find("seconds") != std::string::npos) return fmt::format("{} s", commas(row.value));
    if (row.key == "pflop_days") return fmt::format("{:.6g}", row.value);
    return sci(row.value);
  });
  if (w.gpu.board_power_watts) s.notes.push_back("energy counts GPU board power only (PUE 1.0)");
  return s;
}

Section scaling_section(const ParamsReport& p, const ReportWorkload& w) {
  Section s{"scaling", "Compute-optimal data (Chinchilla)", {}, {}, false};
  const double n              = static_cast<double>(p.active);
  const ScalingPoint rule     = rule_of_thumb_point({ScalingGiven::params, n});
  const ScalingPoint approach = approach3_point({ScalingGiven::params, n});
  auto show                   = [](const Row<double>& r) {
    if (r.key == "loss") return fmt::format("{:.4f} nats/token", r.value);
    if (r.key == "compute_flops") return flops_shown(r.value);
    return fmt::format("{} ({})", sci(r.value), human_count(r.value));
  };
  auto label = [](const Row<double>& r) {
    return r.key == "loss" ? std::string("predicted loss") : r.label;
  };
  for (const auto& r : rule.rows.rows)
    if (r.key != "params")
      s.rows.push_back({"rule_" + r.key, label(r) + " (D = 20N)", r.value, show(r), r.derivation});
  for (const auto& r : approach.rows.rows)
    if (r.key != "params")
      s.rows.push_back(
          {"approach3_" + r.key, label(r) + " (Approach 3 fit)", r.value, show(r), r.derivation});
  const double loss = predicted_loss(n, w.tokens);
  s.rows.push_back({"loss_at_tokens",
                    "predicted loss at the given D",
                    loss,
                    fmt::format("{:.4f} nats/token", loss),
                    {"E + A / N^alpha + B / D^beta",
                     fmt::format("1.69 + 406.4 / {:.6g}^0.34 + 410.7 / {:.6g}^0.28", n, w.tokens),
                     "Hoffmann et al. 2022, Appendix D.2 (Approach 3 fit)"}});
  s.rows.push_back({"tokens_per_param",
                    "tokens per parameter (D / N)",
                    w.tokens / n,
                    fmt::format("{:.3g}", w.tokens / n),
                    {"D / N", fmt::format("{} / {}", sci(w.tokens), with_commas(p.active)), ""}});
  if (p.active != p.total) s.notes.push_back("N is the active parameter count per token");
  return s;
}

nlohmann::json section_json(const Section& s) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : s.rows)
    rows.push_back({{"key", r.key},
                    {"label", r.label},
                    {"value", r.value},
                    {"shown", r.shown},
                    {"formula", r.derivation.formula},
                    {"substituted", r.derivation.substituted},
                    {"source", r.derivation.source}});
  return {{"key", s.key}, {"title", s.title}, {"rows", rows}, {"notes", s.notes}};
}

std::string section_markdown(const Section& s) {
  std::string md = "## " + s.title + "\n\n";
  if (s.as_table) {
    std::string t = "| quantity | value | source |\n| --- | --- | --- |\n";
    for (const auto& r : s.rows)
      t += "| " + r.label + " | " + r.shown + " | " + r.derivation.source + " |\n";
    md += t;
  } else {
    for (const auto& r : s.rows) md += explain_row(r.label, r.derivation, r.shown);
  }
  if (!s.notes.empty()) {
    md += "\n";
    for (const auto& n : s.notes) md += "_Note: " + n + "_  \n";
  }
  return md + "\n";
}

Output report_output(const ReportOptions& o) {
  const ModelSpec m      = resolve_model(o.model);
  const ParamsReport p   = count_params(m);
  const ReportWorkload w = resolve_workload(o, m, p);
  ParamsSource src;
  src.params = static_cast<double>(p.active);
  src.model  = m.name;
  if (m.n_attention_layers() + m.n_layer_dec > 0) src.attention = attention_shape(m, w.seq);

  const std::string model_source =
      o.model.model.empty() ? "command-line shape flags" : "model config (" + o.model.model + ")";
  const std::vector<Section> sections = {model_section(m, model_source),
                                         workload_section(w, o),
                                         params_section(m, p),
                                         weights_section(p),
                                         inference_section(m, w),
                                         training_memory_section(m, w),
                                         flops_section(m, w),
                                         time_section(src, w),
                                         scaling_section(p, w)};

  std::string md = fmt::format("# Sizing up {}: a worked example\n\n", m.name);
  md += fmt::format(
      "{} parameters ({}), {} layers of width {}; {} sequences of {} tokens per step, {} "
      "training tokens on {} x {} at MFU {:g}.\n\n",
      with_commas(p.total), human_count(static_cast<double>(p.total)), m.n_layer, m.n_embd, w.batch,
      w.seq, human_count(w.tokens), w.gpus, w.gpu.name, w.mfu);
  md +=
      "Each quantity is shown as its formula, the same with values substituted, and the "
      "result, with its source. GB = 10^9 bytes, GiB = 2^30 bytes.\n\n";
  for (const auto& s : sections) md += section_markdown(s);

  Output out;
  out.json["model"]    = m.name;
  out.json["sections"] = nlohmann::json::array();
  for (const auto& s : sections) out.json["sections"].push_back(section_json(s));
  out.json["output"] = o.output ? nlohmann::json(*o.output) : nlohmann::json(nullptr);
  if (o.output) {
    std::ofstream f(*o.output, std::ios::binary | std::ios::trunc);
    if (!f) throw InputError("cannot write report", "--output", "cannot open '" + *o.output + "'");
    f << md;
    f.close();
    if (!f)
      throw InputError("cannot write report", "--output", "write to '" + *o.output + "' failed");
    out.text = fmt::format("wrote {} ({} bytes)\n", *o.output, md.size());
  } else {
    out.text = md;
  }
  return out;
}

}  // namespace

Action register_report(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand(
      "report", "a complete worked example in Markdown: shape, parameters, memory, FLOPs, time");
  auto o = std::make_shared<ReportOptions>();
  add_model_options(app, o->model);
  add_gpu_options(app, o->gpu, "h100-sxm");
  add_quantity(app, "--batch", o->batch, "sequences per optimizer step (default 8)");
  add_quantity(app, "--seq", o->seq, "tokens per sequence (default min(max positions, 2048))");
  add_quantity(app, "--tokens", o->tokens, "training tokens D (default 20 x N)");
  add_quantity(app, "--mfu", o->mfu, "model FLOPs utilisation in (0, 1] (default 0.4)");
  app->add_option("--precision", o->precision,
                  "training recipe: fp32, bf16, fp16, mixed-bf16 (default), mixed-fp16, fp8");
  app->add_option("--optimizer", o->optimizer,
                  "adamw (default), adam8bit, sgd, sgd-momentum, adafactor, lion");
  add_quantity(app, "--zero", o->zero, "ZeRO stage 0-3 for the training memory (default 0)");
  app->add_option("--output", o->output, "write the Markdown report to FILE");
  return [o] { return report_output(*o); };
}

}  // namespace sizeup::cli
