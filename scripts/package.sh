#!/usr/bin/env bash
# package.sh [BUILD_DIR]: builds the Debian package (files under /usr, Release) into BUILD_DIR
# (default build-deb) and prints its path. Install it with `apt install ./gpubroker_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."
b=${1:-build-deb}
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release -DGPUBROKER_TESTS=OFF \
  -DGPUBROKER_BENCH=OFF >/dev/null
cmake --build "$b" -j2 >/dev/null
(cd "$b" && cpack -G DEB >/dev/null)
ls "$b"/gpubroker_*.deb
