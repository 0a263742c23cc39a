#!/usr/bin/env bash
# Runs the e2e scenarios (e2e/) on a real control plane: builds the function
# and the test binary, then starts the test inside a private network and PID
# namespace, where it runs etcd, kube-apiserver, kube-controller-manager,
# Crossplane core and the function on loopback. Every process dies with the
# test. `make e2e` builds the control plane's binaries first.
#
# Usage: hack/e2e/run.sh [go test flags, e.g. -test.run Deletion]
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="bin/e2e"
for b in etcd kube-apiserver kube-controller-manager crossplane-core; do
  [[ -x "${bin}/${b}" ]] || { echo "missing ${bin}/${b}: run make e2e" >&2; exit 1; }
done
command -v kubectl >/dev/null || { echo "kubectl is not on PATH: the scenarios run it as an app team would" >&2; exit 1; }

go build -o "${bin}/function" .
go test -c -tags e2e -o "${bin}/e2e.test" ./e2e

crossplane_crds="$(go -C hack/e2e/crossplane list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)/cluster/crds"
provider_crds="$(go list -m -f '{{.Dir}}' github.com/upbound/provider-aws/v2)/package/crds"

# A network namespace of its own (loopback only: fixed ports cannot clash,
# nothing leaves the machine) and a PID namespace whose init is the test
# binary, so that no process outlives it. Without root, a user namespace
# maps the caller to root inside.
flags=(--net --pid --fork --kill-child)
if [[ "${EUID}" -ne 0 ]]; then
  flags+=(--map-root-user)
fi
cd e2e
exec unshare "${flags[@]}" "../${bin}/e2e.test" -test.v -test.timeout 20m \
  -bin "../${bin}" -state ../_output/e2e \
  -crossplane-crds "${crossplane_crds}" -provider-crds "${provider_crds}" "$@"
