#!/bin/sh
# Installs the npm dependencies (Bun among them) when they are missing or stale, so that a fresh
# clone needs nothing but Node and npm. Bun's postinstall must run: without it the binary is a stub.
#
# `npm ci` is tried first (exact lockfile). It refuses here because the registry this machine
# reaches answers 404 for dbmate's non-Linux optional packages, so the lockfile cannot list
# them; `npm install` then installs the same locked versions without touching the lockfile.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ] || ! node_modules/.bin/bun --version >/dev/null 2>&1; then
  echo "[deps] installing npm dependencies…" >&2
  ci_log=$(mktemp)
  if npm ci --no-audit --no-fund >"$ci_log" 2>&1; then
    cat "$ci_log" >&2
  else
    echo "[deps] npm ci refused ($(grep -m1 -E 'Missing|ERR|error' "$ci_log" | head -c 160)); falling back to npm install with the same lockfile" >&2
    npm install --no-audit --no-fund >&2
  fi
  rm -f "$ci_log"
fi
