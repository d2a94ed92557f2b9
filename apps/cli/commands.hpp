// The list of commands. Add a command by writing cmd_<name>.cpp with a register_<name>
// function (see common.hpp) and listing it here.
#pragma once

#include <vector>

#include "common.hpp"

namespace sizeup::cli {

inline std::vector<Register> all_commands() {
  return {
      register_models, register_params,     register_dtypes, register_time,   register_mfu,
      register_gpus,   register_chinchilla, register_bench,  register_flops,  register_activations,
      register_infer,  register_train,      register_fit,    register_report,
  };
}

}  // namespace sizeup::cli
