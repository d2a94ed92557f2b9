// sizeup bench: time square matrix products with OpenBLAS on this machine and report the
// achieved FLOP/s and the fraction of the CPU's theoretical peak (the seed's MFU procedure).
#include <cblas.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common.hpp"
#include "sizeup/cpu_bench.hpp"
#include "sizeup/error.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

struct BenchOptions {
  std::vector<std::string> sizes{"256", "512", "1024", "2048"};
  std::string dtype = "both";
  std::optional<std::string> repeats, cores, ghz, fma_units, vector_bits;
  bool quiet = false;
};

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
  if (!fn) throw InputError("OpenBLAS lacks a symbol", "bench", name);
}

const Blas& blas() {
  static const Blas b = [] {
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      throw InputError("OpenBLAS not found", "bench",
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

std::int64_t parse_size(const std::string& s) {
  const std::int64_t n = parse_count(s, "--sizes");
  if (n < 1 || n > 16384)
    throw InputError("invalid matrix size", "--sizes", fmt::format("{} not in 1..16384", s));
  return n;
}

CpuSpec cpu_from(const BenchOptions& o) {
  CpuSpec cpu = detect_cpu();
  if (o.cores) cpu.cores = parse_count(*o.cores, "--cores");
  if (o.ghz) cpu.clock_ghz = parse_quantity(*o.ghz, "--ghz");
  if (o.fma_units) cpu.fma_units = static_cast<int>(parse_count(*o.fma_units, "--fma-units"));
  if (o.vector_bits) {
    const auto bits = parse_count(*o.vector_bits, "--vector-bits");
    if (bits != 128 && bits != 256 && bits != 512)
      throw InputError("invalid vector width", "--vector-bits", "must be 128, 256 or 512");
    cpu.vector_bits = static_cast<int>(bits), cpu.vector_isa = "given";
  }
  return cpu;
}

Output bench_output(const BenchOptions& o) {
  if (o.dtype != "fp32" && o.dtype != "fp64" && o.dtype != "both")
    throw InputError("unknown dtype", "--dtype", "must be fp32, fp64 or both");
  const std::int64_t repeats = o.repeats ? parse_count(*o.repeats, "--repeats") : 5;
  if (repeats < 1 || repeats > 1000)
    throw InputError("invalid repeats", "--repeats", "must be in 1..1000");
  std::vector<std::int64_t> sizes;
  for (const auto& s : o.sizes) sizes.push_back(parse_size(s));
  const CpuSpec cpu = cpu_from(o);
  blas().set_num_threads(static_cast<int>(cpu.cores));
  std::vector<std::pair<std::string, int>> dtypes;
  if (o.dtype != "fp64") dtypes.push_back({"fp32", 4});
  if (o.dtype != "fp32") dtypes.push_back({"fp64", 8});

  Output out;
  std::vector<MatmulResult> results;
  Breakdown<FlopRate> peaks;
  const bool progress     = !o.quiet && isatty(STDERR_FILENO);
  const std::size_t total = dtypes.size() * sizes.size();
  for (const auto& [dtype, bytes] : dtypes) {
    peaks.rows.push_back(cpu_peak(cpu, bytes, dtype));
    for (const auto n : sizes) {
      if (!o.quiet)
        fmt::print(stderr, "{}[{}/{}] {} {}x{}x{} ...{}", progress ? "\r" : "", results.size() + 1,
                   total, dtype, n, n, n, progress ? "" : "\n");
      const Seconds med = bytes == 4 ? measure<float>(n, repeats) : measure<double>(n, repeats);
      results.push_back(matmul_result(dtype, n, med, peaks.rows.back().value));
    }
  }
  if (progress) fmt::print(stderr, "\r{:40}\r", "");

  auto& j  = out.json;
  j["cpu"] = {{"model", cpu.model},
              {"cores", cpu.cores},
              {"clock_ghz", cpu.clock_ghz},
              {"fma_units", cpu.fma_units},
              {"vector_bits", cpu.vector_bits},
              {"vector_isa", cpu.vector_isa}};
  for (const auto& p : peaks.rows) j["peak_flops_per_s"][p.key.substr(5)] = p.value;
  j["repeats"]                               = repeats;
  j["results"]                               = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows = {
      {"dtype", "n", "FLOPs", "median s", "achieved GFLOP/s", "of peak"}};
  const MatmulResult* best = nullptr;
  for (const auto& r : results) {
    j["results"].push_back({{"dtype", r.dtype},
                            {"n", r.n},
                            {"flops", r.flops},
                            {"median_seconds", r.median},
                            {"achieved_flops_per_s", r.achieved_flops_per_s},
                            {"fraction_of_peak", r.fraction_of_peak}});
    rows.push_back({r.dtype, std::to_string(r.n), fmt::format("{:.4g}", r.flops),
                    fmt::format("{:.4g}", r.median),
                    fmt::format("{:.1f}", r.achieved_flops_per_s / 1e9),
                    fmt::format("{:.1f}%", 100 * r.fraction_of_peak)});
    if (!best || r.fraction_of_peak > best->fraction_of_peak) best = &r;
  }
  j["mfu"]  = best->fraction_of_peak;
  j["best"] = {
      {"dtype", best->dtype}, {"n", best->n}, {"achieved_flops_per_s", best->achieved_flops_per_s}};
  out.text =
      fmt::format("{}: {} cores at {:.3g} GHz, {} FMA units x {}-bit vectors ({})\n", cpu.model,
                  cpu.cores, cpu.clock_ghz, cpu.fma_units, cpu.vector_bits, cpu.vector_isa);
  for (const auto& p : peaks.rows)
    out.text += fmt::format("theoretical {}: {:.1f} GFLOP/s\n", p.label, p.value / 1e9);
  out.text += "\n" + table(rows);
  out.text += fmt::format(
      "\nbest: {} n={} at {:.1f}% of peak (clock from /proc/cpuinfo; "
      "override with --ghz, --fma-units, --cores)\n",
      best->dtype, best->n, 100 * best->fraction_of_peak);
  auto show   = [](const FlopRate& v) { return fmt::format("{:.4g} FLOP/s", v); };
  out.explain = explain_rows<FlopRate>("Theoretical peak", peaks, show) + "\n### Measured\n\n";
  for (const auto& r : results)
    out.explain += explain_row(fmt::format("{} n={}", r.dtype, r.n), r.derivation,
                               fmt::format("{:.1f}%", 100 * r.fraction_of_peak));
  return out;
}

}  // namespace

Action register_bench(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("bench", "measured matmul throughput and MFU on this CPU");
  auto o    = std::make_shared<BenchOptions>();
  app->add_option("--sizes", o->sizes, "square sizes n (n x n x n products)")->delimiter(',');
  app->add_option("--dtype", o->dtype, "fp32, fp64 or both (default both)");
  add_quantity(app, "--repeats", o->repeats, "timed repeats per size, median reported (default 5)");
  add_quantity(app, "--cores", o->cores, "cores (BLAS threads) for the peak (default: all)");
  add_quantity(app, "--ghz", o->ghz, "clock in GHz for the peak (default: /proc/cpuinfo)");
  add_quantity(app, "--fma-units", o->fma_units, "FMA pipes per core (default 2)");
  add_quantity(app, "--vector-bits", o->vector_bits, "FMA vector width: 128, 256 or 512");
  app->add_flag("--quiet", o->quiet, "no progress on stderr");
  return [o] { return bench_output(*o); };
}

}  // namespace sizeup::cli
