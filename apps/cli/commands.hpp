// The list of commands. Add a command by writing cmd_<name>.cpp with a register_<name>
// function (see common.hpp) and listing it here with the name it registers. main() registers
// only the command named on the command line (all of them for help and errors), so start-up
// does not pay for building every command's options.
#pragma once

#include <utility>
#include <vector>

#include "common.hpp"

namespace sizeup::cli {

inline std::vector<std::pair<const char*, Register>> all_commands() {
  return {
      {"models", register_models},
      {"params", register_params},
      {"dtypes", register_dtypes},
      {"time", register_time},
      {"mfu", register_mfu},
      {"gpus", register_gpus},
      {"chinchilla", register_chinchilla},
      {"bench", register_bench},
      {"flops", register_flops},
      {"activations", register_activations},
      {"infer", register_infer},
      {"train", register_train},
      {"fit", register_fit},
      {"report", register_report},
  };
}

}  // namespace sizeup::cli
