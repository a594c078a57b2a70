#!/usr/bin/env bash
# webhooks.sh: webhook deliveries/s and p99 enqueue-to-delivered latency through the durable
# outbox (transactional enqueue, lease, signature, recorded attempt) against plain libcurl multi
# POSTs of the same bodies to the same local receiver, in the same run. It builds the repo if
# needed (scripts/build.sh build) and links bench/webhooks_bench.c against its static libraries.
# Usage: bench/webhooks.sh [MESSAGES [RATE]]   (default 2000, as fast as possible)
# RATE offers that many messages a second to both sides (latency below capacity);
# GB_BENCH_DB_URL=postgresql://... puts the outbox in an empty PostgreSQL database;
# GB_BENCH_WORKERS=2 runs two delivery workers, each with its own connection and lease owner
# (a second broker's worker on the same database); GB_BENCH_DRAIN=1 queues every message first
# and starts the workers after (delivery capacity from a full outbox, not bound by the enqueue
# loop's pace; the "latency" is then time from the workers' start to arrival);
# GB_BENCH_PRODUCERS=N enqueues from N threads per broker, each message a gb_db_txn work (on
# SQLite grouped into shared commits, as concurrent requests' transactions are in the daemon)
# instead of one loop with a transaction of its own per message.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
dir=build
libs="$dir/webhooks/libgb_webhooks.a $dir/vault/libgb_vault.a $dir/config/libgb_config.a $dir/common/libgb_common.a"
for l in $libs; do
  [ -f "$l" ] || { ./scripts/build.sh "$dir"; break; }
done
bin=$dir/webhooks_bench
# -O2 -g: the flags of the default RelWithDebInfo build
${CC:-cc} -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I. $(pkg-config --cflags libcjson sqlite3 libpq libcurl libsodium yaml-0.1) \
  bench/webhooks_bench.c $libs -o "$bin" \
  $(pkg-config --libs libcjson sqlite3 libpq libcurl libsodium yaml-0.1) -lpthread -lm
"$bin" "$n" ${2:+"$2"}
