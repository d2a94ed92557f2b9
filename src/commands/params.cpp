// sizeup params: the exact parameter breakdown and weight memory of a model.
#include "sizeup/params.hpp"

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "sizeup/json.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

struct WeightFormat {
  const char* name;
  int bits;
};
// Plain storage, no quantisation scales (those are in `sizeup infer`).
constexpr WeightFormat kWeightFormats[] = {
    {"fp32", 32}, {"bf16/fp16", 16}, {"fp8", 8}, {"int8", 8}, {"int4", 4}};

std::string pct(ParamCount part, ParamCount total) {
  return total ? fmt::format("{:.2f}%",
                             100.0 * static_cast<double>(part) / static_cast<double>(total))
               : "-";
}

Report params_report(const Options& o) {
  const ModelSpec m    = resolve_model(o);
  const ParamsReport p = count_params(m);
  Report r;
  r.title = fmt::format("{} ({}): {} parameters ({})", m.name, m.family, with_commas(p.total),
                        human_count(static_cast<double>(p.total)));
  r.data["model"] = to_json(m);
  r.data["units"] = {{"gb", "10^9 bytes"}, {"gib", "2^30 bytes"}};

  auto& parts = r.section("Parameters of " + m.name, {"component", "parameters", "share"});
  for (const auto& row : p.components.rows)
    parts.rows.push_back({"params.components." + row.key,
                          row.label,
                          row.value,
                          Unit::count,
                          row.derivation,
                          {pct(row.value, p.total)},
                          "",
                          true});
  parts.rows.push_back({"params.total",
                        "total",
                        p.total,
                        Unit::count,
                        {"sum of the rows above", "", "HF num_parameters() convention"},
                        {"100.00%"},
                        "",
                        true});
  parts.rows.push_back({"params.embedding",
                        "embedding (token, position, untied head)",
                        p.embedding,
                        Unit::count,
                        {},
                        {pct(p.embedding, p.total)},
                        "",
                        true});
  parts.rows.push_back({"params.non_embedding",
                        "non-embedding",
                        p.non_embedding,
                        Unit::count,
                        {},
                        {pct(p.non_embedding, p.total)},
                        "",
                        true});
  parts.rows.push_back({"params.active",
                        "active per token",
                        p.active,
                        Unit::count,
                        m.is_moe() ? p.active_derivation : Derivation{},
                        {pct(p.active, p.total)},
                        "",
                        m.is_moe()});
  if (p.components.rows.empty()) r.data["params"]["components"] = nlohmann::json::object();

  // Weight memory in plain formats: a table of its own (one line per format).
  auto& mem         = r.section("Weight memory", {"weights as", "bytes", "GB (1e9)", "GiB (2^30)"});
  r.data["weights"] = nlohmann::json::array();
  for (const auto& f : kWeightFormats) {
    const ByteCount b = weight_bytes(p.total, f.bits);
    r.data["weights"].push_back(
        {{"dtype", f.name}, {"bits", f.bits}, {"bytes", b}, {"gb", to_gb(b)}, {"gib", to_gib(b)}});
    const Derivation d = {fmt::format("P * {} / 8 bytes", f.bits),
                          fmt::format("{} * {} / 8", p.total, f.bits), ""};
    mem.rows.push_back({"",
                        f.name,
                        b,
                        Unit::count,
                        d,
                        {fmt::format("{:.3f}", to_gb(b)), fmt::format("{:.3f}", to_gib(b))},
                        with_commas(b),
                        true});
  }
  return r;
}

}  // namespace

CommandSpec params_command() {
  return {"params", "exact parameter breakdown and weight memory", model_options(), params_report};
}

}  // namespace sizeup::cmd
