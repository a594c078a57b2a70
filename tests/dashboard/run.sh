#!/usr/bin/env bash
# run.sh: the dashboard's browser tests (ctest dashboard.browser). node_modules (playwright-core
# only, pinned by package-lock.json) comes from `npm ci` into BUILD_DIR/dashboard-node, reused
# while the lock file is unchanged; the browser is Debian's chromium, headless. Each *.test.mjs
# starts its own sandbox with GPUBROKER_BIN. Screenshots go to BUILD_DIR/dashboard-artifacts
# (docs/dashboard.md shows them). Without node, npm or chromium it skips (exit 77) and says so.
# Usage: run.sh SOURCE_DIR BUILD_DIR GPUBROKER_BIN [--setup | TEST_FILE...]
set -euo pipefail
src=$1 build=$2 bin=$3
shift 3
chromium=${GB_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node and npm are not installed (scripts/deps.sh installs them)"
  exit 77
fi
if [ ! -x "$chromium" ]; then
  echo "SKIP: $chromium is missing (scripts/deps.sh installs Debian's chromium)"
  exit 77
fi
cache=$build/dashboard-node
mkdir -p "$cache"
if ! cmp -s "$src/tests/dashboard/package-lock.json" "$cache/package-lock.json" ||
   [ ! -d "$cache/node_modules" ]; then
  cp "$src/tests/dashboard/package.json" "$src/tests/dashboard/package-lock.json" "$cache/"
  if ! (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1); then
    echo "npm ci failed:"; tail -20 "$cache/npm-ci.log"; exit 1
  fi
fi
[ "${1:-}" = --setup ] && exit 0 # ctest's dashboard.setup: node_modules only
art=$build/dashboard-artifacts
mkdir -p "$art"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$src"/tests/dashboard/*.test.mjs)
# the harness imports playwright-core from the cache (NODE_PATH does not apply to ES modules)
export GB_PLAYWRIGHT=$cache/node_modules/playwright-core/index.mjs
export GPUBROKER_BIN=$bin GB_CHROMIUM=$chromium GB_ARTIFACTS=$art GB_SOURCE_DIR=$src
exec node --test --test-concurrency=1 "${tests[@]}"
