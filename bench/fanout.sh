#!/usr/bin/env bash
# fanout.sh: offers fan-out. Every simulator of the sandbox is told to answer each request
# 300 ms late; then, in the same run: the slowest single provider's latency (a direct request
# to each simulator), the latency of a cold GET /api/volt/offers through gpubroker (every
# provider fetched, cache empty), their ratio (target <= 1.2: the fetches run concurrently),
# and the warm (cached) `gpubroker offers` latency through the CLI.
# Usage: bench/fanout.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
scripts/build.sh build >/dev/null
bin=$PWD/build/broker/gpubroker
work=$(mktemp -d /tmp/gpubroker-fanout-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

start() { # $1 = name, rest = env; fills $work/$1.out
  local name=$1; shift
  env "$@" "$bin" sandbox --data-dir "$work/$name" --sim-speed 1 >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^SIM_' "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
stats() { sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%d %d %d\n", s/NR, a[int((NR+1)/2)], a[NR]}'; }

# cold: offers older than 100 ms are neither fresh nor served, so every round fetches all
start cold GPUBROKER_OFFERS_TTL_MS=100 GPUBROKER_OFFERS_DROP_AFTER_MS=100 GPUBROKER_LOG_LEVEL=error \
      GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000
set -a; . "$work/cold.out"; set +a
sims=$(grep '^SIM_' "$work/cold.out" | cut -d= -f2)
nsims=$(echo "$sims" | wc -l)
for u in $sims; do
  curl -s -o /dev/null -X POST "$u/_sim/faults" \
       -d '{"method":"GET","path_prefix":"/","latency_ms":300,"count":-1}'
done
single=()
for u in $sims; do # a request that pays the same injected latency (answered 401 after it)
  t=$(ms); curl -s -o /dev/null "$u/_bench_probe"; single+=($(( $(ms) - t )))
done
slowest=$(printf '%s\n' "${single[@]}" | sort -n | tail -n 1)
cold=()
for _ in $(seq "$rounds"); do
  sleep 0.15
  t=$(ms); curl -s -o /dev/null -H "X-API-Key: $GPUBROKER_API_KEY" "$GPUBROKER_URL/api/volt/offers"
  cold+=($(( $(ms) - t )))
done
read -r cmean cmed cmax < <(printf '%s\n' "${cold[@]}" | stats)

# warm: the default TTL keeps the offers cached between CLI calls
start warm GPUBROKER_LOG_LEVEL=error GPUBROKER_RATE_LIMIT_REQUESTS_PER_HOUR=100000
set -a; . "$work/warm.out"; set +a
"$bin" offers >/dev/null # fills the cache
warm=()
for _ in $(seq "$rounds"); do
  t=$(ms); "$bin" offers --gpu H100 >/dev/null; warm+=($(( $(ms) - t )))
done
read -r wmean wmed wmax < <(printf '%s\n' "${warm[@]}" | stats)

echo "providers: $nsims simulators, each answering 300 ms late; $rounds rounds; $(nproc) cores"
echo "slowest single provider: ${slowest} ms (all: ${single[*]})"
echo "cold GET /api/volt/offers: mean ${cmean} ms, median ${cmed} ms, max ${cmax} ms"
awk -v c="$cmean" -v s="$slowest" 'BEGIN { printf "ratio cold/slowest single: %.2f (target <= 1.2)\n", c / s }'
echo "warm \`gpubroker offers --gpu H100\` through the CLI: mean ${wmean} ms, median ${wmed} ms, max ${wmax} ms"
