// The command line as a front end of the engine (include/sizeup/engine.hpp): every command's
// options become CLI11 options (engine_cli.cpp), the library answers with a Report, and main()
// prints one of its forms. Nothing here computes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sizeup/engine.hpp"
#include "sizeup/report.hpp"

namespace sizeup::cli {

// The three printable forms of a report.
struct Output {
  nlohmann::json json = nlohmann::json::object();
  std::string text;     // human-readable tables
  std::string explain;  // Markdown derivation (--explain)
  Output() = default;
  explicit Output(const Report& r) : json(to_json(r)), text(to_text(r)), explain(to_markdown(r)) {}
};

struct GlobalOptions {
  bool json    = false;
  bool explain = false;
};

// A command: the action run after parsing.
using Action = std::function<Output()>;

// The front end's own command: `sizeup serve` execs sizeup-server (cmd_serve.cpp).
Action register_serve(CLI::App& root, GlobalOptions& g);

// An engine command as a CLI11 subcommand.
Action register_engine_command(CLI::App& root, const CommandSpec& spec);
// How the command line spells an option: --micro-batch, MODEL.
std::string option_spelling(const OptionSpec& o);
// The command-line spelling of an error's field: an option of `options`, or any identifier.
std::string cli_field(const std::vector<OptionSpec>& options, const std::string& field);

}  // namespace sizeup::cli
