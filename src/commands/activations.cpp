// sizeup activations: the bytes one layer saves for backward, one row per tensor, plus the rows
// outside the layers (activations.hpp). Used by tests/validation/test_activations.py to compare
// with PyTorch's saved tensors; `sizeup train` shows the same numbers in its memory table.
#include "sizeup/activations.hpp"

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/dtypes.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"
#include "sizeup/units.hpp"

namespace sizeup::cmd {
namespace {

int dtype_bytes(const std::string& name) {
  const DType* t = find_dtype(name);
  if (!t || t->storage_bits % 8 != 0)
    throw InputError("unknown dtype", "activation_dtype",
                     "'" + name + "' is not a byte-sized dtype, e.g. bf16, fp16, fp32");
  return t->storage_bits / 8;
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

void add_table(Report& rep, const std::string& title, const Breakdown<ByteCount>& b,
               ByteCount total) {
  auto& s = rep.section("", {title, "bytes", "formula"});
  for (const auto& r : b.rows)
    s.rows.push_back(make_row("", r.label, r.value, Unit::count, r.derivation,
                              {r.derivation.formula}, with_commas(r.value)));
  s.rows.push_back(make_row("", "sum", total, Unit::count, {}, {""}, with_commas(total)));
}

Report activations_report(const Options& o) {
  const ModelSpec m = resolve_model(o);
  ActivationInput in;
  if (const auto v = count_option(o, "batch")) in.micro_batch = *v;
  // Default as in train: 2048 tokens, or fewer when the model has fewer positions (GPT-2: 1024).
  in.seq_len = m.n_ctx > 0 ? std::min<std::int64_t>(2048, m.n_ctx) : 2048;
  if (const auto v = count_option(o, "seq")) in.seq_len = *v;
  if (const auto v = number_option(o, "dropout")) in.options.dropout = *v;
  if (const auto v = count_option(o, "tp")) in.tp = *v;
  if (const auto v = count_option(o, "cp")) in.cp = *v;
  if (const auto v = number_option(o, "moe_capacity_factor")) in.moe_capacity_factor = *v;
  const std::string attention  = text_option(o, "attention").value_or("flash");
  const std::string convention = text_option(o, "convention").value_or("pytorch");
  in.options.recompute = parse_recompute(text_option(o, "recompute").value_or("none"), "recompute");
  in.options.attention = parse_attention(attention, "attention");
  in.activation_bytes  = dtype_bytes(text_option(o, "activation_dtype").value_or("bf16"));
  in.convention        = convention == "korthikanti" ? ActivationConvention::korthikanti
                                                     : ActivationConvention::pytorch;
  in.sequence_parallel = flag_option(o, "sequence_parallel");
  in.cpu_kernels       = flag_option(o, "cpu_kernels");
  const ActivationReport r = activation_memory(m, in);

  Report rep;
  auto& j                   = rep.data;
  j["model"]                = m.name;
  j["input"]                = {{"micro_batch", in.micro_batch},
                               {"seq_len", in.seq_len},
                               {"activation_bytes", in.activation_bytes},
                               {"recompute", to_string(in.options.recompute)},
                               {"attention", attention},
                               {"dropout", in.options.dropout},
                               {"tp", in.tp},
                               {"sequence_parallel", in.sequence_parallel},
                               {"cp", in.cp},
                               {"moe_capacity_factor", in.moe_capacity_factor},
                               {"convention", convention},
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

  rep.title = fmt::format(
      "{}: activations saved for backward, micro-batch {}, sequence {}, {} bytes/element, "
      "recompute {}, {} attention, {} convention",
      m.name, in.micro_batch, in.seq_len, in.activation_bytes, to_string(in.options.recompute),
      attention, convention);
  if (r.n_dense_layers > 0)
    add_table(rep, fmt::format("dense layer (x{})", r.n_dense_layers), r.per_layer, r.layer_bytes);
  if (r.n_moe_layers > 0)
    add_table(rep, fmt::format("MoE layer (x{})", r.n_moe_layers), r.moe_layer, r.moe_layer_bytes);
  add_table(rep, "outside the layers", r.outside_layers, r.outside_bytes);
  auto& total = rep.section("");
  total.rows.push_back(
      make_row("total_bytes", "total:", r.total_bytes, Unit::count,
               {"n_dense * layer + n_moe * moe_layer + outside",
                fmt::format("{} * {} + {} * {} + {}", r.n_dense_layers, r.layer_bytes,
                            r.n_moe_layers, r.moe_layer_bytes, r.outside_bytes),
                "sum of the rows above"},
               {},
               fmt::format("{} bytes = {:.3f} GB = {:.3f} GiB", with_commas(r.total_bytes),
                           to_gb(r.total_bytes), to_gib(r.total_bytes))));
  return rep;
}

}  // namespace

CommandSpec activations_command() {
  using K      = OptionKind;
  auto options = model_options();
  for (auto& spec : std::vector<OptionSpec>{
           {"batch", K::count, "micro-batch size b (default 1)", "", {}, "", false},
           {"seq",
            K::count,
            "sequence length s (default min(2048, max positions))",
            "",
            {},
            "",
            false},
           {"dropout", K::number, "dropout probability (> 0 saves masks)", "", {}, "", false},
           {"tp", K::count, "tensor-parallel ranks t", "", {}, "", false},
           {"cp", K::count, "context-parallel ranks c", "", {}, "", false},
           {"moe_capacity_factor",
            K::number,
            "expert capacity factor (0: dropless)",
            "",
            {},
            "",
            false},
           {"recompute", K::text, "none, selective or full", "", {}, "", false},
           {"attention", K::text, "eager or flash", "", {}, "", false},
           {"activation_dtype",
            K::text,
            "dtype of saved activations, e.g. bf16, fp32",
            "",
            {},
            "",
            false},
           {"convention",
            K::text,
            "pytorch or korthikanti",
            "",
            {"pytorch", "korthikanti"},
            "",
            false},
           {"sequence_parallel", K::flag, "shard norm/dropout activations", "", {}, "", false},
           {"cpu_kernels",
            K::flag,
            "saved-tensor dtypes of PyTorch's CPU kernels (validation)",
            "",
            {},
            "",
            false}})
    options.push_back(std::move(spec));
  return {"activations", "activation bytes saved for backward, per tensor", std::move(options),
          activations_report};
}

}  // namespace sizeup::cmd
