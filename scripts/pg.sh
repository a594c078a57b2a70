#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL server for the tests (issue 19), from Debian's postgresql
# package: initdb in DIR as an unprivileged user (postgres when run as root: initdb refuses
# root), listening on 127.0.0.1 only at a free port, password (scram-sha-256) authentication
# for a generated password. The connection URL is written to DIR/url (mode 600); the cluster
# itself lives in a fresh directory under /tmp (the server's user may not reach DIR's parents),
# named in DIR/home.
# Usage: scripts/pg.sh start DIR | stop DIR | url DIR
# Exit 77 from start when the server binaries are missing (scripts/deps.sh installs them).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ] || [ "$cmd" = --help ]; then
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as=()
user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  user=postgres
  getent passwd "$user" >/dev/null || user=nobody
  as=(runuser -u "$user" --)
fi

stop() {
  [ -f "$dir/home" ] || return 0
  local home
  home=$(cat "$dir/home")
  if [ -n "$bin" ] && [ -f "$home/data/postmaster.pid" ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$home/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  case "$home" in /tmp/gb-pg.*) rm -rf "$home" ;; esac
}

case "$cmd" in
stop)
  stop
  rm -rf "$dir"
  exit 0
  ;;
url)
  cat "$dir/url"
  exit 0
  ;;
start) ;;
*)
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
  ;;
esac

if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "SKIP: no PostgreSQL server (scripts/deps.sh installs Debian's postgresql)"
  exit 77
fi

stop
rm -rf "$dir"
mkdir -p "$dir"
home=$(mktemp -d /tmp/gb-pg.XXXXXX)
echo "$home" > "$dir/home"
mkdir -p "$home/run"
pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$pw" > "$home/pw"
chmod 600 "$home/pw"
[ ${#as[@]} -eq 0 ] || chown -R "$user" "$home"
"${as[@]}" "$bin/initdb" -D "$home/data" -U gpubroker --pwfile="$home/pw" -A scram-sha-256 \
  -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 || {
  cat "$home/initdb.log" >&2
  exit 1
}
rm -f "$home/pw"

# a free loopback port: try a few from a random start (the server itself refuses a taken one)
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 30000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
  if "${as[@]}" "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $home/run -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1; then
    umask 077
    printf 'postgresql://gpubroker:%s@127.0.0.1:%s/postgres\n' "$pw" "$port" > "$dir/url"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($home)"
    exit 0
  fi
done
echo "PostgreSQL did not start:" >&2
tail -20 "$home/server.log" >&2 || true
exit 1
