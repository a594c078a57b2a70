#!/usr/bin/env bash
# jobs_create.sh: fine-tuning jobs created per second through the API (validation, pricing,
# and the debit in the job's own transaction) as a ratio to the authenticated list endpoint
# (GET /api/volt/ssh-keys), both measured with wrk in the same run against the same daemon.
# The job runner is idled for the run so only creation is measured.
# Usage: [BIN=...] bench/jobs_create.sh [SECONDS] [CONNECTIONS]
# GPUBROKER_STORAGE_DATABASE=postgresql://... runs the broker on PostgreSQL (a fresh database);
# with it, GB_BENCH_BROKERS=2 also starts a second broker on the same database and key file and
# measures creation through one broker and through both at once (two wrk, half the connections
# each; their creates/s summed), in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-8}
scripts/deps.sh wrk
# BIN=<another build>/broker/gpubroker measures that build the same way (before/after)
if [ -z "${BIN:-}" ]; then scripts/build.sh build >/dev/null; fi
bin=${BIN:-$PWD/build/broker/gpubroker}
work=$(mktemp -d /tmp/gpubroker-jobsbench-XXXXXX)
trap 'kill "$gpid" ${gpid2:-} 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000 GPUBROKER_LOG_LEVEL=error \
GPUBROKER_JOBS_RUNNER_INTERVAL_MS=3600000 GPUBROKER_RECONCILER_INTERVAL_MS=3600000 \
  "$bin" sandbox --data-dir "$work/data" >"$work/out" 2>"$work/log" &
gpid=$!
for _ in $(seq 100); do grep -q '^SIM_' "$work/out" 2>/dev/null && break; sleep 0.1; done
set -a; . "$work/out"; set +a
acct=$(curl -s -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL/api/volt/account" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
curl -sf -o /dev/null -X POST -H "X-API-Key: $GPUBROKER_ADMIN_API_KEY" -H "Content-Type: application/json" \
     "$GPUBROKER_URL/api/volt/admin/accounts/$acct/credit" -d '{"amount":"100000000"}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$GPUBROKER_API_KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","taskType":"text","model":"Qwen/Qwen2.5-0.5B","dsRepo":"org/data","hours":1,"fieldInstruction":"instruction","fieldOutput":"output"}'
LUA
. bench/lib_cpu.sh
pg=$(cpu_pg_pids | paste -sd, -)
run_wrk() { # LABEL WRK ARGS: req/s; the CPU per request in $work/cpu.LABEL
  local label=$1 out
  shift
  cpu_wrk_run "$work/wrk.out" "broker=$gpid" "server=$pg" -- -t2 -c"$conns" -d"${secs}s" "$@"
  out=$(cat "$work/wrk.out")
  if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "$out" >&2; exit 1; fi
  awk '/^cpu_us/ { printf "%s%s %s us", n++ ? ", " : "", $2, $3 }' "$work/wrk.out" >"$work/cpu.$label"
  sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out"
}
list=$(run_wrk list -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL/api/volt/ssh-keys")
create=$(run_wrk create -s "$work/post.lua" "$GPUBROKER_URL/api/volt/fine-tuning")
jobs=$(curl -s -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL/api/volt/fine-tuning?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo "wrk -t2 -c$conns -d${secs}s; $(nproc) cores"
echo "GET /api/volt/ssh-keys (authenticated list): $list req/s"
echo "POST /api/volt/fine-tuning (create + debit):   $create req/s ($jobs jobs created)"
awk -v c="$create" -v l="$list" 'BEGIN { printf "ratio create/list: %.3f\n", c / l }'
echo "CPU per request (/proc; wrk's own not counted): list $(cat "$work/cpu.list"); create $(cat "$work/cpu.create")"
# SQLite's group commit (docs/store.md): creates per commit
curl -s "$GPUBROKER_URL/metrics" | awk '/^gpubroker_db_group_works_total/ { w = $2 }
  /^gpubroker_db_group_commits_total/ { c = $2 }
  END { if (c > 0) printf "group commit: %d works in %d commits (%.2f a commit)\n", w, c, w / c }'

if [ "${GB_BENCH_BROKERS:-1}" = 2 ]; then
  . bench/lib_brokers.sh
  bench_need_pg
  bench_second_broker "$bin" "$work" GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000 \
    GPUBROKER_LOG_LEVEL=error GPUBROKER_JOBS_RUNNER_INTERVAL_MS=3600000 \
    GPUBROKER_RECONCILER_INTERVAL_MS=3600000
  half=$((conns / 2))
  pair() { # two wrk at once, half the connections each, against $1 and $2; summed creates/s
    wrk -t1 -c"$half" -d"${secs}s" -s "$work/post.lua" "$1/api/volt/fine-tuning" >"$work/w1" &
    local a=$!
    wrk -t1 -c"$half" -d"${secs}s" -s "$work/post.lua" "$2/api/volt/fine-tuning" >"$work/w2" &
    local b=$!
    wait "$a" "$b"
    if grep -qE "Non-2xx|Socket errors" "$work/w1" "$work/w2"; then cat "$work/w1" "$work/w2" >&2; exit 1; fi
    local x y
    x=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/w1")
    y=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/w2")
    awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f", x + y }'
  }
  one=$(pair "$GPUBROKER_URL" "$GPUBROKER_URL")
  two=$(pair "$GPUBROKER_URL" "$url2")
  echo "creates through one broker (2 x wrk -t1 -c$half): $one/s"
  echo "creates through two brokers on one database:   $two/s"
  awk -v o="$one" -v t="$two" -v l="$list" 'BEGIN { printf "ratio two/one: %.3f; to the list: one %.3f, two %.3f\n", t / o, o / l, t / l }'
fi
