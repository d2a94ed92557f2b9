// The seed's MFU procedure made real on a CPU: the FLOPs of a matrix product, the CPU's
// theoretical peak, and the fraction of it that a measured product achieves.
//
// Sources: CS336 lecture 2 (seed 003: a matmul of m x k by k x n costs 2·m·n·k FLOPs; MFU =
// achieved / promised FLOP/s); peak of a CPU = cores x clock x FMA units x vector lanes x 2
// (one fused multiply-add is 2 FLOPs), e.g. Intel's and AMD's optimisation manuals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// What sets a CPU's peak. Lanes are per vector register for the element width.
struct CpuSpec {
  std::string model;         // e.g. "AMD EPYC"
  std::int64_t cores = 1;    // cores used by the BLAS, e.g. 2
  double clock_ghz   = 0;    // sustained clock, e.g. 2.1
  int fma_units      = 2;    // FMA pipes per core, e.g. 2 (assumption unless given)
  int vector_bits    = 256;  // widest FMA vector, e.g. 512 (AVX-512), 256 (AVX2), 128
  std::string vector_isa;    // e.g. "avx512f"
};

// Elements of a dtype in one vector register: vector_bits / (8 x element bytes).
int vector_lanes(const CpuSpec& cpu, int element_bytes);

// Peak FLOP/s for one element width: cores x GHz x 1e9 x fma_units x lanes x 2.
Row<FlopRate> cpu_peak(const CpuSpec& cpu, int element_bytes, const std::string& dtype);

// FLOPs of C = A·B with A m x k and B k x n: 2·m·n·k (one multiply and one add per term).
FlopCount matmul_flops(std::int64_t m, std::int64_t n, std::int64_t k);

// Median of repeated timings (mean of the middle two for an even count); throws on empty.
Seconds median_seconds(std::vector<Seconds> samples);

struct MatmulResult {
  std::string dtype;                  // "fp32" or "fp64"
  std::int64_t n                = 0;  // square size n x n x n
  FlopCount flops               = 0;
  Seconds median                = 0;
  FlopRate achieved_flops_per_s = 0;
  double fraction_of_peak       = 0;  // achieved / peak
  Derivation derivation;
};

// Achieved FLOP/s and fraction of peak for one measured size.
MatmulResult matmul_result(const std::string& dtype, std::int64_t n, Seconds median, FlopRate peak);

}  // namespace sizeup
