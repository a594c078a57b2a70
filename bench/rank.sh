#!/usr/bin/env bash
# rank.sh: times placement decisions (broker/placement/rank.c: filter + cheapest fit over 100,000 synthetic
# offers) against a plain linear scan for the cheapest offer of the GPU type, in the same run.
# It compiles bench/rank_bench.c with the ranking sources and the few common files they use
# (no full build needed, so it works from a fresh build dir), with the project's release flags.
# Usage: bench/rank.sh [BUILD_DIR] [OFFERS] [DECISIONS]   (defaults: build 100000 200)
# GB_BENCH_MARGINS=1: three of the six providers with a margin (metering.margins) in every filter.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
offers=${2:-100000}
decisions=${3:-200}
mkdir -p "$dir/bench"
bin=$dir/bench/rank_bench
# -O2 -g: the flags of the default RelWithDebInfo build
${CC:-cc} -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I. $(pkg-config --cflags libcjson libcurl) \
  bench/rank_bench.c broker/placement/rank.c broker/placement/rank_query.c gpu/gpu.c common/str.c \
  common/money.c -o "$bin" -lm
"$bin" "$offers" "$decisions"
