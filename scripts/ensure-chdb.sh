#!/bin/sh
# Installs the current ClickHouse engine that the chdb test tier runs the project's ClickHouse SQL
# on: PyPI's `chdb-core` (ClickHouse 26.x in-process, a ~530 MB wheel), pinned, into the git-ignored
# `.venv-chdb/`. Installed once; later runs only check the pinned version is there (well under a
# second). Prints the venv's python path on stdout; messages go to stderr.
set -e
cd "$(dirname "$0")/.."
CHDB_CORE_VERSION=26.9.0
VENV=.venv-chdb
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('chdb-core') != '$CHDB_CORE_VERSION')" 2>/dev/null; then
  echo "$PWD/$PY"
  exit 0
fi
echo "[chdb] installing chdb-core==$CHDB_CORE_VERSION into $VENV (a ~530 MB wheel, once)…" >&2
python3 -m venv "$VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check "chdb-core==$CHDB_CORE_VERSION" >&2
echo "$PWD/$PY"
