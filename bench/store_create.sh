#!/usr/bin/env bash
# store_create.sh: fine-tuning job creation at the store alone (ft_job_create from several
# threads, no HTTP), without and with SQLite's group commit, in one run on fresh databases:
# the ceiling that bench/jobs_create.sh's creates through the API cannot pass. The program
# checks the job rows and the account's balance against the creates it counted.
# GB_BENCH_DB_URL=postgresql://... (a fresh database) runs it on PostgreSQL.
# Usage: bench/store_create.sh [BUILD_DIR] [SECONDS] [THREADS]   (defaults: build-rel 3 8)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-rel}
secs=${2:-3}
threads=${3:-8}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGPUBROKER_WERROR=ON >/dev/null
cmake --build "$dir" --target store_create_bench -j"$(nproc)" >/dev/null
"$dir/bench/store_create_bench" "$secs" "$threads"
