// sizeup dtypes: number formats, their range and precision computed from the bit layout.
#include "sizeup/dtypes.hpp"

#include <fmt/format.h>

#include "commands/commands.hpp"

namespace sizeup::cmd {
namespace {

std::string sci(double v) { return fmt::format("{:.6g}", v); }

const char* kind_name(DTypeKind k) {
  switch (k) {
    case DTypeKind::floating:
      return "float";
    case DTypeKind::integer:
      return "int";
    case DTypeKind::lookup:
      return "lookup";
  }
  return "?";
}

// Where each format's layout is defined (printed by --explain beside its numbers).
const char* spec_source(const std::string& name) {
  if (name == "fp64" || name == "fp32" || name == "fp16")
    return "IEEE 754-2019 (binary64 / binary32 / binary16)";
  if (name == "bf16") return "bfloat16: Intel BF16 specification (2018), Google Brain float";
  if (name == "tf32") return "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020)";
  if (name.rfind("fp8", 0) == 0)
    return "OCP 8-bit Floating Point Specification (OFP8) rev 1.0, 2023; Micikevicius et al. "
           "2022";
  if (name.rfind("fp4", 0) == 0) return "OCP Microscaling Formats (MX) Specification v1.0, 2023";
  if (name == "nf4") return "Dettmers et al. 2023 (QLoRA), Sec. 3 and Appendix E (NF4 levels)";
  return "two's-complement integer: max 2^(b-1) - 1, spacing 1";
}

Derivation layout_derivation(const DType& t, const DTypeRange& r) {
  if (t.kind != DTypeKind::floating)
    return {"max 2^(b-1) - 1",
            fmt::format("{} bits, {}: max {}", t.bits, kind_name(t.kind), sci(r.max_finite)),
            spec_source(t.name)};
  return {
      "max = (2 - 2^-m) * 2^(emax - bias); min normal = 2^(1-bias); min subnormal = "
      "2^(1-bias-m); epsilon = 2^-m",
      fmt::format("e = {}, m = {}, bias = {}", t.exponent_bits, t.mantissa_bits,
                  (1 << (t.exponent_bits - 1)) - 1),
      spec_source(t.name)};
}

Report dtypes_report(const Options&) {
  Report r;
  r.title = "Number formats";
  r.explain_intro =
      "Floating formats: bias = 2^(e-1) - 1; max = (2 - 2^-m) * 2^(emax - bias) with emax = "
      "2^e - 2 (IEEE: all-ones exponent is inf/NaN), 2^e - 1 with top mantissa 2 - 2^(1-m) "
      "(e4m3fn), or 2^e - 1 (e2m1, no specials).";
  r.data["dtypes"] = nlohmann::json::array();
  auto& s          = r.section(
               "", {"dtype", "bits", "s/e/m", "max finite", "min normal", "min subnormal", "epsilon"});
  for (const auto& t : dtype_catalog()) {
    const DTypeRange x = dtype_range(t);
    r.data["dtypes"].push_back({{"name", t.name},
                                {"kind", kind_name(t.kind)},
                                {"bits", t.bits},
                                {"storage_bits", t.storage_bits},
                                {"sign_bits", t.sign_bits},
                                {"exponent_bits", t.exponent_bits},
                                {"mantissa_bits", t.mantissa_bits},
                                {"max_finite", x.max_finite},
                                {"min_normal", x.min_normal},
                                {"min_subnormal", x.min_subnormal},
                                {"epsilon", x.epsilon},
                                {"min_value", x.min_value}});
    s.rows.push_back({"",
                      t.name,
                      t.bits,
                      Unit::none,
                      layout_derivation(t, x),
                      {t.kind == DTypeKind::floating
                           ? fmt::format("{}/{}/{}", t.sign_bits, t.exponent_bits, t.mantissa_bits)
                           : kind_name(t.kind),
                       sci(x.max_finite), sci(x.min_normal), sci(x.min_subnormal), sci(x.epsilon)},
                      "",
                      true});
  }
  s.notes.push_back(
      "tf32 stores 19 significant bits in 32; nf4 values are codebook levels in [-1, 1] times "
      "a per-block scale.");
  return r;
}

}  // namespace

CommandSpec dtypes_command() {
  return {"dtypes", "number formats: bit layout, range and precision", {}, dtypes_report};
}

}  // namespace sizeup::cmd
