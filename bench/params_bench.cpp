// Speed of the parameter count: `sizeup params llama-3-8b` is called in loops by scripts
// and the web page, so parsing the config and counting must take well under 10 ms.
#include <benchmark/benchmark.h>

#include "sizeup/catalog.hpp"
#include "sizeup/params.hpp"

static void BM_ParseAndCountLlama3_8B(benchmark::State& state) {
  const auto* entry = sizeup::find_model("llama-3-8b");
  if (!entry) {
    state.SkipWithError("llama-3-8b missing from the catalog");
    return;
  }
  for (auto _ : state) {
    auto spec = sizeup::model_from_catalog(*entry);
    benchmark::DoNotOptimize(sizeup::count_params(spec).total);
  }
}
BENCHMARK(BM_ParseAndCountLlama3_8B);

static void BM_LoadWholeCatalog(benchmark::State& state) {
  for (auto _ : state) {
    sizeup::ParamCount sum = 0;
    for (const auto& e : sizeup::model_catalog())
      sum += sizeup::count_params(sizeup::model_from_catalog(e)).total;
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_LoadWholeCatalog);
