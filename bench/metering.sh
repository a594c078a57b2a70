#!/usr/bin/env bash
# metering.sh: one metering round (broker/core/meter_round.c: every running pod settled into a
# usage ledger entry, in one transaction) over 10,000 running pods, timed against the bare
# ledger insert of the same rows (ledger_add_usage, one transaction) in the same run; once with
# 100 accounts of 100 pods, once with one account of all of them. The program checks that each
# steady round wrote one entry per pod and charged exactly the expected sum.
# It builds bench/metering_bench.c (a CMake target) in a Release build directory.
# Usage: bench/metering.sh [BUILD_DIR] [PODS] [ROUNDS]   (defaults: build-rel 10000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-rel}
pods=${2:-10000}
rounds=${3:-10}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGPUBROKER_WERROR=ON >/dev/null
cmake --build "$dir" --target metering_bench -j"$(nproc)" >/dev/null
"$dir/bench/metering_bench" "$pods" "$rounds"
