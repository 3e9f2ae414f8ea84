#!/bin/sh
# Makes sure a headless-capable Chromium is on this machine for the browser test
# (test/e2e/dashboard.e2e.test.ts), installing Debian's package when it is missing.
# Idempotent: does nothing when one is already there. Prints the executable's path on its
# last line. Exits 2 (with the reason on stderr) when it cannot install: not root, no apt-get,
# or the package could not be fetched; the test then skips and says why.
# `npx playwright install` is not an option: it downloads browser builds from outside the
# package registries, which these machines cannot reach.
set -eu

for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no chromium and no apt-get to install it with" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: no chromium, and installing Debian's package needs root" >&2
  exit 2
fi

echo "install-chromium: installing Debian's chromium package (once per machine)..." >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing on a fresh machine; refresh them only when the package is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
  timeout 300 apt-get update -q >&2 || { echo "install-chromium: apt-get update failed" >&2; exit 2; }
fi
timeout 600 apt-get install -y -q chromium >&2 || {
  echo "install-chromium: apt-get install chromium failed" >&2
  exit 2
}
if [ -x /usr/bin/chromium ]; then
  echo /usr/bin/chromium
  exit 0
fi
echo "install-chromium: the package installed but /usr/bin/chromium is missing" >&2
exit 2
