#!/usr/bin/env bash
# pod_creates.sh: pod creates per second through the API while every simulator answers every
# request after 2 s, and in the same run, from a second client, the latency of an
# authenticated list (GET /api/volt/ssh-keys). Prints both latency distributions (p50/p99)
# and their ratio: with creates queued as intents the API's answer does not wait on the
# provider, so the create's p99 stays within a small factor of the list's.
# Usage: bench/pod_creates.sh [SECONDS] [CONNECTIONS]
#   BIN=path/to/gpubroker to measure another build (e.g. an older commit's) the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-8}
scripts/deps.sh wrk
if [ -z "${BIN:-}" ]; then
  scripts/build.sh build >/dev/null
  BIN=$PWD/build/broker/gpubroker
fi
work=$(mktemp -d /tmp/gpubroker-podbench-XXXXXX)
trap 'kill "$gpid" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000 GPUBROKER_LOG_LEVEL=error \
GPUBROKER_RECONCILER_INTERVAL_MS=3600000 GPUBROKER_OFFERS_TTL_MS=3600000 \
GPUBROKER_OFFERS_DROP_AFTER_MS=3600000 \
  "$BIN" sandbox --data-dir "$work/data" >"$work/out" 2>"$work/log" &
gpid=$!
for _ in $(seq 100); do grep -q '^SIM_' "$work/out" 2>/dev/null && break; sleep 0.1; done
set -a; . "$work/out"; set +a
# the offers are cached before the providers slow down
machine=$(curl -sf -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL/api/volt/machines" |
          grep -o '"id":"volt:mach_a100_01"' | head -1 | sed 's/"id":"\(.*\)"/\1/')
[ -n "$machine" ] || { echo "no volt:mach_a100_01 machine" >&2; exit 1; }
for v in $(grep -o '^SIM_[A-Z]*_URL' "$work/out"); do
  curl -sf -o /dev/null -X POST -H "Content-Type: application/json" "${!v}/_sim/faults" \
       -d '{"path_prefix":"/","latency_ms":2000,"count":-1}'
done
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$GPUBROKER_API_KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"machine_id":"$machine","gpu_count":1,"image":"x/y:1"}'
LUA
p() { # the p50 and p99 (ms) of a wrk --latency report
  awk '/^ *50%/ {v=$2} /^ *99%/ {w=$2} END {print v, w}' "$1" |
    awk '{ for (i = 1; i <= 2; i++) { x = $i; m = 1;
             if (x ~ /us$/) m = 0.001; else if (x ~ /ms$/) m = 1; else if (x ~ /s$/) m = 1000;
             sub(/[a-z]+$/, "", x); printf "%.2f ", x * m } print "" }'
}
wrk -t1 -c"$conns" -d"${secs}s" --timeout 30s --latency -s "$work/post.lua" "$GPUBROKER_URL/api/volt/pods" \
  >"$work/create.txt" &
cpid=$!
wrk -t1 -c4 -d"${secs}s" --timeout 30s --latency -H "X-API-Key: $GPUBROKER_API_KEY" \
  "$GPUBROKER_URL/api/volt/ssh-keys" >"$work/list.txt"
wait "$cpid"
read -r c50 c99 < <(p "$work/create.txt")
read -r l50 l99 < <(p "$work/list.txt")
crate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/create.txt")
lrate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/list.txt")
bad=$(grep -h "Non-2xx\|Socket errors\|timeout" "$work/create.txt" "$work/list.txt" || true)
echo "$BIN; every simulator answers after 2 s; ${secs}s; $(nproc) cores"
echo "POST /api/volt/pods  (c=$conns): $crate req/s, p50 ${c50} ms, p99 ${c99} ms"
echo "GET  /api/volt/ssh-keys (c=4):  $lrate req/s, p50 ${l50} ms, p99 ${l99} ms"
[ -n "$bad" ] && echo "errors: $bad"
awk -v a="$c99" -v b="$l99" 'BEGIN { printf "ratio create p99 / list p99: %.2f\n", a / b }'
