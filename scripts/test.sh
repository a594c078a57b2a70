#!/usr/bin/env bash
# test.sh: README command 2. Installs missing packages, checks the house rules (include
# directions, library includes, formatting: scripts/check.sh), builds, and runs the whole suite
# with ctest twice: a normal build, then an AddressSanitizer + UBSan build. In between it compiles
# (and runs nothing of) a Release build of the daemon and its libraries, so code that only -O3
# warns about is refused too, and runs the unit tests that start threads under ThreadSanitizer
# (scripts/tsan.sh: a race is a failure).
# Every build here treats warnings as errors (GPUBROKER_WERROR, off in a plain user build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/check.sh

scripts/build.sh build -DGPUBROKER_WERROR=ON
(cd build && ctest --output-on-failure -j2 --timeout 600)

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DGPUBROKER_WERROR=ON >/dev/null
# the daemon and every library it links (the code users run); the tests are compiled twice above
cmake --build build-release -j2 --target gpubroker

scripts/tsan.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
scripts/build.sh build-asan -DGPUBROKER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DGPUBROKER_WERROR=ON
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
