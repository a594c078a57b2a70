#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds the libFuzzer targets (build-fuzz, clang, ASan+UBSan) and runs each
# fuzz/fuzz_*.c for SECONDS (default 60) over a temporary copy of its seed corpus. Exits
# non-zero when any target crashes, leaks or times out; the crashing input is kept in
# build-fuzz/artifacts/<target>/. Run on demand, not in CI.
set -euo pipefail

secs="${1:-60}"
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
jobs="$(nproc 2>/dev/null || echo 2)"

CC="${CC:-clang}" cmake -S "$root" -B "$build" -DGPUBROKER_FUZZ=ON -DGPUBROKER_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$jobs"

work="$(mktemp -d "${TMPDIR:-/tmp}/gpubroker-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=()
for src in "$root"/fuzz/fuzz_*.c; do
    name="$(basename "$src" .c)"
    corpus="$work/$name"
    mkdir -p "$corpus"
    if [ -d "$root/fuzz/corpus/$name" ]; then cp -R "$root/fuzz/corpus/$name/." "$corpus/"; fi
    # Inputs up to 64 KiB, except provider responses: real list answers (a whole inventory,
    # every executor) run to hundreds of KiB, and the seed large_lists.json is 133 KiB.
    max_len=65536
    case "$name" in
    fuzz_provider_offers) max_len=1048576 ;;
    esac
    artifacts="$build/artifacts/$name"
    mkdir -p "$artifacts"
    echo "== $name: ${secs}s"
    if ! "$build/fuzz/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
        >"$work/$name.log" 2>&1; then
        failed+=("$name")
        tail -n 60 "$work/$name.log"
        echo "!! $name failed; inputs in $artifacts/"
    fi
    grep -E '^#[0-9]+.*DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
        "$work/$name.log" || true
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: all targets ran ${secs}s without a finding"
