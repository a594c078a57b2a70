# lib_cpu.sh: sourced by bench/api_vs_nginx.sh and bench/jobs_create.sh. CPU time per request
# (user + system from /proc/PID/stat, summed over the processes named) across a wrk run: a
# figure much less noisy than requests/s on a shared 2-core machine, and the one the goals'
# arithmetic needs (docs/benchmarks.md). The PostgreSQL server is counted when it runs here
# (its processes are named postgres): a backend started during the run counts whole, one that
# ended during it is lost (the broker keeps its connections).

# cpu_us PID...: their CPU time so far, in microseconds (0 for a process gone); @NAME stands
# for every process of that name now (a server's backends come and go with its connections)
cpu_us() {
  local hz t=0 p v pids=()
  hz=$(getconf CLK_TCK)
  for p in "$@"; do
    case "$p" in
      @*) mapfile -t -O "${#pids[@]}" pids < <(pgrep -x "${p#@}" || true) ;;
      *) pids+=("$p") ;;
    esac
  done
  for p in ${pids[@]+"${pids[@]}"}; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $((t * 1000000 / hz))
}

# cpu_pg_pids: the local PostgreSQL server's processes, as cpu_us reads them at each sample
# (nothing when the store is SQLite)
cpu_pg_pids() {
  case "${GPUBROKER_STORAGE_DATABASE:-}" in
    postgresql://*) echo @postgres ;;
  esac
}

# cpu_wrk_run OUT WHO... -- WRK ARGS: runs wrk with ARGS, its output to OUT; appends to OUT
# "cpu_us <label> <us per request>" for each WHO (label=pid[,pid...]; no pids: skipped)
# measured over the run.
cpu_wrk_run() {
  local out=$1 who=() w
  shift
  while [ "$1" != "--" ]; do
    case "$1" in *=) ;; *) who+=("$1") ;; esac
    shift
  done
  shift
  local before=()
  for w in "${who[@]}"; do
    w=${w#*=}
    before+=("$(cpu_us ${w//,/ })")
  done
  wrk "$@" >"$out"
  local n i=0
  n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")
  for w in "${who[@]}"; do
    local after pids=${w#*=}
    after=$(cpu_us ${pids//,/ })
    awk -v l="${w%%=*}" -v a="${before[$i]}" -v b="$after" -v n="${n:-0}" \
      'BEGIN { if (n > 0) printf "cpu_us %s %.1f\n", l, (b - a) / n }' >>"$out"
    i=$((i + 1))
  done
}
