#!/usr/bin/env bash
# Builds the two packages into OUT (default _output), offline and without a
# container engine:
#   function-kms-backend-ARCH.xpkg  the Function: package/ (crossplane.yaml and
#                                   the input CRD) with the runtime image
#                                   embedded (a static binary on an empty base)
#   configuration-kms-backend.xpkg  the Configuration for claims:
#                                   configuration/legacy/ (crossplane.yaml,
#                                   the XRD and Composition)
#   configuration-kms-backend-namespaced.xpkg
#                                   the Configuration for Crossplane v2
#                                   namespaced XRs: configuration/namespaced/
# `crossplane xpkg build` parses and lints each package's metadata and CRDs.
# Usage: hack/xpkg.sh [OUT]; ARCH (default: go env GOARCH), CROSSPLANE.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "${root}"
mkdir -p "${1:-_output}"
out="$(cd "${1:-_output}" && pwd)"
crossplane="${CROSSPLANE:-bin/crossplane}"
arch="${ARCH:-$(go env GOARCH)}"

# The same build as the Dockerfile's.
CGO_ENABLED=0 GOOS=linux GOARCH="${arch}" go build -trimpath -ldflags="-s -w" -o "${out}/function-linux-${arch}" .
go run -C tools ./image -binary="${out}/function-linux-${arch}" -arch="${arch}" -output="${out}/function-image-${arch}.tar"

"${crossplane}" xpkg build --package-root=package --examples-root=example/none \
  --embed-runtime-image-tarball="${out}/function-image-${arch}.tar" \
  --package-file="${out}/function-kms-backend-${arch}.xpkg"
"${crossplane}" xpkg build --package-root=configuration/legacy --examples-root=example/none \
  --package-file="${out}/configuration-kms-backend.xpkg"
"${crossplane}" xpkg build --package-root=configuration/namespaced --examples-root=example/none \
  --package-file="${out}/configuration-kms-backend-namespaced.xpkg"
ls -l "${out}"/*.xpkg
