#!/usr/bin/env bash
# Runs every test: format check, dev build (warnings are errors) with unit, e2e and
# validation tests, the ASan/UBSan build with the unit tests, and the config and safetensors
# fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
jobs=$(nproc)

echo "== clang-format check"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

echo "== dev build + all tests"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs"
/usr/bin/python3 scripts/make-validation-doc.py build/dev/validation

echo "== asan/ubsan build + unit and end-to-end tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
# Sanitized runs are several times slower: the campaign's CPU bound per run scales with it.
SIZEUP_CPU_SCALE=10 SIZEUP_CAMPAIGN_SECONDS=30 ctest --preset asan -j "$jobs"

echo "== fuzz the config parser and the request path (${SIZEUP_FUZZ_SECONDS:-60} s each)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
mkdir -p build/fuzz/corpus
cp data/models/*.json tests/fuzz/corpus/* build/fuzz/corpus/ 2>/dev/null || true
./build/fuzz/tests/fuzz/fuzz_config -max_total_time="${SIZEUP_FUZZ_SECONDS:-60}" -max_len=8192 \
  -print_final_stats=1 build/fuzz/corpus 2>&1 | tail -n 12
mkdir -p build/fuzz/request_corpus
cp tests/fuzz/request_corpus/* build/fuzz/request_corpus/
./build/fuzz/tests/fuzz/fuzz_request -max_total_time="${SIZEUP_FUZZ_SECONDS:-60}" -max_len=4096 \
  -print_final_stats=1 build/fuzz/request_corpus 2>&1 | tail -n 12

echo "== fuzz the safetensors header parser (${SIZEUP_FUZZ_SAFETENSORS_SECONDS:-20} s)"
mkdir -p build/fuzz/corpus_safetensors
cp tests/fuzz/corpus_safetensors/* build/fuzz/corpus_safetensors/
./build/fuzz/tests/fuzz/fuzz_safetensors -max_total_time="${SIZEUP_FUZZ_SAFETENSORS_SECONDS:-20}" \
  -max_len=16384 -print_final_stats=1 build/fuzz/corpus_safetensors 2>&1 | tail -n 12
