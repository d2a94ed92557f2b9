#include "sizeup/params.hpp"

#include <fmt/format.h>

#include "sizeup/checked.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

bool is_embedding(Component c) {
  return c == Component::token_embedding || c == Component::position_embedding ||
         c == Component::output_head;
}

// "L x 4096 x 4096" style factor list for one tensor.
std::string shape_text(const Tensor& t) {
  std::string s = t.repeat > 1 ? fmt::format("{}", t.repeat) : "";
  for (auto d : t.shape) s += (s.empty() ? "" : " x ") + fmt::format("{}", d);
  return s;
}

Row<ParamCount>& row_for(Breakdown<ParamCount>& b, Component c) {
  for (auto& r : b.rows)
    if (r.key == to_string(c)) return r;
  b.rows.push_back({to_string(c), to_string(c), 0, {"", "", "tensor table (sizeup/tensors.hpp)"}});
  return b.rows.back();
}

}  // namespace

ParamsReport count_params(const ModelSpec& m) {
  ParamsReport r;
  ParamCount routed = 0;
  for (const Tensor& t : tensor_table(m)) {
    if (t.tied) continue;
    const ParamCount n = t.elements();
    auto& row          = row_for(r.components, t.component);
    row.value          = checked_add(row.value, n, "params");
    row.derivation.formula += (row.derivation.formula.empty() ? "" : " + ") + t.name;
    row.derivation.substituted += (row.derivation.substituted.empty() ? "" : " + ") + shape_text(t);
    r.total = checked_add(r.total, n, "params");
    if (is_embedding(t.component)) r.embedding += n;
    if (t.component == Component::routed_experts) routed += n;
    if (t.component == Component::vision_tower) r.vision_tower += n;
    if (t.component == Component::projector) r.projector += n;
  }
  r.language_model = r.total - r.vision_tower - r.projector;
  r.non_embedding  = r.total - r.embedding;
  // Each routed tensor has n_expert as its leading dimension, so the division is exact.
  const ParamCount inactive = m.is_moe() ? routed / static_cast<ParamCount>(m.n_expert) *
                                               static_cast<ParamCount>(m.n_expert - m.n_expert_used)
                                         : 0;
  // Active per text token: the towers run per image, not per token (towers.hpp).
  r.active            = r.total - inactive - r.vision_tower - r.projector;
  const bool towers   = r.vision_tower + r.projector > 0;
  r.active_derivation = {
      std::string("total - routed_experts * (E - k) / E") +
          (towers ? " - vision_tower - projector" : ""),
      fmt::format("{} - {} * ({} - {}) / {}", r.total, routed, m.n_expert, m.n_expert_used,
                  m.n_expert ? m.n_expert : 1) +
          (towers ? fmt::format(" - {} - {}", r.vision_tower, r.projector) : ""),
      "Fedus et al. 2021 (Switch), Sec. 2: each token visits k of E experts" +
          std::string(towers ? "; towers run per image, not per text token" : "")};
  return r;
}

ByteCount weight_bytes(ParamCount params, int bits) {
  const ByteCount b = checked_mul(params, static_cast<ByteCount>(bits), "params");
  return b / 8 + (b % 8 ? 1 : 0);
}

}  // namespace sizeup
