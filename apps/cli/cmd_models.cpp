#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/catalog.hpp"
#include "sizeup/params.hpp"

namespace sizeup::cli {

Action register_models(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("models", "the bundled model catalog");
  (void)app;
  return [] {
    Output out;
    out.json["models"]                         = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows = {
        {"name", "HF id", "family", "parameters", "published"}};
    for (const auto& e : model_catalog()) {
      const ParamCount counted = count_params(model_from_catalog(e)).total;
      out.json["models"].push_back({{"name", e.name},
                                    {"hf_id", e.hf_id},
                                    {"family", e.family},
                                    {"params", counted},
                                    {"params_published", e.params_total},
                                    {"params_source", e.params_source}});
      rows.push_back({e.name, e.hf_id, e.family, with_commas(counted),
                      counted == e.params_total ? "=" : with_commas(e.params_total)});
      out.explain += fmt::format(
          "- **{}** ({}): parameters = sum over the tensor table = {} (`sizeup params {} "
          "--explain`); published {}{}; source: {}\n",
          e.name, e.hf_id, with_commas(counted), e.name, with_commas(e.params_total),
          counted == e.params_total ? " (equal)" : " (differs)", e.params_source);
    }
    out.text = table(rows) + "\n'=' : sizeup's count equals the published count.\n";
    out.explain =
        "## Model catalog\n\nCounted parameters come from each model's config "
        "(tensors.hpp: every weight's shape, multiplied out and summed); the published "
        "count and where it was read are listed beside it.\n\n" +
        out.explain;
    return out;
  };
}

}  // namespace sizeup::cli
