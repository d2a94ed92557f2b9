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
  out.json["model"]                          = to_json(m);
  out.json["params"]                         = {{"total", r.total},
                                                {"active", r.active},
                                                {"embedding", r.embedding},
                                                {"non_embedding", r.non_embedding},
                                                {"components", rows_json(r.components)}};
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

std::string bytes_cell(ByteCount b) {
  return fmt::format("{} ({:.3f} GB, {:.3f} GiB)", with_commas(b), to_gb(b), to_gib(b));
}

// The checkpoint as stored (safetensors headers), compared with the config's count when a
// model is given.
void add_checkpoint(Output& out, const CheckpointSummary& s, const ModelSpec* m) {
  out.json["checkpoint"]                     = to_json(s);
  std::vector<std::vector<std::string>> rows = {{"dtype", "tensors", "elements", "bytes"}};
  for (const auto& [dtype, d] : s.by_dtype)
    rows.push_back({dtype, with_commas(d.tensors), with_commas(d.elements), with_commas(d.bytes)});
  rows.push_back({"total", with_commas(s.tensors), with_commas(s.elements), with_commas(s.bytes)});
  std::string text =
      fmt::format("\ncheckpoint {}: {} shard(s), {} header bytes read; weights as stored: {}\n\n",
                  s.source, s.shards, with_commas(s.header_bytes), bytes_cell(s.bytes));
  text += table(rows);
  out.explain += explain_row(
      "checkpoint weight bytes",
      {"sum over tensors of elements x dtype bits / 8 (safetensors data_offsets)",
       fmt::format("{} tensors in {} shard(s)", s.tensors, s.shards), "safetensors headers"},
      bytes_cell(s.bytes));
  if (m) {
    const CheckpointComparison c         = compare_checkpoint(s, *m);
    out.json["checkpoint"]["comparison"] = to_json(c);
    text += c.matches ? fmt::format("\nconfig count {} = checkpoint elements: matches\n",
                                    with_commas(c.config_params))
                      : fmt::format("\nconfig count {} != checkpoint elements {}\n",
                                    with_commas(c.config_params), with_commas(c.checkpoint_elems));
    if (!c.differences.empty()) {
      std::vector<std::vector<std::string>> d = {{"tensors", "checkpoint", "config"}};
      for (const auto& x : c.differences)
        d.push_back({x.name, with_commas(x.checkpoint_elements), with_commas(x.config_elements)});
      text += table(d);
    }
  }
  out.text += text;
}

Output checkpoint_output(const CheckpointSummary& s) {
  Output out;
  out.explain = "## Checkpoint " + s.source + "\n\n";
  add_checkpoint(out, s, nullptr);
  out.json["units"] = {{"gb", "10^9 bytes"}, {"gib", "2^30 bytes"}};
  return out;
}

}  // namespace

Action register_params(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("params", "exact parameter breakdown and weight memory");
  auto opts = std::make_shared<ModelOptions>();
  add_model_options(app, *opts);
  auto from_checkpoint = std::make_shared<bool>(false);
  app->add_flag("--from-checkpoint", *from_checkpoint,
                "also read the safetensors headers (local, or HTTP ranges from the Hub) and "
                "compare the stored tensors with the config's count");
  return [opts, from_checkpoint] {
    if (is_checkpoint_path(opts->model)) return checkpoint_output(resolve_checkpoint(*opts));
    const ModelSpec m = resolve_model(*opts);
    Output out        = params_output(m);
    if (*from_checkpoint) add_checkpoint(out, resolve_checkpoint(*opts), &m);
    return out;
  };
}

}  // namespace sizeup::cli
