#!/usr/bin/env bash
# run.sh: the contract test (ctest contract.openapi). Runs a few e2e programs with
# GB_E2E_RECORD set (each answer one JSON line), then tests/contract/validate.js lints
# docs/openapi.json and validates every recorded answer against it. node_modules comes from
# `npm ci` (package-lock.json pins every package) into BUILD_DIR/contract-node, reused while the
# lock file is unchanged; nothing is committed. Without node or npm it skips (exit 77) and says so.
# Usage: run.sh SOURCE_DIR BUILD_DIR E2E_PROGRAM...
set -euo pipefail
src=$1 build=$2
shift 2
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node and npm are not installed (scripts/deps.sh installs nodejs npm)"
  exit 77
fi
cache=$build/contract-node
mkdir -p "$cache"
if ! cmp -s "$src/tests/contract/package-lock.json" "$cache/package-lock.json" ||
   [ ! -d "$cache/node_modules" ]; then
  cp "$src/tests/contract/package.json" "$src/tests/contract/package-lock.json" "$cache/"
  if ! (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1); then
    echo "npm ci failed:"; tail -20 "$cache/npm-ci.log"; exit 1
  fi
fi
rec=$build/contract-records.jsonl
rm -f "$rec"
for prog in "$@"; do
  if ! GB_E2E_RECORD=$rec GB_SOURCE_DIR=$src "$prog" >"$build/contract-$(basename "$prog").log" 2>&1; then
    echo "$prog failed:"; tail -30 "$build/contract-$(basename "$prog").log"; exit 1
  fi
done
NODE_PATH=$cache/node_modules node "$src/tests/contract/validate.js" "$src/docs/openapi.json" "$rec"
