// train_memory() with the activation model: kept in its own file so that code computing
// with given activations (tests, searches) links without the activation model.
#include "sizeup/memory_train.hpp"

namespace sizeup {

TrainMemoryReport train_memory(const ModelSpec& m, const TrainInput& in) {
  validate_plan(m, in);
  return train_memory(m, in, activation_memory(m, activation_input(in)));
}

}  // namespace sizeup
