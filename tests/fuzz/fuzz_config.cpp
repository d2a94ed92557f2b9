#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const sizeup::ModelSpec m = sizeup::model_from_config_text(text);
    (void)sizeup::count_params(m);
  } catch (const sizeup::InputError&) {
  }
  return 0;
}
