#!/usr/bin/env bash
# tsan.sh: builds with ThreadSanitizer (build-tsan/) the unit tests that start threads of their
# own and runs them on SQLite; a race report fails the test (halt_on_error). scripts/test.sh
# (CI) runs it after the normal build: the build of those tests takes about 30 s on 2 cores, and
# their run about 30 s. Usage: scripts/tsan.sh [CTEST_REGEX]  (with a regex: builds everything
# and runs the unit tests it names)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUBROKER_TSAN=ON \
      -DGPUBROKER_BENCH=OFF -DGPUBROKER_WERROR=ON >/dev/null
if [ -n "${1:-}" ]; then
  cmake --build build-tsan -j"$(nproc)"
  regex=$1
else
  tests=$(grep -l pthread_create tests/unit/test_*.c | xargs -n1 basename | sed 's/\.c$//')
  # shellcheck disable=SC2086 # one target per word
  cmake --build build-tsan -j"$(nproc)" --target $tests
  regex="^unit\\.($(paste -sd'|' <<<"$tests"))\$"
fi
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
# GCC 12's TSan cannot map its shadow memory on kernels that randomize mmap with more than 28
# bits ("unexpected memory mapping"); without address randomization it always can
norand=()
if setarch "$(uname -m)" -R true 2>/dev/null; then norand=(setarch "$(uname -m)" -R); fi
cd build-tsan && "${norand[@]}" ctest -j2 --timeout 600 -R "$regex" --output-on-failure
