#!/usr/bin/env bash
# Installs golangci-lint at a pinned version from the Go module proxy.
# Usage: hack/install-golangci-lint.sh [BIN_DIR]   (default: bin)
set -euo pipefail

version="${GOLANGCI_LINT_VERSION:-v2.15.0}"
mod="github.com/golangci/golangci-lint/v2"
bin="$(mkdir -p "${1:-bin}" && cd "${1:-bin}" && pwd)"

# See hack/install-crossplane.sh: the proxy serves exact versions only.
go mod download -json "${mod}@${version}" >/dev/null
GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" GOBIN="${bin}" \
  go install "${mod}/cmd/golangci-lint@${version}"
"${bin}/golangci-lint" version
