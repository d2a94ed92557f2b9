// Options and request readers shared by several commands (train, fit, time, mfu, report):
// the training run (workload, recipe, layout, activations, fine-tuning, assumptions), the
// peak FLOP/s of a recipe, the MFU, and where `time` and `mfu` get N. Internal to the library.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sizeup/compute_time.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/memory_train.hpp"

namespace sizeup::cmd {

// A whole number in [lo, hi] (accepts 1k, 2e3 ...), or `dflt` when absent.
std::int64_t int_option(const Options& o, const std::string& name, std::int64_t dflt,
                        std::int64_t lo = 1, std::int64_t hi = 10000000);

// The workload, recipe, layout, activation, fine-tuning and assumption options of `train`
// and `fit` (without the model and accelerator options).
std::vector<OptionSpec> train_options();
// The run they describe for model `m` (validated; errors name the option). `notes` receives
// the defaults that were chosen.
TrainInput train_input(const Options& o, const ModelSpec& m, const GpuSpec& gpu,
                       std::vector<std::string>& notes);
// True when any option of train_options() that shapes a model's activations was given.
std::vector<std::string> given_workload_options(const Options& o);

// Storage bits per element of a plain number format, read from the one number-format table
// (the dtype catalog, dtypes.hpp), for a format among `allowed`; errors name `field`.
int format_bits(const std::string& name, const std::string& field,
                const std::vector<std::string>& allowed);
// grad_dtype: 4 or 2 bytes per gradient element, 0 when absent (the recipe's).
int grad_bytes_option(const Options& o);

// Dense peak FLOP/s of `gpu` for the compute format of `precision` (default bf16).
struct Peak {
  std::string precision;  // e.g. "bf16"
  std::string dtype;      // e.g. "bf16"
  FlopRate flops_per_s = 0;
};
Peak resolve_peak(const GpuSpec& gpu, const std::optional<std::string>& precision);

// Dense peak in the format an inference's matmuls run in: fp8 and int8 weights use the
// device's fp8/int8 peak when it has one (W8A8); weight-only int4/nf4 dequantise to 16-bit.
std::pair<std::string, double> matmul_peak(const GpuSpec& g, WeightFormat f);

// The accelerator's memory per GPU for a question of what fits; a custom accelerator given
// without gpu_memory is an error (a fit against 0 bytes would be silently wrong).
ByteCount memory_for_fit(const GpuSpec& gpu);

// `mfu`: a fraction in [kMinMfu, 1]; nullopt when absent.
std::optional<double> mfu_option(const Options& o);
OptionSpec mfu_spec();

// Where `time` and `mfu` get N and the attention shape: a MODEL (or shape options), or
// `params` with layers/heads/head_dim (or hidden)/seq for PaLM's attention term.
struct ParamsSource {
  double params = 0;  // N used in 6N (active parameters for MoE)
  std::string model;  // model name, or "" for params
  std::optional<AttentionShape> attention;
  std::vector<std::string> notes;  // what was assumed, shown to the user
};
ParamsSource resolve_params(const Options& o);
// What resolve_params() and resolve_peak() read, with the accelerator's options: MODEL (or the
// shape options) or params, seq (help text given) and precision. Shared by time and mfu.
std::vector<OptionSpec> params_source_options(const std::string& seq_help);

std::string sci(double v);  // 6.3000e+24
// A note list as a report section's notes ("note: ...") and JSON "notes".
void add_notes(Report& r, const std::vector<std::string>& notes);
// Rows of a byte breakdown, keyed under `prefix`, shown as exact bytes, GiB and GB.
void byte_rows(ReportSection& s, const std::string& prefix, const Breakdown<ByteCount>& b);
// A report row with the fields after `unit` optional.
inline ReportRow make_row(std::string key, std::string label, nlohmann::json value,
                          Unit unit = Unit::none, Derivation derivation = {},
                          std::vector<std::string> cells = {}, std::string display = "",
                          bool in_text = true) {
  return {std::move(key),        std::move(label), std::move(value),   unit,
          std::move(derivation), std::move(cells), std::move(display), in_text};
}
ReportRow byte_row(const std::string& key, const std::string& label, ByteCount v,
                   const Derivation& d = {});

}  // namespace sizeup::cmd
