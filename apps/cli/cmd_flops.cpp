// sizeup flops MODEL: FLOPs per token and per step by operation (forward, backward,
// recomputation), with the published approximations beside the detailed count.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "sizeup/error.hpp"
#include "sizeup/flops.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

// Without --seq: the model's maximum positions, at most this many tokens.
constexpr std::int64_t kDefaultSeqCap = 2048;
// Sequences per step and tokens per sequence beyond these are not plausible inputs.
constexpr std::int64_t kMaxSeq   = std::int64_t{1} << 40;
constexpr std::int64_t kMaxBatch = std::int64_t{1} << 50;

struct FlopsOptions {
  ModelOptions model;
  std::optional<std::string> seq, batch, recompute;
  bool causal_halving = false;
};

std::int64_t count_option(const std::optional<std::string>& v, const char* field,
                          std::int64_t max) {
  const std::int64_t n = parse_count(*v, field);
  if (n < 1) throw InputError("invalid workload", field, "must be at least 1");
  if (n > max) throw InputError("invalid workload", field, fmt::format("must be at most {}", max));
  return n;
}

// A FLOP count with thousands separators (two decimals when it is not whole), or in
// scientific notation beyond what 64-bit integers show exactly.
std::string count(double v) {
  if (!(v < 9e18)) return fmt::format("{:.4e}", v);
  const double whole = std::floor(v);
  std::string s      = with_commas(static_cast<std::uint64_t>(whole));
  if (v != whole) s += fmt::format("{:.2f}", v - whole).substr(1);
  return s;
}

std::string share(double part, double total) {
  return total > 0 ? fmt::format("{:.2f}%", 100.0 * part / total) : "-";
}

Output flops_output(const FlopsOptions& o) {
  const ModelSpec m = resolve_model(o.model);
  FlopsInput in;
  std::vector<std::string> notes;
  if (o.seq) {
    in.seq_len = count_option(o.seq, "--seq", kMaxSeq);
  } else {
    in.seq_len = m.n_ctx > 0 ? std::min(m.n_ctx, kDefaultSeqCap) : kDefaultSeqCap;
    notes.push_back(fmt::format(
        "T = {} tokens per sequence (default: the model's maximum positions, at most {}); "
        "pass --seq",
        in.seq_len, kDefaultSeqCap));
  }
  if (m.n_ctx > 0 && in.seq_len > m.n_ctx)
    notes.push_back(
        fmt::format("--seq {} exceeds the model's maximum positions {}", in.seq_len, m.n_ctx));
  in.batch            = o.batch ? count_option(o.batch, "--batch", kMaxBatch) : 1;
  in.causal_halving   = o.causal_halving;
  in.recompute        = o.recompute ? parse_recompute(*o.recompute) : Recompute::none;
  const FlopsReport r = flops(m, in);
  for (const auto& n : r.notes) notes.push_back(n);

  Output out;
  auto& j              = out.json;
  j["model"]           = m.name;
  j["seq"]             = in.seq_len;
  j["batch"]           = in.batch;
  j["tokens_per_step"] = static_cast<double>(in.batch) * static_cast<double>(in.seq_len);
  j["causal_halving"]  = in.causal_halving;
  j["recompute"]       = to_string(in.recompute);
  j["flops"]           = {{"forward_per_token", r.forward_per_token_total},
                          {"backward_per_token", r.backward_per_token},
                          {"training_per_token", r.training_per_token},
                          {"recompute_per_token", r.recompute_per_token},
                          {"hardware_per_token", r.hardware_per_token},
                          {"forward_per_step", r.forward_per_step},
                          {"training_per_step", r.training_per_step},
                          {"hardware_per_step", r.hardware_per_step},
                          {"attention_core_per_token", r.attention_core_per_token},
                          {"layer_forward_per_token", r.layer_forward_per_token},
                          {"breakdown", rows_json(r.forward_per_token)},
                          {"approximations", rows_json(r.approximations)},
                          {"derivations",
                           {{"breakdown", derivations_json(r.forward_per_token)},
                            {"totals", derivations_json(r.totals)},
                            {"approximations", derivations_json(r.approximations)}}}};
  j["units"]           = "FLOPs are counts of floating-point operations (a multiply-add is 2)";
  j["notes"]           = notes;

  const double tokens = static_cast<double>(in.batch) * static_cast<double>(in.seq_len);
  std::vector<std::vector<std::string>> ops = {
      {"forward operation", "FLOPs (count) per token", "share", "FLOPs (count) per step"}};
  for (const auto& row : r.forward_per_token.rows)
    ops.push_back({row.label, count(row.value), share(row.value, r.forward_per_token_total),
                   count(row.value * tokens)});
  ops.push_back(
      {"forward total", count(r.forward_per_token_total), "100.00%", count(r.forward_per_step)});

  std::vector<std::vector<std::string>> totals = {{"total", "FLOPs (count)"}};
  for (const auto& row : r.totals.rows) totals.push_back({row.label, count(row.value)});

  std::vector<std::vector<std::string>> approx = {
      {"approximation (per token)", "FLOPs (count)", "compare with", "ratio"}};
  for (const auto& row : r.approximations.rows) {
    // Each approximation is set against the detailed quantity it estimates.
    const bool is_training =
        row.key.rfind("training_6n", 0) == 0 || row.key == "palm" || row.key == "korthikanti_model";
    const bool is_hardware = row.key == "narayanan" || row.key == "korthikanti_selective";
    const bool is_forward  = row.key.rfind("forward_2n", 0) == 0 || row.key == "kaplan_forward";
    std::string against = "-", ratio = "-";
    double ref = 0;
    if (is_training) {
      against = "model FLOPs";
      ref     = r.training_per_token;
    } else if (is_forward) {
      against = "forward";
      ref     = r.forward_per_token_total;
    } else if (is_hardware) {
      // Narayanan's Eq. 3 includes full recomputation; Korthikanti's Eq. 8 the selective one.
      const bool full = row.key == "narayanan";
      against         = full ? "training + full recompute" : "training + selective recompute";
      ref = r.training_per_token + (full ? r.layer_forward_per_token : r.attention_core_per_token);
    }
    if (ref > 0) ratio = fmt::format("{:.4f}", row.value / ref);
    approx.push_back({row.label, count(row.value), against, ratio});
  }

  out.text = fmt::format(
                 "{} ({}): FLOPs (count) for T = {} tokens per sequence, B = {} sequences per "
                 "step, causal halving {}, recompute {}\n\n",
                 m.name, m.family, in.seq_len, in.batch, in.causal_halving ? "on" : "off",
                 to_string(in.recompute)) +
             table(ops) + "\n" + table(totals) + "\n" + table(approx);
  for (const auto& n : notes) out.text += "note: " + n + "\n";

  auto show   = [](const FlopCount& v) { return count(v) + " FLOPs"; };
  out.explain = "## FLOPs of " + m.name + "\n\n";
  out.explain += fmt::format(
      "T = {} tokens per sequence, B = {} sequences per step, causal halving {}, recompute "
      "{}.\n\n",
      in.seq_len, in.batch, in.causal_halving ? "on" : "off", to_string(in.recompute));
  out.explain +=
      explain_rows<FlopCount>("Forward FLOPs per token, by operation", r.forward_per_token, show) +
      "\n";
  out.explain += explain_rows<FlopCount>("Totals", r.totals, show) + "\n";
  out.explain +=
      explain_rows<FlopCount>("Approximations (per token)", r.approximations, show) + "\n";
  if (!notes.empty()) {
    out.explain += "### Assumptions\n\n";
    for (const auto& n : notes) out.explain += "- " + n + "\n";
  }
  return out;
}

}  // namespace

Action register_flops(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("flops",
                                  "FLOPs per token and per step, by operation, with the "
                                  "classic approximations");
  auto o    = std::make_shared<FlopsOptions>();
  add_model_options(app, o->model);
  add_quantity(app, "--seq", o->seq,
               "tokens per sequence T (default: the model's maximum positions, at most 2048)");
  add_quantity(app, "--batch", o->batch, "sequences per step, whole cluster (default 1)");
  app->add_flag("--causal-halving", o->causal_halving,
                "count only the unmasked keys of causal attention ((T+1)/2 per query)");
  app->add_option("--recompute", o->recompute,
                  "none, selective or full activation recomputation (hardware FLOPs)");
  return [o] { return flops_output(*o); };
}

}  // namespace sizeup::cli
