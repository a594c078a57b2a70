#!/usr/bin/env bash
# check.sh: the house rules CI checks before building (scripts/test.sh runs it; see
# docs/architecture.md, "Rules the CI checks"):
#  1. dependency directions: a module includes only itself and the modules below it
#     (common <- gpu <- config <- vault <- providers <- webhooks <- jobs <- broker);
#  2. the library rules: only store code includes sqlite3.h, only common/db_pg.c and
#     common/db_listen.c libpq-fe.h
#     (docs/store.md), only vault/ and the webhook signer
#     and verifier include sodium.h, only the HTTP server, the webhooks listen receiver and the
#     simulators include microhttpd.h, only the HTTP server includes gnutls/ headers (its TLS
#     certificates), only the HTTP client and the webhook deliverer include
#     curl/curl.h (tests, fuzz targets and benchmarks are exempt);
#  3. every C file is formatted (clang-format --dry-run --Werror with the repo's .clang-format).
# Prints each violation; exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
order=(common gpu config vault providers webhooks jobs broker)
rank() {
  local i
  for i in "${!order[@]}"; do [[ "${order[$i]}" == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}

mapfile -t files < <(git ls-files '*.c' '*.h')
for f in "${files[@]}"; do
  mod=${f%%/*}
  r=$(rank "$mod")
  [[ $r -lt 0 ]] && continue # tests/, fuzz/, bench/ may include anything
  while IFS= read -r inc; do
    dep=${inc%%/*}
    d=$(rank "$dep")
    if [[ $d -gt $r ]]; then
      echo "include direction: $f includes \"$inc\" ($dep is above $mod)"
      fail=1
    fi
  done < <(sed -n 's/^#include "\([a-z_]*\/[^"]*\)".*/\1/p' "$f")
done

# library header -> extended regex of the files that may include it
declare -A allowed=(
  ["sqlite3.h"]='(^|/)store/|_store\.c$|^common/db(_backup|q|_int)?\.[ch]$'
  ["libpq-fe.h"]='^common/db_(pg|listen)\.c$'
  ["sodium.h"]='^vault/|^webhooks/(sign|verify)\.c$'
  ["microhttpd.h"]='^broker/api/api_server\.c$|^broker/cli/webhooks_listen\.c$|^providers/sim/'
  ["curl/curl.h"]='^common/http_client\.c$|^webhooks/deliver\.c$'
  ["gnutls/[a-z]*\.h"]='^broker/api/api_server\.c$'
)
for h in "${!allowed[@]}"; do
  while IFS= read -r f; do
    case "$f" in tests/* | fuzz/* | bench/*) continue ;; esac
    if ! [[ "$f" =~ ${allowed[$h]} ]]; then
      echo "library rule: $f includes <$h>"
      fail=1
    fi
  done < <(grep -lE "^#include <$h>" "${files[@]}")
done

if command -v clang-format >/dev/null; then
  if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
    echo "$out" | grep -E '^[^ ].*: (error|warning):' | sed 's/^/format: /' | head -n 40
    echo "format: run clang-format -i on the files above"
    fail=1
  fi
else
  echo "check.sh: clang-format is not installed (scripts/deps.sh installs it)"
  fail=1
fi

[[ $fail -eq 0 ]] && echo "check.sh: include directions, library rules and formatting hold"
exit $fail
