// The bundled model catalog: HF config.json files as published, with the published
// parameter count and its source. Embedded in the binary at build time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

struct CatalogEntry {
  std::string name;           // short name, e.g. "llama-2-7b"
  std::string hf_id;          // e.g. "meta-llama/Llama-2-7b-hf"
  std::string family;         // HF model_type
  ParamCount params_total;    // published count (HF num_parameters() convention)
  std::string params_source;  // where the count was published
  std::string params_status;  // "published" or "derived"
  std::string config_json;    // the config object, serialised
};

const std::vector<CatalogEntry>& model_catalog();

// By short name or HF id, case-insensitive; nullptr when absent.
const CatalogEntry* find_model(std::string_view name_or_id);

ModelSpec model_from_catalog(const CatalogEntry& e);

namespace detail {
const std::vector<std::string_view>& embedded_model_files();
std::string_view embedded_gpus();
}  // namespace detail

}  // namespace sizeup
