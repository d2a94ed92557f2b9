// Number formats. Floating-point properties are computed from the bit layout
// (IEEE 754-2019 Sec. 3.4; OCP 8-bit FP spec v1.0 for E4M3/E5M2; OCP MX v1.0 for E2M1).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sizeup {

enum class DTypeKind { floating, integer, lookup };  // lookup: NF4 codebook + block scale

// How the all-ones exponent is used.
enum class Specials {
  ieee,  // all-ones exponent is inf/NaN (fp16, bf16, fp32, e5m2)
  fn,    // finite only; only all-ones exponent and mantissa is NaN (e4m3fn)
  none,  // no inf/NaN at all (fp4 e2m1)
};

struct DType {
  std::string name;     // e.g. "bf16"
  std::string aliases;  // e.g. "bfloat16"
  DTypeKind kind;
  int bits;          // storage bits per value, e.g. 16 (tf32: 19 significant, stored in 32)
  int storage_bits;  // bits a tensor element occupies in memory
  int sign_bits;
  int exponent_bits;
  int mantissa_bits;
  Specials specials;
};

struct DTypeRange {
  double max_finite;     // largest finite value
  double min_normal;     // smallest positive normal (floating) or 1 (integer)
  double min_subnormal;  // smallest positive value
  double epsilon;        // gap between 1 and the next value (floating); 1 for integers
  double min_value;      // most negative value
};

const std::vector<DType>& dtype_catalog();
const DType* find_dtype(const std::string& name);  // by name or alias, case-insensitive
DTypeRange dtype_range(const DType& t);

}  // namespace sizeup
