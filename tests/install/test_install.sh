#!/usr/bin/env bash
# test_install.sh BUILD_DIR: what `cmake --install` and the .deb put in place, and that the
# service starts from them. Part 1 (any user): install into a temporary prefix; the man page
# renders without warnings and has every command; the unit has its user and hardening; its
# ExecStartPre/ExecStart lines, run as written (paths moved into the temporary root,
# systemctl-less), create the admin key file (0600, never printed) and serve; a request
# answers; SIGTERM stops it cleanly. Part 2 (root with dpkg, and no gpubroker installed): the
# .deb built by CPack installs (user, config), its unit's command lines serve as the service
# user, and a purge removes it all.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d /tmp/gb-install-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$t/usr" >/dev/null
for f in bin/gpubroker share/man/man1/gpubroker.1 share/doc/gpubroker/gpubroker.example.yaml \
         lib/systemd/system/gpubroker.service; do
  [ -f "$t/usr/$f" ] || fail "not installed: $f"
done
man=$t/usr/share/man/man1/gpubroker.1
warn=$(groff -man -Tutf8 -ww -z "$man" 2>&1) || fail "groff: $warn"
[ -z "$warn" ] || fail "man page warnings: $warn"
for cmd in $("$t/usr/bin/gpubroker" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
  grep -q "^\.SS $cmd\$" "$man" || fail "man page lacks command $cmd"
done
unit=$t/usr/lib/systemd/system/gpubroker.service
for want in User=gpubroker StateDirectory=gpubroker NoNewPrivileges=yes ProtectSystem=strict \
            PrivateTmp=yes ProtectHome=yes CapabilityBoundingSet= ExecReload=; do
  grep -q "^$want" "$unit" || fail "unit lacks $want"
done

# The unit's command lines, with /etc/gpubroker and /var/lib/gpubroker moved under $root.
unit_cmd() { sed -n "s/^$1=//p" "$unit" | sed -e "s#/etc/gpubroker#$root/etc/gpubroker#g" \
                                               -e "s#/var/lib/gpubroker#$root/var/lib/gpubroker#g"; }
unit_env() { sed -n 's/^Environment=//p' "$unit" | sed -e "s#/var/lib/gpubroker#$root/var/lib/gpubroker#g"; }

# Runs ExecStartPre then ExecStart as user $1 ("" = this one) from PATH $2; checks a request.
start_unit() {
  local user=$1 path=$2 pre start env log=$t/serve.log
  pre=$(unit_cmd ExecStartPre)
  start=$(unit_cmd ExecStart)
  env=$(unit_env)
  local run=(env -i "PATH=$path" $env GPUBROKER_SERVER_PORT=0)
  # setpriv execs (no session of its own, unlike runuser): the signal reaches serve itself
  [ -n "$user" ] && run=(setpriv --reuid="$user" --regid="$user" --init-groups -- "${run[@]}")
  "${run[@]}" $pre > "$t/pre.out" 2>&1 || fail "ExecStartPre: $(cat "$t/pre.out")"
  local keyfile=$root/var/lib/gpubroker/admin-api-key
  [ -f "$keyfile" ] || fail "no admin key file"
  [ "$(stat -c %a "$keyfile")" = 600 ] || fail "admin key file mode $(stat -c %a "$keyfile")"
  local key
  key=$(sed -n 's/^GPUBROKER_API_KEY=//p' "$keyfile")
  [ -n "$key" ] || fail "admin key file empty"
  if grep -q "$key" "$t/pre.out"; then fail "the admin key was printed"; fi
  "${run[@]}" $start > "$log" 2>&1 &
  pid=$!
  local url=
  for _ in $(seq 1 100); do
    url=$(sed -n 's/.*serving on \(http[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || fail "serve exited: $(cat "$log")"
    sleep 0.1
  done
  [ -n "$url" ] || fail "serve did not come up: $(cat "$log")"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ] || fail "healthz"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
       "$url/api/volt/account")" = 200 ] || fail "the admin key is refused"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" = 0 ] || fail "serve exited $rc on SIGTERM: $(tail -5 "$log")"
}

root=$t/root
mkdir -p "$root/etc/gpubroker" "$root/var/lib/gpubroker"
chmod 700 "$root/var/lib/gpubroker"
cp "$t/usr/share/doc/gpubroker/gpubroker.example.yaml" "$root/etc/gpubroker/gpubroker.yaml"
start_unit "" "$t/usr/bin:/usr/bin:/bin"
echo "part 1: cmake --install, man page, unit, systemctl-less start: ok"

if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null || ! command -v cpack >/dev/null; then
  echo "part 2 skipped: needs root, dpkg and cpack"
  exit 0
fi
if dpkg-query -W gpubroker >/dev/null 2>&1 || [ -e /usr/bin/gpubroker ]; then
  echo "part 2 skipped: gpubroker is installed on this machine (not touched)"
  exit 0
fi
(cd "$build" && cpack -G DEB -B "$t/pkg" >/dev/null)
deb=$(ls "$t"/pkg/gpubroker_*.deb)
purge() { dpkg --purge gpubroker >/dev/null 2>&1 || true; }
trap 'purge; cleanup' EXIT
dpkg -i "$deb" >/dev/null || fail "dpkg -i"
getent passwd gpubroker >/dev/null || fail "no gpubroker user"
[ -f /etc/gpubroker/gpubroker.yaml ] || fail "no /etc/gpubroker/gpubroker.yaml"
/usr/bin/gpubroker --version | grep -q gpubroker || fail "/usr/bin/gpubroker"
unit=/usr/lib/systemd/system/gpubroker.service
[ -f "$unit" ] || fail "no unit"
root=""
# what StateDirectory= makes: /var/lib/gpubroker owned by the user, 0700
install -d -m 0700 -o gpubroker -g gpubroker /var/lib/gpubroker
start_unit gpubroker "/usr/local/bin:/usr/bin:/bin"
[ "$(stat -c %U /var/lib/gpubroker/gpubroker.db)" = gpubroker ] || fail "database owner"
dpkg --purge gpubroker >/dev/null || fail "dpkg --purge"
[ ! -e /usr/bin/gpubroker ] || fail "binary left after purge"
[ ! -e /var/lib/gpubroker ] || fail "data left after purge"
if getent passwd gpubroker >/dev/null; then fail "user left after purge"; fi
echo "part 2: .deb install, service start as its user, purge: ok"
