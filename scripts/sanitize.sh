#!/usr/bin/env bash
# Build the C++ core a second time with AddressSanitizer + UndefinedBehaviorSanitizer (CMake option
# CODESIGN_SANITIZE, in its own build folder), run the core's C++ tests (CTest) and a short fuzz run under them.
# Any sanitizer report, failed check or crash makes this script exit non-zero. Needs cmake and a C++17 compiler
# with the sanitizer runtimes (g++ on Debian/Ubuntu has them); uses ninja when present.
#
#   bash scripts/sanitize.sh                      # about a minute on 2 cores (build 15-25 s, fuzz 40 s)
#   CODESIGN_FUZZ_SECONDS=600 CODESIGN_FUZZ_SEED=7 bash scripts/sanitize.sh    # a longer fuzz run
#   CODESIGN_SANITIZE_PYTHON=1 bash scripts/sanitize.sh   # also the extension module + Python tests (minutes)
#
# Coverage-guided fuzzing with libFuzzer needs clang (Debian: clang-14 libclang-rt-14-dev), the same target:
#   CXX=clang++-14 cmake -S . -B build/libfuzzer -DCODESIGN_SANITIZE=ON -DCODESIGN_BUILD_TESTS=ON -DCODESIGN_LIBFUZZER=ON
#   cmake --build build/libfuzzer --target codesign_libfuzzer
#   mkdir -p build/corpus && build/libfuzzer/codesign_libfuzzer -max_total_time=600 -max_len=512 build/corpus
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${CODESIGN_SANITIZE_BUILD:-build/sanitize}"
FUZZ_SECONDS="${CODESIGN_FUZZ_SECONDS:-40}"
FUZZ_SEED="${CODESIGN_FUZZ_SEED:-1}"
JOBS="${CODESIGN_JOBS:-2}"
start=$(date +%s)

CMAKE="$(command -v cmake || true)"
if [ -z "$CMAKE" ] && [ -x .venv/bin/cmake ]; then CMAKE=.venv/bin/cmake; fi
if [ -z "$CMAKE" ]; then
  echo "sanitize: cmake not found; installing it into .venv from PyPI" >&2
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  .venv/bin/python -m pip install -q cmake ninja
  CMAKE=.venv/bin/cmake
  PATH="$PWD/.venv/bin:$PATH"
fi
GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${GEN[1]:-Unix Makefiles}" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"  # configured with another generator
fi

"$CMAKE" -S . -B "$BUILD" "${GEN[@]}" -DCODESIGN_SANITIZE=ON -DCODESIGN_BUILD_TESTS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
"$CMAKE" --build "$BUILD" -j "$JOBS"

# halt on the first report of any kind; leaks too (LeakSanitizer) where the platform supports it.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=${CODESIGN_DETECT_LEAKS:-1}:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

echo "sanitize: C++ core tests (ASan + UBSan)"
"$BUILD/codesign_core_tests"
echo "sanitize: fuzz run, ${FUZZ_SECONDS} s, seed ${FUZZ_SEED} (ASan + UBSan)"
"$BUILD/codesign_fuzz" --runs 100000000 --seconds "$FUZZ_SECONDS" --seed "$FUZZ_SEED"

# Optional (CODESIGN_SANITIZE_PYTHON=1): the extension module itself (bindings included) built with the
# sanitizers, and the Python fuzz, hardening and cost tests run against it with the ASan runtime preloaded.
# The build takes minutes (pybind11 under ASan), so CI leaves it out.
if [ "${CODESIGN_SANITIZE_PYTHON:-0}" = 1 ]; then
  PY="${PYTHON:-.venv/bin/python}"
  "$PY" -c "import pybind11" 2>/dev/null || "$PY" -m pip install -q pybind11
  PYBUILD="${BUILD}-python"
  "$CMAKE" -S . -B "$PYBUILD" "${GEN[@]}" -DCODESIGN_SANITIZE=ON -DSKBUILD=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$("$PY" -c 'import sys; print(sys.executable)')" >/dev/null
  "$CMAKE" --build "$PYBUILD" -j "$JOBS" --target _core
  PKG="$PYBUILD/pkg"
  rm -rf "$PKG" && mkdir -p "$PKG"
  cp -r python/codesign "$PKG/"
  rm -f "$PKG"/codesign/_core*.so
  cp "$PYBUILD"/_core*.so "$PKG/codesign/"
  SITE="$("$PY" -c 'import sysconfig as s; p = s.get_paths(); print(p["purelib"] + ":" + p["platlib"])')"
  echo "sanitize: Python tests against the sanitized extension (ASan + UBSan)"
  # -S: no site hooks, so an editable install of codesign cannot shadow the sanitized copy in $PKG.
  env PYTHONPATH="$PKG:$SITE" LD_PRELOAD="$(c++ -print-file-name=libasan.so) $(c++ -print-file-name=libstdc++.so)" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
    CODESIGN_FUZZ_EXAMPLES="${CODESIGN_FUZZ_EXAMPLES:-100}" \
    "$PY" -S -m pytest -q -s -p no:cacheprovider -c /dev/null --rootdir . \
      tests/test_fuzz.py tests/test_hardening.py tests/test_cost.py tests/test_edgetpu.py
fi
echo "sanitize: passed in $(( $(date +%s) - start )) s"
