// Wall time of a whole `sizeup params llama-3-8b --json` process (start-up, catalog lookup,
// config parse, count, JSON output): scripts and the web page call it in loops, so the
// target is well under 10 ms.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

static void BM_CliParamsLlama3_8B(benchmark::State& state) {
  const std::string cmd = std::string(SIZEUP_CLI) + " params llama-3-8b --json > /dev/null";
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) {
      state.SkipWithError("sizeup params failed");
      return;
    }
  }
}
BENCHMARK(BM_CliParamsLlama3_8B)->Unit(benchmark::kMillisecond)->UseRealTime();
