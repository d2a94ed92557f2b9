// The engine: every command of sizeup as a library call. A request is a command name and a
// JSON object of options whose names are the command-line options in snake_case
// (`--micro-batch 2` is {"micro_batch": 2} or {"micro_batch": "2"}); the answer is a Report
// (report.hpp). The CLI, the HTTP server and the Python module build requests from their
// input, call run() once and print the report: they compute nothing themselves.
//
// Adding a command: write src/commands/<name>.cpp defining `CommandSpec <name>_command()`
// (its options and a function from Options to Report), declare it in
// src/commands/commands.hpp and list it in src/engine.cpp. Every front end then has it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sizeup/hardware.hpp"
#include "sizeup/model.hpp"
#include "sizeup/report.hpp"

namespace sizeup {

// A request's options: {"<snake_case name>": value}. Values are JSON numbers and booleans,
// or strings as typed on a command line ("70B", "80GiB", "3.35TB").
using Options = nlohmann::json;

enum class OptionKind {
  text,      // a string (a name, a path, a choice among `choices`)
  count,     // a whole number; accepts 70e9, 70B, 15T, 1.5k
  quantity,  // a real number; accepts the same suffixes
  number,    // a plain real number (a fraction, a ratio, a rate): no suffixes
  bytes,     // 80GiB, 80GB or bytes
  rate,      // bytes per second: 3.35TB or 3.35TB/s
  flag,      // present or not (true/false in JSON)
  toggle,    // --x / --<off_name>: true, false, or absent
  json,      // a JSON value (API only; e.g. an uploaded config object)
};

struct OptionSpec {
  std::string name;  // snake_case identifier, e.g. "micro_batch"; the CLI spells --micro-batch
  OptionKind kind = OptionKind::text;
  std::string help;
  std::string group;                 // help group, e.g. "Accelerator" (empty: the command's own)
  std::vector<std::string> choices;  // text: the accepted values (checked by the engine)
  std::string off_name;              // toggle: the spelling that sets false, e.g. "no_bias"
  bool positional = false;           // MODEL, NAME: the CLI takes it without a flag
};

struct CommandSpec {
  std::string name;  // "params"
  std::string help;  // one line
  std::vector<OptionSpec> options;
  std::function<Report(const Options&)> run;
};

struct Request {
  std::string command;
  Options options = Options::object();
};

// Every command, in the order `sizeup --help` lists them.
const std::vector<CommandSpec>& commands();
const CommandSpec* find_command(std::string_view name);

// Checks the command and that every option is one it takes (with a valid type and choice),
// then answers. Throws InputError naming the option by its identifier.
Report run(const Request& request);

// ---- Reading options (errors name the option by its identifier) -------------------------
bool has_option(const Options& o, const std::string& name);
std::optional<std::string> text_option(const Options& o, const std::string& name);
std::optional<std::int64_t> count_option(const Options& o, const std::string& name);
std::optional<double> quantity_option(const Options& o, const std::string& name);
std::optional<double> number_option(const Options& o, const std::string& name);
std::optional<double> bytes_option(const Options& o, const std::string& name);
std::optional<double> rate_option(const Options& o, const std::string& name);
bool flag_option(const Options& o, const std::string& name);
std::optional<bool> toggle_option(const Options& o, const std::string& name);

// ---- Options shared by many commands --------------------------------------------------
// MODEL (catalog name, HF id, config.json path or directory), `config` (a config.json
// object, for the HTTP API) or the hypothetical-model shape options (--layers, ...).
std::vector<OptionSpec> model_options();
ModelSpec resolve_model(const Options& o);

// --gpu (catalog name or `custom` with --peak-tflops, --gpu-memory, ...), --gpus,
// --gpus-per-node.
std::vector<OptionSpec> gpu_options(const std::string& default_gpu = "");
GpuSpec resolve_gpu(const Options& o, const std::string& default_gpu = "");
std::int64_t resolve_gpu_count(const Options& o, std::int64_t dflt = 1);

// Concatenates option lists (a command's own after the shared ones).
std::vector<OptionSpec> join(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b);

}  // namespace sizeup
