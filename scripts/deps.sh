#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages gpubroker needs that are missing (root or sudo).
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libsqlite3-dev
      libsodium-dev libmicrohttpd-dev libgnutls28-dev libyaml-dev libcmocka-dev libpq-dev postgresql
      openssh-client openssl curl
      python3 clang-format groff-base nodejs npm chromium
      ca-certificates "$@")
# Node.js may come from elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's
# npm package): a command that is already there counts as its package.
declare -A by_command=([nodejs]=node [npm]=npm [chromium]=chromium)
missing=()
for p in "${pkgs[@]}"; do
  c=${by_command[$p]:-}
  [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
