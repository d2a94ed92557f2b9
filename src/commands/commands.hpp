// The commands of the engine (include/sizeup/engine.hpp), one file each. Add a command by
// writing <name>.cpp with a <name>_command() and listing it in src/engine.cpp.
#pragma once

#include "sizeup/engine.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/perf_model.hpp"

namespace sizeup::cmd {

CommandSpec models_command();
CommandSpec params_command();
CommandSpec gpus_command();
CommandSpec dtypes_command();
CommandSpec train_command();
CommandSpec infer_command();
CommandSpec fit_command();
CommandSpec time_command();
CommandSpec mfu_command();
CommandSpec chinchilla_command();
CommandSpec bench_command();
CommandSpec flops_command();
CommandSpec activations_command();
CommandSpec report_command();
CommandSpec plan_command();

// The step-time model's options (plan.cpp; read by step_device() in plan.hpp), shared with
// commands that predict step time.
std::vector<OptionSpec> step_model_options();

// `infer`'s serving options and output (src/commands/infer_serving.cpp): static-batch latency
// and throughput, the engine's KV pool, the load simulation. `gpus` GPUs in all; utilization
// is gpu_utilization (vLLM's u when given).
std::vector<OptionSpec> infer_serving_options();
void add_infer_serving(const Options& o, const ModelSpec& m, const InferenceInput& in,
                       std::int64_t gpus, std::optional<double> utilization, Report& rep,
                       std::vector<std::string>& notes);

// `plan MODEL --serve` (src/commands/serve_plan.cpp): the serving options and report, hooked
// into the plan command.
std::vector<OptionSpec> serve_plan_options();
// `base` plus the serving options it does not already have (plan shares gpu, top, ...).
std::vector<OptionSpec> with_serve_plan_options(std::vector<OptionSpec> base);
Report serve_plan_report(const Options& o);

}  // namespace sizeup::cmd
