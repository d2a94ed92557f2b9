// A breakdown is what every calculation returns: rows that sum (or combine) to a total,
// each carrying the derivation shown by --explain, the web page and the docs.
#pragma once

#include <string>
#include <vector>

namespace sizeup {

// How a number was obtained: the formula in symbols, the same with values substituted,
// and where the formula comes from.
struct Derivation {
  std::string formula;      // e.g. "V * d"
  std::string substituted;  // e.g. "50000 * 1024"
  std::string source;       // e.g. "Kaplan et al. 2020, Table 1"
};

template <class T>
struct Row {
  std::string key;    // snake_case, stable (used as a JSON key)
  std::string label;  // for humans
  T value{};
  Derivation derivation;
};

template <class T>
struct Breakdown {
  std::vector<Row<T>> rows;
  const Row<T>* find(const std::string& key) const {
    for (const auto& r : rows)
      if (r.key == key) return &r;
    return nullptr;
  }
};

}  // namespace sizeup
