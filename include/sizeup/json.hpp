// JSON views of the domain types, shared by the CLI, the HTTP server and the docs, so
// every surface shows the same rows.
#pragma once

#include <nlohmann/json.hpp>

#include "sizeup/breakdown.hpp"
#include "sizeup/hardware.hpp"
#include "sizeup/model.hpp"

namespace sizeup {

nlohmann::json to_json(const ModelSpec& m);
nlohmann::json to_json(const Derivation& d);
// Every field, memory also as gb (1e9) and gib (2^30); peaks are dense FLOP/s per format.
nlohmann::json to_json(const GpuSpec& g);

// {"<key>": value, ...} and, with derivations, {"<key>": {"value":..., "formula":...}}.
template <class T>
nlohmann::json rows_json(const Breakdown<T>& b) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : b.rows) j[r.key] = r.value;
  return j;
}
template <class T>
nlohmann::json derivations_json(const Breakdown<T>& b) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : b.rows) j[r.key] = to_json(r.derivation);
  return j;
}

}  // namespace sizeup
