// Parsing user quantities: plain (70000000000), scientific (70e9) and suffixed (70B, 15T,
// 1.5k, 80GB, 80GiB) forms. Bad input throws InputError naming the field.
#pragma once

#include <cstdint>
#include <string>

namespace sizeup {

// Counts: k = 1e3, M/m = 1e6, B/G/b/g = 1e9, T/t = 1e12, P/p = 1e15 (case-insensitive
// except M vs m both meaning million). Result is finite and >= 0.
double parse_quantity(const std::string& text, const std::string& field);

// A plain non-negative real number without suffix (a fraction, a ratio).
double parse_number(const std::string& text, const std::string& field);

// As parse_quantity, and the value must be a whole number that fits in 63 bits.
std::int64_t parse_count(const std::string& text, const std::string& field);

// Byte sizes: plain bytes or with unit KB/MB/GB/TB (10^3k) or KiB/MiB/GiB/TiB (2^10k).
double parse_bytes(const std::string& text, const std::string& field);

}  // namespace sizeup
