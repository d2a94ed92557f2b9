// What every command answers with: a report of sections of rows. Each row is one value with
// its unit, its JSON key, the derivation it was computed by and its notes. The three output
// forms (text table, JSON, Markdown) are written once, here, over reports; front ends (CLI,
// HTTP server, Python) only choose which one to print.
#pragma once

#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"

namespace sizeup {

// How a row's value is shown in text; JSON always carries the raw value.
enum class Unit {
  none,   // shown as given (strings, ratios)
  count,  // exact integer with thousands separators: 8,030,261,248
  bytes,  // exact bytes plus GB (1e9) and GiB (2^30)
  flops,  // a count of floating-point operations, scientific: 4.82e+19 FLOPs
  flop_per_s,
  seconds,
  tokens_per_s,
  fraction,  // 0.42 shown as 42.0%
};
const char* unit_name(Unit u);  // "bytes", "FLOPs", "FLOP/s", "s", ... ("" for none)

struct ReportRow {
  std::string key;       // JSON path, dot-separated ("params.total"); empty: text only
  std::string label;     // for humans
  nlohmann::json value;  // number, string or bool
  Unit unit = Unit::none;
  Derivation derivation;           // formula, substituted values, source (may be empty)
  std::vector<std::string> cells;  // further text columns after the value (e.g. a share)
  std::string display;             // text form when the unit's default form does not fit
  bool in_text = true;             // false: JSON (and Markdown) only
};

struct ReportSection {
  std::string title;                 // text heading and Markdown "###" heading
  std::vector<std::string> columns;  // text table header: label, value, cells... (optional)
  std::vector<ReportRow> rows;
  std::vector<std::string> notes;  // printed under the table
};

struct Report {
  std::string command;  // e.g. "params"
  std::string title;    // first line of the text form
  // Tables in order; a deque, so that a section() reference stays valid while later
  // sections are added.
  std::deque<ReportSection> sections;
  nlohmann::json data = nlohmann::json::object();  // JSON that is not rows (model, arrays)
  std::vector<std::string> notes;                  // closing lines of the text form
  std::string explain_intro;                       // Markdown prose before the derivations
  // A command whose answer is a document (`report`): its text form is this Markdown, not the
  // tables of `sections` (which still give explain).
  std::string document;

  ReportSection& section(std::string title, std::vector<std::string> columns = {});
};

// The row's text form: its `display` if set, else the value formatted by its unit.
std::string display_value(const ReportRow& row);

// `data`, then every row's value at its key path. With `explain`, "explain" holds the
// Markdown form (as `--json --explain` documents in docs/cli-contract.md).
nlohmann::json to_json(const Report& r, bool explain = false);
std::string to_text(const Report& r);
std::string to_markdown(const Report& r);

// Shared text helpers (also used while commands move onto reports).
std::string with_commas(std::uint64_t n);
std::string human_count(double n);  // 6.74B, 354.3M
std::string text_table(const std::vector<std::vector<std::string>>& rows, int header_rows = 1);
std::string explain_markdown(const std::string& label, const Derivation& d,
                             const std::string& result);

}  // namespace sizeup
