# lib_brokers.sh: sourced by the benches that compare one broker with two on one PostgreSQL
# (GB_BENCH_BROKERS=2: bench/api_vs_nginx.sh, bench/jobs_create.sh).

# Exits 2 unless the store is PostgreSQL: brokers never share a SQLite file.
bench_need_pg() {
  case "${GPUBROKER_STORAGE_DATABASE:-}" in
    postgresql://*) ;;
    *) echo "GB_BENCH_BROKERS=2 needs GPUBROKER_STORAGE_DATABASE=postgresql://..." >&2; exit 2 ;;
  esac
}

# bench_second_broker BIN WORK [NAME=VALUE ...]: a second sandbox on WORK/data (the same key
# file, the same database) with those variables; sets gpid2 (for the caller's cleanup) and url2.
bench_second_broker() {
  local bin=$1 work=$2
  shift 2
  env "$@" "$bin" sandbox --data-dir "$work/data" >"$work/out2" 2>"$work/log2" &
  gpid2=$!
  for _ in $(seq 100); do grep -q ADMIN_API_KEY "$work/out2" 2>/dev/null && break; sleep 0.1; done
  url2=$(sed -n 's/^GPUBROKER_URL=//p' "$work/out2")
  [ -n "$url2" ] || { cat "$work/log2"; exit 1; }
}
