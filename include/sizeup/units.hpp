// Units used throughout sizeup. Names carry the unit: *_bytes are bytes, *_flops are a
// count of floating-point operations, *_flops_per_s a rate, *_seconds seconds.
// GB = 10^9 bytes, GiB = 2^30 bytes; the two are never mixed.
#pragma once

#include <cstdint>

namespace sizeup {

using ParamCount = std::uint64_t;  // number of scalar parameters, exact
using ByteCount  = std::uint64_t;  // bytes, exact (1e13 params x 16 B = 1.6e14 < 2^64)
using FlopCount  = double;         // floating-point operations (1e27 needs a double)
using FlopRate   = double;         // FLOP/s
using Seconds    = double;

inline constexpr double kBytesPerGB    = 1e9;
inline constexpr double kBytesPerGiB   = 1073741824.0;  // 2^30
inline constexpr double kSecondsPerDay = 86400.0;       // 24 x 3600

inline double to_gb(ByteCount bytes) { return static_cast<double>(bytes) / kBytesPerGB; }
inline double to_gib(ByteCount bytes) { return static_cast<double>(bytes) / kBytesPerGiB; }

}  // namespace sizeup
