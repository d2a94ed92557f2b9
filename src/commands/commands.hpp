// The commands of the engine (include/sizeup/engine.hpp), one file each. Add a command by
// writing <name>.cpp with a <name>_command() and listing it in src/engine.cpp.
#pragma once

#include "sizeup/engine.hpp"
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

}  // namespace sizeup::cmd
