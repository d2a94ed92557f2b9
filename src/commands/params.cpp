// sizeup params: the exact parameter breakdown and weight memory of a model.
#include "sizeup/params.hpp"

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hub.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/json.hpp"
#include "sizeup/safetensors.hpp"
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

std::string bytes_text(ByteCount b) {
  return fmt::format("{} bytes ({:.3f} GB, {:.3f} GiB)", with_commas(b), to_gb(b), to_gib(b));
}

// The checkpoint as stored (safetensors headers): totals and a table by dtype; compared with
// the config's count when a model is given.
void add_checkpoint(Report& r, const CheckpointSummary& s, const ModelSpec* m) {
  r.data["checkpoint"] = to_json(s);
  auto& sec = r.section(fmt::format("Checkpoint {} ({} shard(s), {} header bytes read)", s.source,
                                    s.shards, with_commas(s.header_bytes)),
                        {"dtype", "tensors", "elements", "bytes"});
  for (const auto& [dtype, d] : s.by_dtype)
    sec.rows.push_back({"",
                        dtype,
                        d.tensors,
                        Unit::count,
                        {},
                        {with_commas(d.elements), with_commas(d.bytes)},
                        "",
                        true});
  sec.rows.push_back(
      {"checkpoint.bytes",
       "weights as stored",
       s.bytes,
       Unit::bytes,
       {"sum over tensors of elements x dtype bits / 8 (data_offsets)",
        fmt::format("{} tensors, {} elements", s.tensors, s.elements), "safetensors headers"},
       {},
       "",
       false});
  sec.notes.push_back(fmt::format("total: {} tensors, {} elements, weights as stored: {}",
                                  with_commas(s.tensors), with_commas(s.elements),
                                  bytes_text(s.bytes)));
  if (!m) return;
  const CheckpointComparison c       = compare_checkpoint(s, *m);
  r.data["checkpoint"]["comparison"] = to_json(c);
  sec.notes.push_back(c.matches ? fmt::format("config count {} = checkpoint elements: matches",
                                              with_commas(c.config_params))
                                : fmt::format("config count {} != checkpoint elements {}",
                                              with_commas(c.config_params),
                                              with_commas(c.checkpoint_elems)));
  if (c.differences.empty()) return;
  auto& diff = r.section("Tensors that differ (grouped by name without layer and expert indices)",
                         {"tensors", "checkpoint", "config"});
  for (const auto& d : c.differences)
    diff.rows.push_back({"",
                         d.name,
                         d.checkpoint_elements,
                         Unit::count,
                         {},
                         {with_commas(d.config_elements)},
                         "",
                         true});
}

Report checkpoint_report(const CheckpointSummary& s) {
  Report r;
  r.title         = fmt::format("checkpoint {}: {} tensors, {} elements, {}", s.source,
                                with_commas(s.tensors), with_commas(s.elements), bytes_text(s.bytes));
  r.data["units"] = {{"gb", "10^9 bytes"}, {"gib", "2^30 bytes"}};
  add_checkpoint(r, s, nullptr);
  return r;
}

Report params_report(const Options& o) {
  const auto name = text_option(o, "model");
  if (name && hub::is_checkpoint_path(*name))
    return checkpoint_report(hub::resolve_checkpoint(*name));
  const bool from_checkpoint = flag_option(o, "from_checkpoint");
  if (from_checkpoint && (!name || name->empty()))
    throw InputError("missing model", "from_checkpoint",
                     "needs MODEL: a Hub id, a catalog name, a directory or a .safetensors file");
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
  // Multimodal: the language model, the vision tower and the projector apart (towers.hpp).
  const bool mm = m.vision.present();
  if (mm) {
    parts.rows.push_back({"params.language_model",
                          "language model",
                          p.language_model,
                          Unit::count,
                          {"total - vision_tower - projector",
                           fmt::format("{} - {} - {}", p.total, p.vision_tower, p.projector), ""},
                          {pct(p.language_model, p.total)},
                          "",
                          mm});
    parts.rows.push_back({"params.vision_tower",
                          std::string("vision tower (") + to_string(m.vision.kind) + ")",
                          p.vision_tower,
                          Unit::count,
                          {"sum of the vision_tower tensors", "", "towers.hpp"},
                          {pct(p.vision_tower, p.total)},
                          "",
                          mm});
    parts.rows.push_back({"params.projector",
                          "projector",
                          p.projector,
                          Unit::count,
                          {"sum of the projector tensors", "", "towers.hpp"},
                          {pct(p.projector, p.total)},
                          "",
                          mm});
  }
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
  // A quantised checkpoint (quantization_config): its own format for the layers it names.
  if (m.quant.active()) {
    const ByteCount b           = stored_weight_bytes(m);
    r.data["weights_as_stored"] = {
        {"method", m.quant.method}, {"bytes", b}, {"gb", to_gb(b)}, {"gib", to_gib(b)}};
    mem.rows.push_back(
        {"",
         fmt::format("as stored ({} {}-bit, rest 16-bit)", m.quant.method, m.quant.bits),
         b,
         Unit::count,
         {"quantised linears (packed values + scales) + other tensors * 2", fmt::format("{}", b),
          "config.json quantization_config"},
         {fmt::format("{:.3f}", to_gb(b)), fmt::format("{:.3f}", to_gib(b))},
         with_commas(b),
         true});
  }
  for (const auto& part : m.not_counted)
    r.notes.push_back("not counted: the config's " + part +
                      " (a tower outside the language model; sizeup counts the language model)");
  if (m.n_mtp_layers > 0 && !m.count_mtp)
    r.notes.push_back(
        fmt::format("not counted: {} multi-token-prediction layer(s) the checkpoint also stores "
                    "(HF transformers drops them on load)",
                    m.n_mtp_layers));
  if (from_checkpoint) add_checkpoint(r, hub::resolve_checkpoint(*name), &m);
  return r;
}

}  // namespace

CommandSpec params_command() {
  const std::vector<OptionSpec> own = {
      {"from_checkpoint",
       OptionKind::flag,
       "also read the safetensors headers of MODEL's checkpoint (local, or HTTP ranges from the "
       "Hub) and compare the stored tensors with the config's count",
       "",
       {},
       "",
       false}};
  return {"params", "exact parameter breakdown and weight memory", join(model_options(), own),
          params_report};
}

}  // namespace sizeup::cmd
