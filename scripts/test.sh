#!/usr/bin/env bash
# test.sh: README command 2. Installs missing packages, builds, and runs the whole suite with
# ctest twice: a normal build, then an AddressSanitizer + UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
scripts/build.sh build-asan -DGPUBROKER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
