#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/dtypes.hpp"

namespace sizeup::cli {
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

}  // namespace

Action register_dtypes(CLI::App& root, GlobalOptions&) {
  root.add_subcommand("dtypes", "number formats: bit layout, range and precision");
  return [] {
    Output out;
    out.json["dtypes"]                         = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows = {
        {"dtype", "bits", "s/e/m", "max finite", "min normal", "min subnormal", "epsilon"}};
    std::string ex =
        "## Number formats\n\nFloating formats: bias = 2^(e-1) - 1; "
        "max = (2 - 2^-m) * 2^(emax - bias) with emax = 2^e - 2 (IEEE: all-ones "
        "exponent is inf/NaN), 2^e - 1 with top mantissa 2 - 2^(1-m) (e4m3fn), or "
        "2^e - 1 (e2m1, no specials); min normal = 2^(1-bias); min subnormal = "
        "2^(1-bias-m); epsilon = 2^-m.\n\n";
    for (const auto& t : dtype_catalog()) {
      const DTypeRange r = dtype_range(t);
      out.json["dtypes"].push_back({{"name", t.name},
                                    {"kind", kind_name(t.kind)},
                                    {"bits", t.bits},
                                    {"storage_bits", t.storage_bits},
                                    {"sign_bits", t.sign_bits},
                                    {"exponent_bits", t.exponent_bits},
                                    {"mantissa_bits", t.mantissa_bits},
                                    {"max_finite", r.max_finite},
                                    {"min_normal", r.min_normal},
                                    {"min_subnormal", r.min_subnormal},
                                    {"epsilon", r.epsilon},
                                    {"min_value", r.min_value}});
      rows.push_back({t.name, std::to_string(t.bits),
                      t.kind == DTypeKind::floating
                          ? fmt::format("{}/{}/{}", t.sign_bits, t.exponent_bits, t.mantissa_bits)
                          : kind_name(t.kind),
                      sci(r.max_finite), sci(r.min_normal), sci(r.min_subnormal), sci(r.epsilon)});
      if (t.kind == DTypeKind::floating)
        ex += fmt::format(
            "- **{}**: e = {}, m = {}, bias = {} -> max {}, min normal {}, min "
            "subnormal {}, epsilon {}\n",
            t.name, t.exponent_bits, t.mantissa_bits, (1 << (t.exponent_bits - 1)) - 1,
            sci(r.max_finite), sci(r.min_normal), sci(r.min_subnormal), sci(r.epsilon));
      else
        ex += fmt::format("- **{}**: {} bits, {} -> max {}, epsilon {}\n", t.name, t.bits,
                          kind_name(t.kind), sci(r.max_finite), sci(r.epsilon));
      ex += fmt::format("  _source: {}_\n", spec_source(t.name));
    }
    out.text = table(rows) +
               "\ntf32 stores 19 significant bits in 32; nf4 values are codebook "
               "levels in [-1, 1] times a per-block scale.\n";
    out.explain = ex;
    return out;
  };
}

}  // namespace sizeup::cli
