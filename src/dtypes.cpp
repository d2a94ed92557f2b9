#include "sizeup/dtypes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sizeup {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Floating formats: bias = 2^(e-1) - 1. The largest exponent field usable for finite values
// is 2^e - 2 under IEEE rules and 2^e - 1 otherwise; under "fn" rules its all-ones
// mantissa is NaN, so the top mantissa is 2 - 2^(1-m) rather than 2 - 2^-m.
DTypeRange float_range(const DType& t) {
  const int e = t.exponent_bits, m = t.mantissa_bits;
  const int bias    = (1 << (e - 1)) - 1;
  const int top_exp = (t.specials == Specials::ieee ? (1 << e) - 2 : (1 << e) - 1) - bias;
  const double top_mant =
      t.specials == Specials::fn ? 2.0 - std::ldexp(1.0, 1 - m) : 2.0 - std::ldexp(1.0, -m);
  DTypeRange r;
  r.max_finite    = std::ldexp(top_mant, top_exp);
  r.min_normal    = std::ldexp(1.0, 1 - bias);
  r.min_subnormal = std::ldexp(1.0, 1 - bias - m);
  r.epsilon       = std::ldexp(1.0, -m);
  r.min_value     = -r.max_finite;
  return r;
}

// Two's complement integers of b bits: [-2^(b-1), 2^(b-1) - 1].
DTypeRange int_range(const DType& t) {
  const double hi = std::ldexp(1.0, t.bits - 1) - 1.0;
  return {hi, 1.0, 1.0, 1.0, -hi - 1.0};
}

}  // namespace

const std::vector<DType>& dtype_catalog() {
  using K                           = DTypeKind;
  using S                           = Specials;
  static const std::vector<DType> c = {
      {"fp64", "float64,double", K::floating, 64, 64, 1, 11, 52, S::ieee},
      {"fp32", "float32,float", K::floating, 32, 32, 1, 8, 23, S::ieee},
      {"tf32", "tensorfloat32", K::floating, 19, 32, 1, 8, 10, S::ieee},
      {"bf16", "bfloat16", K::floating, 16, 16, 1, 8, 7, S::ieee},
      {"fp16", "float16,half", K::floating, 16, 16, 1, 5, 10, S::ieee},
      {"fp8-e4m3fn", "e4m3,e4m3fn,fp8,float8_e4m3fn", K::floating, 8, 8, 1, 4, 3, S::fn},
      {"fp8-e5m2", "e5m2,float8_e5m2", K::floating, 8, 8, 1, 5, 2, S::ieee},
      {"fp4-e2m1", "e2m1,fp4,mxfp4", K::floating, 4, 4, 1, 2, 1, S::none},
      {"int8", "i8", K::integer, 8, 8, 1, 0, 7, S::none},
      {"int4", "i4", K::integer, 4, 4, 1, 0, 3, S::none},
      // NF4 (Dettmers et al. 2023, QLoRA, Sec. 3): 16 quantiles of N(0,1) scaled to [-1, 1],
      // multiplied by a per-block absmax; values span [-1, 1] before scaling.
      {"nf4", "normalfloat4", K::lookup, 4, 4, 0, 0, 0, S::none},
  };
  return c;
}

const DType* find_dtype(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& t : dtype_catalog()) {
    if (t.name == n) return &t;
    std::string a = t.aliases + ",";
    for (std::size_t p = 0, q; (q = a.find(',', p)) != std::string::npos; p = q + 1)
      if (a.substr(p, q - p) == n) return &t;
  }
  return nullptr;
}

DTypeRange dtype_range(const DType& t) {
  switch (t.kind) {
    case DTypeKind::floating:
      return float_range(t);
    case DTypeKind::integer:
      return int_range(t);
    // NF4 levels (QLoRA, Appendix E): smallest positive 0.0796..., the step below 1 is
    // 1 - 0.7229...; there are no subnormals, so min_normal = min_subnormal.
    case DTypeKind::lookup:
      return {1.0, 0.07958029955625534, 0.07958029955625534, 1.0 - 0.7229568362236023, -1.0};
  }
  return {};
}

}  // namespace sizeup
