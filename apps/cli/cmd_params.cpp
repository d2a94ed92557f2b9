#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/json.hpp"
#include "sizeup/params.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cli {
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

Output params_output(const ModelSpec& m) {
  const ParamsReport r = count_params(m);
  Output out;
  out.json["model"]  = to_json(m);
  out.json["params"] = {{"total", r.total},
                        {"active", r.active},
                        {"embedding", r.embedding},
                        {"non_embedding", r.non_embedding},
                        {"components", rows_json(r.components)}};
  if (m.vision.present()) {  // multimodal: language model, tower and projector apart
    out.json["params"]["language_model"] = r.language_model;
    out.json["params"]["vision_tower"]   = r.vision_tower;
    out.json["params"]["projector"]      = r.projector;
  }
  out.json["units"]                          = {{"gb", "10^9 bytes"}, {"gib", "2^30 bytes"}};
  std::vector<std::vector<std::string>> rows = {{"component", "parameters", "share"}};
  for (const auto& row : r.components.rows)
    rows.push_back({row.label, with_commas(row.value), pct(row.value, r.total)});
  rows.push_back({"total", with_commas(r.total), "100.00%"});
  rows.push_back({"embedding (token, position, untied head)", with_commas(r.embedding),
                  pct(r.embedding, r.total)});
  rows.push_back({"non-embedding", with_commas(r.non_embedding), pct(r.non_embedding, r.total)});
  if (m.is_moe())
    rows.push_back({"active per token", with_commas(r.active), pct(r.active, r.total)});
  if (m.vision.present()) {
    rows.push_back(
        {"language model", with_commas(r.language_model), pct(r.language_model, r.total)});
    rows.push_back({std::string("vision tower (") + to_string(m.vision.kind) + ")",
                    with_commas(r.vision_tower), pct(r.vision_tower, r.total)});
    rows.push_back({"projector", with_commas(r.projector), pct(r.projector, r.total)});
  }

  std::vector<std::vector<std::string>> mem = {{"weights as", "bytes", "GB (1e9)", "GiB (2^30)"}};
  out.json["weights"]                       = nlohmann::json::array();
  for (const auto& f : kWeightFormats) {
    const ByteCount b = weight_bytes(r.total, f.bits);
    out.json["weights"].push_back(
        {{"dtype", f.name}, {"bits", f.bits}, {"bytes", b}, {"gb", to_gb(b)}, {"gib", to_gib(b)}});
    mem.push_back({f.name, with_commas(b), fmt::format("{:.3f}", to_gb(b)),
                   fmt::format("{:.3f}", to_gib(b))});
  }
  out.text = fmt::format("{} ({}): {} parameters ({})\n\n", m.name, m.family, with_commas(r.total),
                         human_count(static_cast<double>(r.total))) +
             table(rows) + "\n" + table(mem);

  out.explain = "## Parameters of " + m.name + "\n\n";
  for (const auto& row : r.components.rows)
    out.explain += explain_row(row.label, row.derivation, with_commas(row.value));
  out.explain +=
      explain_row("total", {"sum of the rows above", "", "HF num_parameters() convention"},
                  with_commas(r.total));
  if (m.is_moe())
    out.explain += explain_row("active per token", r.active_derivation, with_commas(r.active));
  out.explain += explain_row("weights in bf16", {"P * 2 bytes", fmt::format("{} * 2", r.total), ""},
                             fmt::format("{} bytes = {:.3f} GB = {:.3f} GiB", 2 * r.total,
                                         to_gb(2 * r.total), to_gib(2 * r.total)));
  return out;
}

}  // namespace

Action register_params(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("params", "exact parameter breakdown and weight memory");
  auto opts = std::make_shared<ModelOptions>();
  add_model_options(app, *opts);
  return [opts] { return params_output(resolve_model(*opts)); };
}

}  // namespace sizeup::cli
