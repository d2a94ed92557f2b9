// The commands of the engine (include/sizeup/engine.hpp), one file each. Add a command by
// writing <name>.cpp with a <name>_command() and listing it in src/engine.cpp.
#pragma once

#include "sizeup/engine.hpp"

namespace sizeup::cmd {

CommandSpec models_command();
CommandSpec params_command();
CommandSpec gpus_command();
CommandSpec dtypes_command();

}  // namespace sizeup::cmd
