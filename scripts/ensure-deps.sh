#!/bin/sh
# Installs the npm dependencies (Bun among them) when they are missing or stale, so that a fresh
# clone needs nothing but Node and npm. Bun's postinstall must run: without it the binary is a stub.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ] || ! node_modules/.bin/bun --version >/dev/null 2>&1; then
  echo "[deps] installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi
