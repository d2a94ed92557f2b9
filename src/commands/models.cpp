// sizeup models: the bundled catalog, with counted and published parameters.
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "sizeup/catalog.hpp"
#include "sizeup/params.hpp"

namespace sizeup::cmd {
namespace {

Report models_report(const Options&) {
  Report r;
  r.title = fmt::format("{} models in the bundled catalog", model_catalog().size());
  r.explain_intro =
      "Counted parameters come from each model's config (tensors.hpp: every weight's shape, "
      "multiplied out and summed); the published count and where it was read are listed "
      "beside it.";
  r.data["models"] = nlohmann::json::array();
  auto& s          = r.section("", {"name", "HF id", "family", "parameters", "published"});
  for (const auto& e : model_catalog()) {
    const ParamCount counted = count_params(model_from_catalog(e)).total;
    r.data["models"].push_back({{"name", e.name},
                                {"hf_id", e.hf_id},
                                {"family", e.family},
                                {"params", counted},
                                {"params_published", e.params_total},
                                {"params_source", e.params_source}});
    const Derivation d = {"sum over the tensor table",
                          fmt::format("published {}{}", with_commas(e.params_total),
                                      counted == e.params_total ? " (equal)" : " (differs)"),
                          e.params_source};
    s.rows.push_back({"",
                      e.name,
                      e.hf_id,
                      Unit::none,
                      d,
                      {e.family, with_commas(counted),
                       counted == e.params_total ? "=" : with_commas(e.params_total)},
                      "",
                      true});
  }
  s.notes.push_back("'=' : sizeup's count equals the published count.");
  return r;
}

}  // namespace

CommandSpec models_command() { return {"models", "the bundled model catalog", {}, models_report}; }

}  // namespace sizeup::cmd
