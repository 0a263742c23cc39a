#!/usr/bin/env bash
# Installs benchstat at a pinned version from the Go module proxy.
# Usage: hack/install-benchstat.sh [BIN_DIR]   (default: bin)
set -euo pipefail

version="${BENCHSTAT_VERSION:-v0.0.0-20260908200009-22c9c6c9d4da}"
mod="golang.org/x/perf"
bin="$(mkdir -p "${1:-bin}" && cd "${1:-bin}" && pwd)"

# See hack/install-crossplane.sh: the proxy serves exact versions only.
# benchstat is not in tools/go.mod because its dependencies would upgrade
# controller-gen's.
go mod download -json "${mod}@${version}" >/dev/null
GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" GOBIN="${bin}" \
  go install "${mod}/cmd/benchstat@${version}"
