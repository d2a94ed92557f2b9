#!/usr/bin/env bash
# Runs every test: format check, dev build (warnings are errors) with unit, e2e and
# validation tests, the ASan/UBSan build with the unit tests, and the config fuzzer.
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

echo "== asan/ubsan build + unit tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs" --target sizeup_unit_tests
ctest --preset asan -j "$jobs"

echo "== fuzz the config parser (${SIZEUP_FUZZ_SECONDS:-60} s)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
mkdir -p build/fuzz/corpus
cp data/models/*.json tests/fuzz/corpus/* build/fuzz/corpus/ 2>/dev/null || true
./build/fuzz/tests/fuzz/fuzz_config -max_total_time="${SIZEUP_FUZZ_SECONDS:-60}" -max_len=8192 \
  -print_final_stats=1 build/fuzz/corpus 2>&1 | tail -n 12
