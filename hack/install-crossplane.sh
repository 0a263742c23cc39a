#!/usr/bin/env bash
# Installs the Crossplane CLI at a pinned version from the Go module proxy:
# the `crank` command of github.com/crossplane/crossplane/v2, which renders
# with the function running locally (no Docker) and validates offline. It
# also seeds the CLI's schema cache with that version's own CRDs, so that
# `crossplane beta validate` never tries to download the Crossplane image.
#
# Usage: hack/install-crossplane.sh [BIN_DIR]   (default: bin)
set -euo pipefail

version="${CROSSPLANE_VERSION:-v2.2.1}"
mod="github.com/crossplane/crossplane/v2"
bin="$(mkdir -p "${1:-bin}" && cd "${1:-bin}" && pwd)"

# The proxy here serves exact versions only, and `go install M@v` asks for
# the version list: download the module first, then install from the local
# module cache as a proxy, falling back to the configured one.
dir="$(go mod download -json "${mod}@${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "${dir}" ]]; then
  echo "cannot download ${mod}@${version}" >&2
  exit 1
fi
GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" GOBIN="${bin}" \
  go install -ldflags "-X ${mod}/internal/version.version=${version}" "${mod}/cmd/crank@${version}"
mv -f "${bin}/crank" "${bin}/crossplane"

cache="${bin}/validate-cache/xpkg.crossplane.io/crossplane/crossplane@${version}"
rm -rf "${cache}"
mkdir -p "${cache}"
cp "${dir}"/cluster/crds/*.yaml "${cache}/"
chmod -R u+w "${cache}"

"${bin}/crossplane" version --client
