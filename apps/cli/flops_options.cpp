#include "flops_options.hpp"

#include <fmt/format.h>

#include "sizeup/error.hpp"
#include "sizeup/params.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

std::int64_t positive(const std::optional<std::string>& v, const char* field) {
  const std::int64_t n = parse_count(*v, field);
  if (n < 1) throw InputError("invalid shape", field, "must be positive");
  return n;
}

// PaLM's attention term from --layers --heads (--head-dim | --hidden) --seq beside --params.
std::optional<AttentionShape> shape_from_flags(const ModelOptions& m,
                                               const std::optional<std::string>& seq,
                                               std::vector<std::string>& notes) {
  // --seq alone is not a request for the attention term: mfu --step-seconds needs it for the
  // tokens of a step (B*T/S) with nothing but --params known about the model.
  const bool any = m.layers || m.heads || m.head_dim || m.hidden;
  if (!any) {
    notes.push_back(
        "attention term omitted: give --layers --heads --head-dim --seq for PaLM's "
        "12*L*H*Q*T");
    return std::nullopt;
  }
  const std::pair<bool, const char*> needed[] = {{m.layers.has_value(), "--layers"},
                                                 {m.heads.has_value(), "--heads"},
                                                 {m.head_dim || m.hidden, "--head-dim"},
                                                 {seq.has_value(), "--seq"}};
  for (const auto& [present, flag] : needed)
    if (!present)
      throw InputError("incomplete attention shape", flag,
                       "the attention term needs --layers, --heads, --head-dim (or --hidden) "
                       "and --seq");
  AttentionShape s;
  s.n_layer = positive(m.layers, "--layers");
  s.n_head  = positive(m.heads, "--heads");
  s.seq_len = positive(seq, "--seq");
  if (m.head_dim) {
    s.head_dim = positive(m.head_dim, "--head-dim");
  } else {
    const std::int64_t hidden = positive(m.hidden, "--hidden");
    if (hidden % s.n_head != 0)
      throw InputError("invalid shape", "--heads", "heads do not divide --hidden");
    s.head_dim = hidden / s.n_head;
  }
  return s;
}

}  // namespace

ParamsSource resolve_params(const ModelOptions& m, const std::optional<std::string>& params,
                            const std::optional<std::string>& seq) {
  ParamsSource src;
  if (params) {
    if (!m.model.empty())
      throw InputError("contradictory model", "--params", "give MODEL or --params, not both");
    src.params = parse_quantity(*params, "--params");
    if (!(src.params > 0))
      throw InputError("invalid parameter count", "--params", "must be positive");
    src.attention = shape_from_flags(m, seq, src.notes);
    return src;
  }
  if (m.model.empty() && !m.any_shape_flag())
    throw InputError("missing model", "--params",
                     "give MODEL, the shape flags, or --params (e.g. --params 70B)");
  const ModelSpec spec   = resolve_model(m);
  const ParamsReport rep = count_params(spec);
  src.model              = spec.name;
  src.params             = static_cast<double>(rep.active);
  if (spec.is_moe())
    src.notes.push_back(
        fmt::format("mixture of experts: N = {} active parameters per token of {} "
                    "total",
                    rep.active, rep.total));
  if (spec.n_attention_layers() + spec.n_layer_dec == 0) {
    src.notes.push_back("no attention layers: the attention term is 0");
  } else if (seq) {
    src.attention = attention_shape(spec, positive(seq, "--seq"));
  } else {
    src.notes.push_back("attention term omitted: give --seq for PaLM's 12*L*H*Q*T");
  }
  return src;
}

Peak resolve_peak(const GpuSpec& gpu, const std::optional<std::string>& precision) {
  Peak p;
  p.precision   = precision.value_or("bf16");
  p.dtype       = recipe_for(parse_precision(p.precision)).compute_dtype;
  p.flops_per_s = gpu.peak(p.dtype, "--precision");
  return p;
}

double parse_mfu(const std::string& text) {
  // parse_quantity rejects negatives; below 1e-6 (absurd times, as the library checks) and
  // above 1 are rejected here.
  const double v = parse_quantity(text, "--mfu");
  if (!(v >= kMinMfu && v <= 1))
    throw InputError("invalid MFU", "--mfu",
                     "must be a fraction in [1e-6, 1], e.g. 0.4 for 40%, got " + text);
  return v;
}

std::string sci(double v) { return fmt::format("{:.4e}", v); }
std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

}  // namespace sizeup::cli
