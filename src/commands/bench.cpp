// sizeup bench: time square matrix products with OpenBLAS on this machine and report the
// achieved FLOP/s and the fraction of the CPU's theoretical peak (the seed's MFU procedure).
// The one command that measures rather than computes: it reads /proc/cpuinfo and times BLAS
// calls here; the arithmetic (peak, fraction) is cpu_bench.hpp's.
#include <cblas.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "commands/commands.hpp"
#include "commands/shared.hpp"
#include "sizeup/cpu_bench.hpp"
#include "sizeup/error.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cmd {
namespace {

// OpenBLAS is opened only when `sizeup bench` runs: linked into the binary, its loading and
// thread start-up cost every other command about 10 ms of start-up time.
struct Blas {
  decltype(&cblas_sgemm) sgemm                        = nullptr;
  decltype(&cblas_dgemm) dgemm                        = nullptr;
  decltype(&openblas_get_num_threads) get_num_threads = nullptr;
  decltype(&openblas_set_num_threads) set_num_threads = nullptr;
};

template <class F>
void bind(void* lib, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw InputError("OpenBLAS lacks a symbol", "command", name);
}

const Blas& blas() {
  static const Blas b = [] {
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      throw InputError("OpenBLAS not found", "command",
                       "install Debian's libopenblas0 (scripts/install-deps.sh)");
    Blas r;
    bind(lib, r.sgemm, "cblas_sgemm");
    bind(lib, r.dgemm, "cblas_dgemm");
    bind(lib, r.get_num_threads, "openblas_get_num_threads");
    bind(lib, r.set_num_threads, "openblas_set_num_threads");
    return r;
  }();
  return b;
}

// Reads the CPU model, clock and widest FMA vector from /proc/cpuinfo (Linux).
CpuSpec detect_cpu() {
  CpuSpec cpu;
  cpu.cores = blas().get_num_threads();
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && cpu.model.empty()) cpu.model = val;
    if (key == "cpu MHz" && cpu.clock_ghz == 0) cpu.clock_ghz = std::stod(val) / 1000;
    if (key == "flags" && cpu.vector_isa.empty()) {
      const std::string f = " " + val + " ";
      if (f.find(" avx512f ") != std::string::npos)
        cpu.vector_bits = 512, cpu.vector_isa = "avx512f";
      else if (f.find(" fma ") != std::string::npos)
        cpu.vector_bits = 256, cpu.vector_isa = "avx2+fma";
      else
        cpu.vector_bits = 128, cpu.vector_isa = "sse2";
    }
  }
  if (cpu.clock_ghz == 0) cpu.clock_ghz = 1.0;
  return cpu;
}

template <class T>
Seconds time_once(std::int64_t n, std::vector<T>& a, std::vector<T>& b, std::vector<T>& c) {
  const auto ni = static_cast<blasint>(n);
  const auto t0 = std::chrono::steady_clock::now();
  if constexpr (std::is_same_v<T, float>)
    blas().sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data(), ni,
                 b.data(), ni, 0.0f, c.data(), ni);
  else
    blas().dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0, a.data(), ni, b.data(),
                 ni, 0.0, c.data(), ni);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One warm-up product, then the median of `repeats` timed products.
template <class T>
Seconds measure(std::int64_t n, std::int64_t repeats) {
  const auto elems = static_cast<std::size_t>(n * n);
  std::vector<T> a(elems, T(1.0) / T(3.0)), b(elems, T(0.5)), c(elems);
  time_once(n, a, b, c);
  std::vector<Seconds> samples;
  for (std::int64_t i = 0; i < repeats; ++i) samples.push_back(time_once(n, a, b, c));
  return median_seconds(samples);
}

std::vector<std::int64_t> sizes_option(const Options& o) {
  std::vector<std::int64_t> sizes;
  const std::string list = text_option(o, "sizes").value_or("256,512,1024,2048");
  std::string cur;
  for (char c : list + ",") {
    if (c != ',') {
      cur += c;
      continue;
    }
    if (cur.empty()) continue;
    const std::int64_t n = parse_count(cur, "sizes");
    if (n < 1 || n > 16384)
      throw InputError("invalid matrix size", "sizes", fmt::format("{} not in 1..16384", cur));
    sizes.push_back(n);
    cur.clear();
  }
  if (sizes.empty()) throw InputError("invalid matrix size", "sizes", "give sizes such as 256,512");
  return sizes;
}

CpuSpec cpu_from(const Options& o) {
  CpuSpec cpu = detect_cpu();
  if (const auto v = count_option(o, "cores")) cpu.cores = *v;
  if (const auto v = number_option(o, "ghz")) cpu.clock_ghz = *v;
  if (const auto v = count_option(o, "fma_units")) cpu.fma_units = static_cast<int>(*v);
  if (const auto bits = count_option(o, "vector_bits")) {
    if (*bits != 128 && *bits != 256 && *bits != 512)
      throw InputError("invalid vector width", "vector_bits", "must be 128, 256 or 512");
    cpu.vector_bits = static_cast<int>(*bits), cpu.vector_isa = "given";
  }
  return cpu;
}

Report bench_report(const Options& o) {
  const std::string which    = text_option(o, "dtype").value_or("both");
  const std::int64_t repeats = count_option(o, "repeats").value_or(5);
  if (repeats < 1 || repeats > 1000)
    throw InputError("invalid repeats", "repeats", "must be in 1..1000");
  const std::vector<std::int64_t> sizes = sizes_option(o);
  const bool quiet                      = flag_option(o, "quiet");
  const CpuSpec cpu                     = cpu_from(o);
  blas().set_num_threads(static_cast<int>(cpu.cores));
  std::vector<std::pair<std::string, int>> dtypes;
  if (which != "fp64") dtypes.push_back({"fp32", 4});
  if (which != "fp32") dtypes.push_back({"fp64", 8});

  std::vector<MatmulResult> results;
  Breakdown<FlopRate> peaks;
  const bool progress     = !quiet && isatty(STDERR_FILENO);
  const std::size_t total = dtypes.size() * sizes.size();
  for (const auto& [dtype, bytes] : dtypes) {
    peaks.rows.push_back(cpu_peak(cpu, bytes, dtype));
    for (const auto n : sizes) {
      if (!quiet)
        fmt::print(stderr, "{}[{}/{}] {} {}x{}x{} ...{}", progress ? "\r" : "", results.size() + 1,
                   total, dtype, n, n, n, progress ? "" : "\n");
      const Seconds med = bytes == 4 ? measure<float>(n, repeats) : measure<double>(n, repeats);
      results.push_back(matmul_result(dtype, n, med, peaks.rows.back().value));
    }
  }
  if (progress) fmt::print(stderr, "\r{:40}\r", "");

  Report rep;
  auto& j  = rep.data;
  j["cpu"] = {{"model", cpu.model},
              {"cores", cpu.cores},
              {"clock_ghz", cpu.clock_ghz},
              {"fma_units", cpu.fma_units},
              {"vector_bits", cpu.vector_bits},
              {"vector_isa", cpu.vector_isa}};
  for (const auto& p : peaks.rows) j["peak_flops_per_s"][p.key.substr(5)] = p.value;
  j["repeats"] = repeats;
  j["results"] = nlohmann::json::array();
  rep.title =
      fmt::format("{}: {} cores at {:.3g} GHz, {} FMA units x {}-bit vectors ({})", cpu.model,
                  cpu.cores, cpu.clock_ghz, cpu.fma_units, cpu.vector_bits, cpu.vector_isa);
  auto& peak = rep.section("Theoretical peak");
  for (const auto& p : peaks.rows)
    peak.rows.push_back(make_row("", "theoretical " + p.label, p.value, Unit::none, p.derivation,
                                 {}, fmt::format("{:.1f} GFLOP/s", p.value / 1e9)));
  auto& measured =
      rep.section("Measured", {"dtype", "n", "FLOPs", "median s", "achieved GFLOP/s", "of peak"});
  const MatmulResult* best = nullptr;
  for (const auto& r : results) {
    j["results"].push_back({{"dtype", r.dtype},
                            {"n", r.n},
                            {"flops", r.flops},
                            {"median_seconds", r.median},
                            {"achieved_flops_per_s", r.achieved_flops_per_s},
                            {"fraction_of_peak", r.fraction_of_peak}});
    measured.rows.push_back(
        make_row("", r.dtype, r.n, Unit::none, r.derivation,
                 {fmt::format("{:.4g}", r.flops), fmt::format("{:.4g}", r.median),
                  fmt::format("{:.1f}", r.achieved_flops_per_s / 1e9),
                  fmt::format("{:.1f}%", 100 * r.fraction_of_peak)},
                 std::to_string(r.n)));
    if (!best || r.fraction_of_peak > best->fraction_of_peak) best = &r;
  }
  j["mfu"]  = best->fraction_of_peak;
  j["best"] = {
      {"dtype", best->dtype}, {"n", best->n}, {"achieved_flops_per_s", best->achieved_flops_per_s}};
  rep.notes.push_back(fmt::format(
      "best: {} n={} at {:.1f}% of peak (clock from /proc/cpuinfo; override with ghz, fma_units, "
      "cores)",
      best->dtype, best->n, 100 * best->fraction_of_peak));
  return rep;
}

}  // namespace

CommandSpec bench_command() {
  using K = OptionKind;
  return {
      "bench",
      "measured matmul throughput and MFU on this CPU",
      {{"sizes",
        K::text,
        "square sizes n, comma-separated (n x n x n products)",
        "",
        {},
        "",
        false},
       {"dtype",
        K::text,
        "fp32, fp64 or both (default both)",
        "",
        {"fp32", "fp64", "both"},
        "",
        false},
       {"repeats",
        K::count,
        "timed repeats per size, median reported (default 5)",
        "",
        {},
        "",
        false},
       {"cores", K::count, "cores (BLAS threads) for the peak (default: all)", "", {}, "", false},
       {"ghz", K::number, "clock in GHz for the peak (default: /proc/cpuinfo)", "", {}, "", false},
       {"fma_units", K::count, "FMA pipes per core (default 2)", "", {}, "", false},
       {"vector_bits", K::count, "FMA vector width: 128, 256 or 512", "", {}, "", false},
       {"quiet", K::flag, "no progress on stderr", "", {}, "", false}},
      bench_report};
}

}  // namespace sizeup::cmd
