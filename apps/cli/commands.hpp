// The list of commands. Add a command by writing cmd_<name>.cpp with a register_<name>
// function (see common.hpp) and listing it here.
#pragma once

#include <vector>

#include "common.hpp"

namespace sizeup::cli {

inline std::vector<Register> all_commands() {
  // clang-format off
  return {
      register_models,
      register_params,
      register_dtypes,
      register_time,
      register_mfu,
      register_chinchilla,
      register_gpus,
      register_bench,
      register_activations,
      register_flops,
      register_infer,
      register_train,
      register_fit,
      register_report,
  };
  // clang-format on
}

}  // namespace sizeup::cli
