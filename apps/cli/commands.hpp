// The list of commands. Engine commands (include/sizeup/engine.hpp) are listed with
// `engine`; commands not yet moved onto the engine have a cmd_<name>.cpp with a
// register_<name> function (see common.hpp). main() registers only the command named on the
// command line (all of them for help and errors), so start-up does not pay for building every
// command's options.
#pragma once

#include <utility>
#include <vector>

#include "common.hpp"

namespace sizeup::cli {

inline Register engine(const char* name) {
  return [name](CLI::App& root, GlobalOptions&) {
    return register_engine_command(root, *find_command(name));
  };
}

inline std::vector<std::pair<const char*, Register>> all_commands() {
  return {
      {"models", engine("models")},
      {"params", engine("params")},
      {"dtypes", engine("dtypes")},
      {"time", register_time},
      {"mfu", register_mfu},
      {"gpus", engine("gpus")},
      {"chinchilla", register_chinchilla},
      {"bench", register_bench},
      {"flops", register_flops},
      {"activations", register_activations},
      {"infer", engine("infer")},
      {"train", engine("train")},
      {"fit", engine("fit")},
      {"plan", engine("plan")},
      {"report", register_report},
      {"serve", register_serve},
  };
}

}  // namespace sizeup::cli
