// Overflow-checked integer arithmetic for exact counts (parameters, bytes).
// A result that does not fit in 64 bits is reported as bad input, never wrapped.
#pragma once

#include <cstdint>
#include <string>

#include "sizeup/error.hpp"

namespace sizeup {

inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& field) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw InputError("value too large", field, "overflows 64 bits");
  return r;
}

inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& field) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    throw InputError("value too large", field, "overflows 64 bits");
  return r;
}

}  // namespace sizeup
