// sizeup flops MODEL: FLOPs per token and per step by operation (forward, backward,
// recomputation), with the published approximations beside the detailed count (flops.hpp).
#include "sizeup/flops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"

namespace sizeup::cmd {
namespace {

// Without seq: the model's maximum positions, at most this many tokens.
constexpr std::int64_t kDefaultSeqCap = 2048;
// Sequences per step and tokens per sequence beyond these are not plausible inputs.
constexpr std::int64_t kMaxSeq   = std::int64_t{1} << 40;
constexpr std::int64_t kMaxBatch = std::int64_t{1} << 50;

std::int64_t bounded(const Options& o, const char* name, std::int64_t max) {
  const std::int64_t n = *count_option(o, name);
  if (n < 1) throw InputError("invalid workload", name, "must be at least 1");
  if (n > max) throw InputError("invalid workload", name, fmt::format("must be at most {}", max));
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

// The detailed quantity an approximation estimates, and its name.
std::pair<std::string, double> reference(const FlopsReport& r, const std::string& key) {
  if (key.rfind("training_6n", 0) == 0 || key == "palm" || key == "korthikanti_model")
    return {"model FLOPs", r.training_per_token};
  if (key.rfind("forward_2n", 0) == 0 || key == "kaplan_forward")
    return {"forward", r.forward_per_token_total};
  // Narayanan's Eq. 3 includes full recomputation; Korthikanti's Eq. 8 the selective one.
  if (key == "narayanan")
    return {"training + full recompute", r.training_per_token + r.layer_forward_per_token};
  if (key == "korthikanti_selective")
    return {"training + selective recompute", r.training_per_token + r.attention_core_per_token};
  return {"-", 0};
}

Report flops_report(const Options& o) {
  const ModelSpec m = resolve_model(o);
  FlopsInput in;
  std::vector<std::string> notes;
  if (has_option(o, "seq")) {
    in.seq_len = bounded(o, "seq", kMaxSeq);
  } else {
    in.seq_len = m.n_ctx > 0 ? std::min(m.n_ctx, kDefaultSeqCap) : kDefaultSeqCap;
    notes.push_back(fmt::format(
        "T = {} tokens per sequence (default: the model's maximum positions, at most {}); set seq",
        in.seq_len, kDefaultSeqCap));
  }
  if (m.n_ctx > 0 && in.seq_len > m.n_ctx)
    notes.push_back(
        fmt::format("seq {} exceeds the model's maximum positions {}", in.seq_len, m.n_ctx));
  in.batch          = has_option(o, "batch") ? bounded(o, "batch", kMaxBatch) : 1;
  in.causal_halving = flag_option(o, "causal_halving");
  if (const auto v = text_option(o, "recompute")) in.recompute = parse_recompute(*v, "recompute");
  const FlopsReport r = flops(m, in);
  for (const auto& n : r.notes) notes.push_back(n);

  Report rep;
  auto& j              = rep.data;
  j["model"]           = m.name;
  j["seq"]             = in.seq_len;
  j["batch"]           = in.batch;
  j["tokens_per_step"] = static_cast<double>(in.batch) * static_cast<double>(in.seq_len);
  j["causal_halving"]  = in.causal_halving;
  j["recompute"]       = to_string(in.recompute);
  j["flops"]           = {{"breakdown", rows_json(r.forward_per_token)},
                          {"approximations", rows_json(r.approximations)},
                          {"derivations",
                           {{"breakdown", derivations_json(r.forward_per_token)},
                            {"totals", derivations_json(r.totals)},
                            {"approximations", derivations_json(r.approximations)}}}};
  j["units"]           = "FLOPs are counts of floating-point operations (a multiply-add is 2)";

  const std::string halving = in.causal_halving ? "on" : "off";
  rep.title                 = fmt::format(
                      "FLOPs of {} ({}): FLOPs (count) for T = {} tokens per sequence, B = {} sequences per step, "
                                      "causal "
                                      "halving {}, recompute {}",
                      m.name, m.family, in.seq_len, in.batch, halving, to_string(in.recompute));
  rep.explain_intro = fmt::format(
      "T = {} tokens per sequence, B = {} sequences per step, causal halving {}, recompute {}.",
      in.seq_len, in.batch, halving, to_string(in.recompute));

  const double tokens = static_cast<double>(in.batch) * static_cast<double>(in.seq_len);
  auto& ops           = rep.section(
                "Forward FLOPs per token, by operation",
                {"forward operation", "FLOPs (count) per token", "share", "FLOPs (count) per step"});
  for (const auto& row : r.forward_per_token.rows)
    ops.rows.push_back(
        make_row("", row.label, row.value, Unit::flops, row.derivation,
                 {share(row.value, r.forward_per_token_total), count(row.value * tokens)},
                 count(row.value)));
  ops.rows.push_back(make_row("flops.forward_per_token", "forward total", r.forward_per_token_total,
                              Unit::flops, {}, {"100.00%", count(r.forward_per_step)},
                              count(r.forward_per_token_total)));

  // The totals, each a JSON key of its own: the rows of flops.hpp plus the per-step figures.
  auto& tot                                    = rep.section("Totals", {"total", "FLOPs (count)"});
  const std::pair<const char*, double> keyed[] = {
      {"backward_per_token", r.backward_per_token},
      {"training_per_token", r.training_per_token},
      {"recompute_per_token", r.recompute_per_token},
      {"hardware_per_token", r.hardware_per_token},
      {"forward_per_step", r.forward_per_step},
      {"training_per_step", r.training_per_step},
      {"hardware_per_step", r.hardware_per_step},
      {"attention_core_per_token", r.attention_core_per_token},
      {"layer_forward_per_token", r.layer_forward_per_token}};
  for (const auto& row : r.totals.rows)
    tot.rows.push_back(
        make_row("", row.label, row.value, Unit::flops, row.derivation, {}, count(row.value)));
  for (const auto& [key, value] : keyed)
    tot.rows.push_back(make_row(std::string("flops.") + key, key, value, Unit::flops, {}, {},
                                count(value), false));

  auto& approx =
      rep.section("Approximations (per token)",
                  {"approximation (per token)", "FLOPs (count)", "compare with", "ratio"});
  for (const auto& row : r.approximations.rows) {
    const auto [against, ref] = reference(r, row.key);
    approx.rows.push_back(make_row(
        "", row.label, row.value, Unit::flops, row.derivation,
        {against, ref > 0 ? fmt::format("{:.4f}", row.value / ref) : "-"}, count(row.value)));
  }
  add_notes(rep, notes);
  return rep;
}

}  // namespace

CommandSpec flops_command() {
  using K      = OptionKind;
  auto options = model_options();
  for (auto& spec : std::vector<OptionSpec>{
           {"seq",
            K::count,
            "tokens per sequence T (default: the model's maximum positions, at most 2048)",
            "",
            {},
            "",
            false},
           {"batch", K::count, "sequences per step, whole cluster (default 1)", "", {}, "", false},
           {"causal_halving",
            K::flag,
            "count only the unmasked keys of causal attention ((T+1)/2 per query)",
            "",
            {},
            "",
            false},
           {"recompute",
            K::text,
            "none, selective or full activation recomputation (hardware "
            "FLOPs)",
            "",
            {},
            "",
            false}})
    options.push_back(std::move(spec));
  return {"flops", "FLOPs per token and per step, by operation, with the classic approximations",
          std::move(options), flops_report};
}

}  // namespace sizeup::cmd
