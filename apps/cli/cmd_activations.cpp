// sizeup activations (hidden): the bytes one layer saves for backward, one row per tensor,
// plus the rows outside the layers. Used by tests/validation/test_activations.py to compare
// with PyTorch's saved tensors; `sizeup train` shows the same numbers in its memory table.
#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/activations.hpp"
#include "sizeup/dtypes.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

struct ActivationsCliOptions {
  ModelOptions model;
  std::optional<std::string> batch, seq, dropout, tp, cp, capacity;
  std::string recompute = "none", attention = "flash", dtype = "bf16", convention = "pytorch";
  bool sequence_parallel = false, cpu_kernels = false;
};

int dtype_bytes(const std::string& name) {
  const DType* t = find_dtype(name);
  if (!t || t->storage_bits % 8 != 0)
    throw InputError("unknown dtype", "--activation-dtype",
                     "'" + name + "' is not a byte-sized dtype, e.g. bf16, fp16, fp32");
  return t->storage_bits / 8;
}

ActivationConvention parse_convention(const std::string& s) {
  if (s == "pytorch") return ActivationConvention::pytorch;
  if (s == "korthikanti") return ActivationConvention::korthikanti;
  throw InputError("invalid choice", "--convention",
                   "'" + s + "' is not one of pytorch, korthikanti");
}

nlohmann::json rows_with_labels(const Breakdown<ByteCount>& b) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : b.rows)
    j.push_back({{"key", r.key},
                 {"label", r.label},
                 {"bytes", r.value},
                 {"derivation", to_json(r.derivation)}});
  return j;
}

void add_table(std::string& text, const std::string& title, const Breakdown<ByteCount>& b,
               ByteCount total) {
  std::vector<std::vector<std::string>> rows = {{title, "bytes", "formula"}};
  for (const auto& r : b.rows)
    rows.push_back({r.label, with_commas(r.value), r.derivation.formula});
  rows.push_back({"sum", with_commas(total), ""});
  text += table(rows) + "\n";
}

Output activations_output(const ActivationsCliOptions& o) {
  const ModelSpec m = resolve_model(o.model);
  ActivationInput in;
  if (o.batch) in.micro_batch = parse_count(*o.batch, "--batch");
  // Default as in train: 2048 tokens, or fewer when the model has fewer positions (GPT-2: 1024).
  in.seq_len = m.n_ctx > 0 ? std::min<std::int64_t>(2048, m.n_ctx) : 2048;
  if (o.seq) in.seq_len = parse_count(*o.seq, "--seq");
  if (o.dropout) in.options.dropout = parse_quantity(*o.dropout, "--dropout");
  if (o.tp) in.tp = parse_count(*o.tp, "--tp");
  if (o.cp) in.cp = parse_count(*o.cp, "--cp");
  if (o.capacity) in.moe_capacity_factor = parse_quantity(*o.capacity, "--moe-capacity-factor");
  in.options.recompute     = parse_recompute(o.recompute);
  in.options.attention     = parse_attention(o.attention);
  in.activation_bytes      = dtype_bytes(o.dtype);
  in.convention            = parse_convention(o.convention);
  in.sequence_parallel     = o.sequence_parallel;
  in.cpu_kernels           = o.cpu_kernels;
  const ActivationReport r = activation_memory(m, in);

  Output out;
  auto& j                   = out.json;
  j["model"]                = m.name;
  j["input"]                = {{"micro_batch", in.micro_batch},
                               {"seq_len", in.seq_len},
                               {"activation_bytes", in.activation_bytes},
                               {"recompute", to_string(in.options.recompute)},
                               {"attention", o.attention},
                               {"dropout", in.options.dropout},
                               {"tp", in.tp},
                               {"sequence_parallel", in.sequence_parallel},
                               {"cp", in.cp},
                               {"moe_capacity_factor", in.moe_capacity_factor},
                               {"convention", o.convention},
                               {"cpu_kernels", in.cpu_kernels}};
  j["per_layer_bytes"]      = r.layer_bytes;
  j["per_layer"]            = rows_with_labels(r.per_layer);
  j["moe_layer_bytes"]      = r.moe_layer_bytes;
  j["moe_layer"]            = rows_with_labels(r.moe_layer);
  j["n_dense_layers"]       = r.n_dense_layers;
  j["n_moe_layers"]         = r.n_moe_layers;
  j["outside"]              = rows_with_labels(r.outside_layers);
  j["outside_bytes"]        = r.outside_bytes;
  j["embedding_bytes"]      = r.embedding_bytes;
  j["head_bytes"]           = r.head_bytes;
  j["recompute_peak_bytes"] = r.recompute_peak_bytes;
  j["total_bytes"]          = r.total_bytes;

  out.text = fmt::format(
      "{}: activations saved for backward, micro-batch {}, sequence {}, {} bytes/element, "
      "recompute {}, {} attention, {} convention\n\n",
      m.name, in.micro_batch, in.seq_len, in.activation_bytes, to_string(in.options.recompute),
      o.attention, o.convention);
  if (r.n_dense_layers > 0)
    add_table(out.text, fmt::format("dense layer (x{})", r.n_dense_layers), r.per_layer,
              r.layer_bytes);
  if (r.n_moe_layers > 0)
    add_table(out.text, fmt::format("MoE layer (x{})", r.n_moe_layers), r.moe_layer,
              r.moe_layer_bytes);
  add_table(out.text, "outside the layers", r.outside_layers, r.outside_bytes);
  out.text += fmt::format("total: {} bytes = {:.3f} GB = {:.3f} GiB\n", with_commas(r.total_bytes),
                          to_gb(r.total_bytes), to_gib(r.total_bytes));

  auto show   = [](const ByteCount& v) { return with_commas(v) + " bytes"; };
  out.explain = "## Activation memory of " + m.name + "\n\n";
  if (r.n_dense_layers > 0)
    out.explain += explain_rows<ByteCount>("Dense layer", r.per_layer, show);
  if (r.n_moe_layers > 0) out.explain += explain_rows<ByteCount>("MoE layer", r.moe_layer, show);
  out.explain += explain_rows<ByteCount>("Outside the layers", r.outside_layers, show);
  out.explain += explain_row("total",
                             {"n_dense * layer + n_moe * moe_layer + outside",
                              fmt::format("{} * {} + {} * {} + {}", r.n_dense_layers, r.layer_bytes,
                                          r.n_moe_layers, r.moe_layer_bytes, r.outside_bytes),
                              "sum of the rows above"},
                             show(r.total_bytes));
  return out;
}

}  // namespace

Action register_activations(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("activations", "activation bytes saved for backward, per tensor");
  auto o    = std::make_shared<ActivationsCliOptions>();
  add_model_options(app, o->model);
  add_quantity(app, "--batch", o->batch, "micro-batch size b (default 1)");
  add_quantity(app, "--seq", o->seq, "sequence length s (default min(2048, max positions))");
  add_quantity(app, "--dropout", o->dropout, "dropout probability (> 0 saves masks)");
  add_quantity(app, "--tp", o->tp, "tensor-parallel ranks t");
  add_quantity(app, "--cp", o->cp, "context-parallel ranks c");
  add_quantity(app, "--moe-capacity-factor", o->capacity, "expert capacity factor (0: dropless)");
  app->add_option("--recompute", o->recompute, "none, selective or full");
  app->add_option("--attention", o->attention, "eager or flash");
  app->add_option("--activation-dtype", o->dtype, "dtype of saved activations, e.g. bf16, fp32");
  app->add_option("--convention", o->convention, "pytorch or korthikanti");
  app->add_flag("--sequence-parallel", o->sequence_parallel, "shard norm/dropout activations");
  app->add_flag("--cpu-kernels", o->cpu_kernels,
                "saved-tensor dtypes of PyTorch's CPU kernels (validation)");
  return [o] { return activations_output(*o); };
}

}  // namespace sizeup::cli
