#pragma once

namespace sizeup::cli {

template <class T>
std::string explain_rows(const std::string& title, const Breakdown<T>& b,
                         const std::function<std::string(const T&)>& show) {
  std::string s = "### " + title + "\n\n";
  for (const auto& r : b.rows) s += explain_row(r.label, r.derivation, show(r.value));
  return s;
}

}  // namespace sizeup::cli
