#!/bin/sh
# The chart's offline checks and the two tools they need, built once from the Go module proxy
# into the git-ignored deploy/.tools/bin (as the benchmark caches oha): no cluster, no chart
# repository, no schema download.
#
#   sh deploy/helm/tools.sh build    build helm (pinned) and manifest-check if missing; print their paths
#   sh deploy/helm/tools.sh check    build, then helm lint --strict and helm template for each values
#                                    file, and decode every rendered object strictly (manifest-check)
#   npm run helm:check               the same as `check`
#
# The first build downloads and compiles helm (several minutes on 2 cores with an empty Go
# cache); later runs reuse the binaries. Needs `go` (1.26) on PATH.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HELM_VERSION=v4.3.2
BIN="$ROOT/deploy/.tools/bin"
HELM="$BIN/helm"
CHECK="$BIN/manifest-check"
CHECK_SRC="$ROOT/deploy/helm/check"
CHART="$ROOT/deploy/helm/session-pipeline"
RENDERED="$ROOT/deploy/.tools/rendered"
# Each values set the checks render: name and helm arguments.
VALUE_SETS="default: production:-f,$CHART/values-production.yaml"

log() { echo "[helm-tools] $*" >&2; }
# Go's default install location, for shells whose PATH lacks it.
PATH="$PATH:/usr/local/go/bin"

build() {
  mkdir -p "$BIN"
  command -v go >/dev/null 2>&1 || { log "go is not on PATH (Go 1.26 is needed to build helm)"; exit 1; }
  # One build at a time (a developer's check and the test suite may start together).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$BIN/.lock"
    flock 9
  fi
  # The stamp records the version installed (a go-installed helm reports only "v4.3": the release
  # ldflags are not set), so bumping HELM_VERSION rebuilds.
  if [ ! -x "$HELM" ] || [ "$(cat "$HELM.version" 2>/dev/null)" != "$HELM_VERSION" ]; then
    log "building helm $HELM_VERSION with go install (first run only; several minutes)…"
    started=$(date +%s)
    GOBIN="$BIN" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
    echo "$HELM_VERSION" >"$HELM.version"
    log "helm built in $(( $(date +%s) - started )) s"
  fi
  # manifest-check: rebuilt when its sources are newer than the binary.
  if [ ! -x "$CHECK" ] || [ -n "$(find "$CHECK_SRC" -newer "$CHECK" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | head -n 1)" ]; then
    log "building manifest-check…"
    started=$(date +%s)
    (cd "$CHECK_SRC" && go build -o "$CHECK" .)
    log "manifest-check built in $(( $(date +%s) - started )) s"
  fi
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
}

check() {
  build
  mkdir -p "$RENDERED"
  failed=0
  for set in $VALUE_SETS; do
    name=${set%%:*}
    args=$(echo "${set#*:}" | tr ',' ' ')
    log "== $name values"
    # shellcheck disable=SC2086 # args is a list of words on purpose
    if ! "$HELM" lint --strict "$CHART" $args; then failed=1; continue; fi
    # shellcheck disable=SC2086
    if ! "$HELM" template sp "$CHART" --namespace sessions $args >"$RENDERED/$name.yaml"; then failed=1; continue; fi
    if ! "$CHECK" "$RENDERED/$name.yaml"; then failed=1; fi
  done
  if [ "$failed" -ne 0 ]; then log "FAILED"; exit 1; fi
  log "chart lints, renders and decodes strictly with every values set (output in deploy/.tools/rendered/)"
}

case "${1:-}" in
  build) build; echo "helm=$HELM"; echo "manifest-check=$CHECK" ;;
  check) check ;;
  *) echo "usage: sh deploy/helm/tools.sh build|check" >&2; exit 2 ;;
esac
