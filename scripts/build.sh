#!/usr/bin/env bash
# build.sh: configures and builds gpubroker into a build directory.
# Usage: scripts/build.sh BUILD_DIR [extra cmake arguments...]
# Warnings stop the build only with -DGPUBROKER_WERROR=ON (scripts/test.sh, i.e. CI, passes it).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
