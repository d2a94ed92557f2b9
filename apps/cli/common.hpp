// Shared pieces of the sizeup CLI: model selection (catalog name, HF id, config path, or
// shape flags), quantity options, and the Output every command returns.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sizeup/breakdown.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/hardware.hpp"
#include "sizeup/model.hpp"
#include "sizeup/report.hpp"

namespace sizeup::cli {

// What a command produces; main() prints one of the three forms. Engine commands fill it
// from their Report; commands not yet moved onto the engine build it by hand.
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

// MODEL positional or hypothetical-model flags (cli-contract.md, "MODEL").
struct ModelOptions {
  std::string model;
  std::optional<std::string> layers, hidden, heads, kv_heads, ffn, vocab, max_positions, head_dim;
  std::optional<std::string> positions, norm, mlp;
  std::optional<bool> bias, tied, final_norm;
  std::optional<std::string> experts, experts_per_token, expert_ffn, shared_experts;
  std::optional<std::string> sliding_window;  // every layer attends to the last W tokens
  bool any_shape_flag() const;
};

void add_model_options(CLI::App* app, ModelOptions& o, bool required = true);
ModelSpec resolve_model(const ModelOptions& o);

// Accelerator kind and count (cli-contract.md, "Common options"): a catalog name, or
// `--gpu custom` described by --peak-tflops (dense, applies to every format), --gpu-memory
// (80GiB, 80GB or bytes), --bandwidth (3.35TB, bytes per second), --gpu-power (watts),
// --intra-node-bandwidth / --inter-node-bandwidth (bytes per second per GPU, one direction).
struct GpuOptions {
  std::optional<std::string> gpu, gpus, gpus_per_node;
  std::optional<std::string> peak_tflops, memory, bandwidth, power, intra_node, inter_node;
};

void add_gpu_options(CLI::App* app, GpuOptions& o, const std::string& default_gpu = "");
// The accelerator named by --gpu (or the custom one); throws InputError naming the option.
GpuSpec resolve_gpu(const GpuOptions& o, const std::string& default_gpu = "");
// --gpus, at least 1 and at most 10^7; `dflt` when absent.
std::int64_t resolve_gpu_count(const GpuOptions& o, std::int64_t dflt = 1);

// Registers an option holding a raw string that commands parse with parse_quantity etc.,
// so that errors name the option (e.g. "--tokens").
CLI::Option* add_quantity(CLI::App* app, const std::string& name, std::optional<std::string>& into,
                          const std::string& help);

// A command: builds its subcommand and returns the action run after parsing.
using Action   = std::function<Output()>;
using Register = std::function<Action(CLI::App& root, GlobalOptions& g)>;

// Each command file defines one of these and adds it to the list in main.cpp.
Action register_time(CLI::App& root, GlobalOptions& g);
Action register_mfu(CLI::App& root, GlobalOptions& g);
Action register_chinchilla(CLI::App& root, GlobalOptions& g);
Action register_bench(CLI::App& root, GlobalOptions& g);
Action register_flops(CLI::App& root, GlobalOptions& g);
Action register_activations(CLI::App& root, GlobalOptions& g);
Action register_report(CLI::App& root, GlobalOptions& g);
Action register_serve(CLI::App& root, GlobalOptions& g);  // execs sizeup-server

// An engine command (include/sizeup/engine.hpp) as a CLI11 subcommand.
Action register_engine_command(CLI::App& root, const CommandSpec& spec);
// How the command line spells an option: --micro-batch, MODEL.
std::string option_spelling(const OptionSpec& o);
// The command-line spelling of an error's field when it names one of `options`.
std::string cli_field(const std::vector<OptionSpec>& options, const std::string& field);

// Formatting helpers shared by the commands (report.hpp).
inline std::string table(const std::vector<std::vector<std::string>>& rows, int header_rows = 1) {
  return text_table(rows, header_rows);
}
template <class T>
std::string explain_rows(const std::string& title, const Breakdown<T>& b,
                         const std::function<std::string(const T&)>& show);
inline std::string explain_row(const std::string& label, const Derivation& d,
                               const std::string& result) {
  return explain_markdown(label, d, result);
}

}  // namespace sizeup::cli

#include "common_inl.hpp"
