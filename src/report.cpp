// The three forms of a report (text, JSON, Markdown), written once for every command.
#include "sizeup/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/units.hpp"

namespace sizeup {

const char* unit_name(Unit u) {
  switch (u) {
    case Unit::none:
      return "";
    case Unit::count:
      return "count";
    case Unit::bytes:
      return "bytes";
    case Unit::flops:
      return "FLOPs";
    case Unit::flop_per_s:
      return "FLOP/s";
    case Unit::seconds:
      return "s";
    case Unit::tokens_per_s:
      return "tokens/s";
    case Unit::fraction:
      return "fraction";
  }
  return "";
}

ReportSection& Report::section(std::string title_, std::vector<std::string> columns) {
  sections.push_back({std::move(title_), std::move(columns), {}, {}});
  return sections.back();
}

std::string with_commas(std::uint64_t n) {
  // Built digit by digit: GCC 12 -O3 reports a false -Wrestrict on std::string::insert.
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_count(double n) {
  const char* units[] = {"", "K", "M", "B", "T", "P", "E"};
  int u               = 0;
  while (n >= 1000 && u < 6) {
    n /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", n) : fmt::format("{:.2f}{}", n, units[u]);
}

namespace {

std::string seconds_text(double s) {
  if (s < 1e-3) return fmt::format("{:.3g} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3g} ms", s * 1e3);
  if (s < 3600) return fmt::format("{:.3g} s", s);
  if (s < 2 * kSecondsPerDay) return fmt::format("{:.2f} h", s / 3600);
  return fmt::format("{:.2f} days", s / kSecondsPerDay);
}

std::string number_text(const nlohmann::json& v, Unit unit) {
  const double x = v.get<double>();
  if (!std::isfinite(x)) return "-";
  switch (unit) {
    case Unit::count:
      if (v.is_number_unsigned()) return with_commas(v.get<std::uint64_t>());
      if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
        return with_commas(static_cast<std::uint64_t>(v.get<std::int64_t>()));
      return fmt::format("{:.0f}", x);
    case Unit::bytes:
      return fmt::format("{:.2f} GB ({:.2f} GiB)", x / kBytesPerGB, x / kBytesPerGiB);
    case Unit::flops:
      return fmt::format("{:.3e} FLOPs", x);
    case Unit::flop_per_s:
      return x >= 1e12 ? fmt::format("{:.1f} TFLOP/s", x / 1e12) : fmt::format("{:.3g} FLOP/s", x);
    case Unit::seconds:
      return seconds_text(x);
    case Unit::tokens_per_s:
      return fmt::format("{:.0f} tokens/s", x);
    case Unit::fraction:
      return fmt::format("{:.1f}%", 100 * x);
    case Unit::none:
      break;
  }
  return v.is_number_integer() ? v.dump() : fmt::format("{:g}", x);
}

// Sets `value` at a dot-separated path, creating objects on the way.
void set_path(nlohmann::json& j, const std::string& path, const nlohmann::json& value) {
  nlohmann::json* at = &j;
  std::size_t start  = 0;
  for (;;) {
    const std::size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) *at = nlohmann::json::object();
    at = &(*at)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *at = value;
}

bool has_derivation(const ReportRow& r) {
  return !r.derivation.formula.empty() || !r.derivation.substituted.empty() ||
         !r.derivation.source.empty();
}

}  // namespace

std::string display_value(const ReportRow& row) {
  if (!row.display.empty()) return row.display;
  const auto& v = row.value;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number()) return number_text(v, row.unit);
  if (v.is_null()) return "-";
  return v.dump();
}

std::string text_table(const std::vector<std::vector<std::string>>& rows, int header_rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  std::string out;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    for (std::size_t i = 0; i < r.size(); ++i) {
      // First column left-aligned (labels), the rest right-aligned (numbers).
      out += i == 0 ? fmt::format("{:<{}}", r[i], w[i]) : fmt::format("  {:>{}}", r[i], w[i]);
    }
    out += "\n";
    if (static_cast<int>(k) + 1 == header_rows) {
      std::size_t total = 0;
      for (auto x : w) total += x + 2;
      out += std::string(total - 2, '-') + "\n";
    }
  }
  return out;
}

std::string explain_markdown(const std::string& label, const Derivation& d,
                             const std::string& result) {
  std::string s = "- **" + label + "**";
  if (!d.formula.empty()) s += " = `" + d.formula + "`";
  if (!d.substituted.empty()) s += "\n  = `" + d.substituted + "`";
  s += "\n  = **" + result + "**";
  if (!d.source.empty()) s += "  \n  _source: " + d.source + "_";
  return s + "\n";
}

nlohmann::json to_json(const Report& r, bool explain) {
  nlohmann::json j = r.data.is_object() ? r.data : nlohmann::json::object();
  for (const auto& s : r.sections)
    for (const auto& row : s.rows)
      if (!row.key.empty()) set_path(j, row.key, row.value);
  if (explain) j["explain"] = to_markdown(r);
  return j;
}

std::string to_text(const Report& r) {
  std::string out = r.title.empty() ? "" : r.title + "\n\n";
  for (const auto& s : r.sections) {
    std::vector<std::vector<std::string>> cells;
    if (!s.columns.empty()) cells.push_back(s.columns);
    for (const auto& row : s.rows) {
      if (!row.in_text) continue;
      std::vector<std::string> line = {row.label, display_value(row)};
      line.insert(line.end(), row.cells.begin(), row.cells.end());
      cells.push_back(std::move(line));
    }
    if (cells.size() <= (s.columns.empty() ? 0u : 1u) && s.notes.empty()) continue;
    if (!s.title.empty()) out += s.title + "\n";
    out += text_table(cells, s.columns.empty() ? 0 : 1);
    for (const auto& n : s.notes) out += n + "\n";
    out += "\n";
  }
  for (const auto& n : r.notes) out += n + "\n";
  while (out.size() > 1 && out.back() == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

std::string to_markdown(const Report& r) {
  std::string out = "## " + (r.title.empty() ? r.command : r.title) + "\n\n";
  if (!r.explain_intro.empty()) out += r.explain_intro + "\n\n";
  for (const auto& s : r.sections) {
    std::string body;
    for (const auto& row : s.rows)
      if (has_derivation(row))
        body += explain_markdown(row.label, row.derivation, display_value(row));
    if (body.empty()) continue;
    if (!s.title.empty()) out += "### " + s.title + "\n\n";
    out += body + "\n";
  }
  return out;
}

}  // namespace sizeup
