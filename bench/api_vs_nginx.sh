#!/usr/bin/env bash
# api_vs_nginx.sh: requests/s of gpubroker's authenticated list endpoint (auth by keyed hash,
# rate limit, SQLite read, JSON) against nginx serving a static JSON body of the same size, both
# on loopback, measured in the same run with the same wrk settings. Prints both and the ratio.
# Usage: bench/api_vs_nginx.sh [SECONDS] [CONNECTIONS]   (needs wrk and nginx; installs them)
# BIN=path/to/gpubroker measures that binary (another build, for before/after) without building.
# GPUBROKER_STORAGE_DATABASE=postgresql://... runs the broker on PostgreSQL (a fresh database);
# with it, GB_BENCH_BROKERS=2 also starts a second broker on the same database and key file and
# measures the read through one broker and through both at once (two wrk, half the
# connections each; their req/s summed), in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
scripts/deps.sh wrk nginx-light
if [ -z "${BIN:-}" ]; then scripts/build.sh build >/dev/null; fi
bin=${BIN:-$PWD/build/broker/gpubroker}
work=$(mktemp -d /tmp/gpubroker-bench-XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${gpid2:-}" ] && kill "$gpid2" 2>/dev/null && wait "$gpid2" 2>/dev/null
  [ -n "${gpid:-}" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000 GPUBROKER_LOG_LEVEL=warn \
  "$bin" sandbox --data-dir "$work/data" >"$work/out" 2>"$work/log" &
gpid=$!
for _ in $(seq 100); do grep -q ADMIN_API_KEY "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q ADMIN_API_KEY "$work/out" || { cat "$work/log"; exit 1; }
set -a; . "$work/out"; set +a
# a realistic list: 5 SSH keys on the account
for i in 1 2 3 4 5; do
  ssh-keygen -q -N '' -t ed25519 -f "$work/k$i"
  "$bin" ssh-keys add "key-$i" --file "$work/k$i.pub" >/dev/null
done
path=/api/volt/ssh-keys
curl -s -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL$path" >"$work/body.json"
size=$(stat -c %s "$work/body.json")

mkdir -p "$work/www"
cp "$work/body.json" "$work/www/ssh-keys.json"
chmod -R a+rX "$work/www"
port=$((20000 + RANDOM % 20000))
user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
cat >"$work/nginx.conf" <<CONF
$user_line
worker_processes $(nproc);
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port;
    location = $path { default_type application/json; alias $work/www/ssh-keys.json; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5
nsize=$(curl -s "http://127.0.0.1:$port$path" | wc -c)
[ "$nsize" -eq "$size" ] || { echo "nginx body size $nsize != $size"; exit 1; }

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
echo "body: $size bytes; wrk -t2 -c$conns -d${secs}s; machine: $(nproc) cores, $(uname -m)"
. bench/lib_cpu.sh
pg=$(cpu_pg_pids | paste -sd, -)
ngx=$( (cat "$work/nginx.pid"; pgrep -P "$(cat "$work/nginx.pid")") | paste -sd, -)
run_wrk() { # LABEL WHO... -- URL...: prints req/s (the CPU per request in $work/cpu.LABEL);
  # refuses a run that had non-2xx answers or socket errors
  local label=$1 out who=()
  shift
  while [ "$1" != "--" ]; do who+=("$1"); shift; done
  shift
  cpu_wrk_run "$work/wrk.out" "${who[@]}" -- -t2 -c"$conns" -d"${secs}s" "$@"
  out=$(cat "$work/wrk.out")
  if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "$out" >&2; exit 1; fi
  awk '/^cpu_us/ { printf "%s%s %s us", n++ ? ", " : "", $2, $3 }' "$work/wrk.out" >"$work/cpu.$label"
  rps <<<"$out"
}
g=$(run_wrk broker "broker=$gpid" "server=$pg" -- -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL$path")
n=$(run_wrk nginx "nginx=$ngx" -- "http://127.0.0.1:$port$path")
echo "gpubroker GET $path (authenticated): $g req/s"
echo "nginx static file of the same size:        $n req/s"
awk -v g="$g" -v n="$n" 'BEGIN { printf "ratio gpubroker/nginx: %.3f\n", g / n }'
echo "CPU per request (/proc; wrk's own not counted): gpubroker ($(cat "$work/cpu.broker")); nginx ($(cat "$work/cpu.nginx"))"

if [ "${GB_BENCH_BROKERS:-1}" = 2 ]; then
  . bench/lib_brokers.sh
  bench_need_pg
  bench_second_broker "$bin" "$work" GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=10000000 \
    GPUBROKER_LOG_LEVEL=warn
  half=$((conns / 2))
  pair() { # two wrk at once, half the connections each, against $1 and $2; summed req/s
    local a b
    wrk -t1 -c"$half" -d"${secs}s" -H "X-API-Key: $GPUBROKER_API_KEY" "$1$path" >"$work/w1" &
    a=$!
    wrk -t1 -c"$half" -d"${secs}s" -H "X-API-Key: $GPUBROKER_API_KEY" "$2$path" >"$work/w2" &
    b=$!
    wait "$a" "$b"
    if grep -qE "Non-2xx|Socket errors" "$work/w1" "$work/w2"; then cat "$work/w1" "$work/w2" >&2; exit 1; fi
    awk -v x="$(rps <"$work/w1")" -v y="$(rps <"$work/w2")" 'BEGIN { printf "%.2f", x + y }'
  }
  one=$(pair "$GPUBROKER_URL" "$GPUBROKER_URL")
  two=$(pair "$GPUBROKER_URL" "$url2")
  echo "one broker (2 x wrk -t1 -c$half):        $one req/s"
  echo "two brokers on one database (one wrk each): $two req/s"
  awk -v o="$one" -v t="$two" -v n="$n" 'BEGIN { printf "ratio two/one: %.3f; to nginx: one %.3f, two %.3f\n", t / o, o / n, t / n }'
fi
