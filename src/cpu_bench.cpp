#include "sizeup/cpu_bench.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sizeup/error.hpp"

namespace sizeup {

int vector_lanes(const CpuSpec& cpu, int element_bytes) {
  return cpu.vector_bits / (8 * element_bytes);
}

Row<FlopRate> cpu_peak(const CpuSpec& cpu, int element_bytes, const std::string& dtype) {
  if (cpu.cores <= 0) throw InputError("invalid core count", "cores", "must be positive");
  if (!(cpu.clock_ghz > 0)) throw InputError("invalid clock", "ghz", "must be positive");
  if (cpu.fma_units <= 0) throw InputError("invalid FMA units", "fma_units", "must be positive");
  const int lanes = vector_lanes(cpu, element_bytes);
  const double value =
      static_cast<double>(cpu.cores) * cpu.clock_ghz * 1e9 * cpu.fma_units * lanes * 2.0;
  return {"peak_" + dtype,
          dtype + " peak FLOP/s",
          value,
          {"cores * clock * FMA units * lanes * 2",
           fmt::format("{} * {:g}e9 * {} * {} * 2", cpu.cores, cpu.clock_ghz, cpu.fma_units, lanes),
           fmt::format("{} lanes = {} bits / {} bits ({})", lanes, cpu.vector_bits,
                       8 * element_bytes, cpu.vector_isa.empty() ? "given" : cpu.vector_isa)}};
}

FlopCount matmul_flops(std::int64_t m, std::int64_t n, std::int64_t k) {
  return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
}

Seconds median_seconds(std::vector<Seconds> s) {
  if (s.empty()) throw InputError("no timings", "repeats", "must be at least 1");
  std::sort(s.begin(), s.end());
  const std::size_t mid = s.size() / 2;
  return s.size() % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

MatmulResult matmul_result(const std::string& dtype, std::int64_t n, Seconds median,
                           FlopRate peak) {
  if (!(median > 0)) throw InputError("invalid timing", "median_seconds", "must be positive");
  MatmulResult r;
  r.dtype                = dtype;
  r.n                    = n;
  r.flops                = matmul_flops(n, n, n);
  r.median               = median;
  r.achieved_flops_per_s = r.flops / median;
  r.fraction_of_peak     = peak > 0 ? r.achieved_flops_per_s / peak : 0;
  r.derivation           = {"2 * n^3 / median seconds; fraction = achieved / peak",
                            fmt::format("2 * {}^3 / {:.6g} = {:.4g} FLOP/s; / {:.4g} = {:.3f}", n, median,
                                        r.achieved_flops_per_s, peak, r.fraction_of_peak),
                            "CS336 lecture 2 (seed 003): matmul FLOPs and MFU"};
  return r;
}

}  // namespace sizeup
