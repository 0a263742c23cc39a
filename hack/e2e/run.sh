#!/usr/bin/env bash
# Runs the e2e scenarios (e2e/) on a real control plane: builds the function
# and the test binary, then starts the test inside a private network and PID
# namespace, where it runs etcd, kube-apiserver, kube-controller-manager,
# Crossplane core and the function on loopback. Every process dies with the
# test. `make e2e` and `make e2e-provider` build the binaries first.
#
# E2E_SUITE picks the suite: simulated (the default: the test plays the
# provider), provider (provider-aws' KMS controllers against local-kms, and
# against moto for replicas) or scale (make scale: many claims on the
# simulated suite's control plane, measured).
#
# Usage: [E2E_SUITE=provider] hack/e2e/run.sh [go test flags, e.g. -test.run Deletion]
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="bin/e2e"
binaries=(etcd kube-apiserver kube-controller-manager crossplane-core)
case "${E2E_SUITE:-simulated}" in
simulated) tags=e2e timeout=20m parallel=1 ;;
# A thousand claims, twice (the function, then the floor), with ten minutes
# of steady state each.
scale) tags=e2e,scale timeout=4h parallel=1 ;;
# The provider's scenarios wait on its polls, each on an emulator of its own:
# they run all at once.
provider) tags=e2e_provider timeout=40m parallel=32 binaries+=(local-kms provider-aws-kms) ;;
*) echo "unknown E2E_SUITE ${E2E_SUITE}: want simulated, provider or scale" >&2; exit 2 ;;
esac
for b in "${binaries[@]}"; do
  [[ -x "${bin}/${b}" ]] || { echo "missing ${bin}/${b}: run make e2e or make e2e-provider" >&2; exit 1; }
done
if [[ "${E2E_SUITE:-simulated}" == provider ]]; then
  # moto, the emulator that replicates keys, runs from PATH.
  command -v moto_server >/dev/null || { echo "moto_server is not on PATH: pip install 'moto[server]'" >&2; exit 1; }
  python3 -c 'import moto, moto.server' 2>/dev/null || { echo "python3 cannot import moto and moto.server: pip install 'moto[server]'" >&2; exit 1; }
fi
command -v kubectl >/dev/null || { echo "kubectl is not on PATH: the scenarios run it as an app team would" >&2; exit 1; }

go build -o "${bin}/function" .
if [[ "${E2E_SUITE:-simulated}" == provider ]]; then
  # The function as it was before it probed aliases in AWS, for the upgrade
  # scenario: built from that commit of this repository's history.
  previous=cca0296
  src="$(mktemp -d)"
  git archive "${previous}" | tar -x -C "${src}"
  go -C "${src}" build -o "${PWD}/${bin}/function-previous" .
  rm -rf "${src}"
fi
if [[ "${E2E_SUITE:-simulated}" == scale ]]; then
  # The floor the scale run measures the function against.
  go build -o "${bin}/noopfn" ./hack/noopfn
fi
go test -c -tags "${tags}" -o "${bin}/${tags/,/-}.test" ./e2e

crossplane_crds="$(go -C hack/e2e/crossplane list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)/cluster/crds"
provider_crds="$(go list -m -f '{{.Dir}}' github.com/upbound/provider-aws/v2)/package/crds"

# A network namespace of its own (loopback only: fixed ports cannot clash,
# nothing leaves the machine) and a PID namespace whose init is the test
# binary, so that no process outlives it. Without root, a user namespace
# maps the caller to root inside.
flags=(--net --pid --fork --kill-child)
if [[ "${E2E_SUITE:-simulated}" == scale ]]; then
  # A /proc of the new PID namespace, where the scale test reads the CPU
  # and memory of the processes it started by their PIDs there.
  flags+=(--mount --mount-proc)
fi
if [[ "${EUID}" -ne 0 ]]; then
  flags+=(--map-root-user)
fi
cd e2e
exec unshare "${flags[@]}" "../${bin}/${tags/,/-}.test" -test.v -test.timeout "${timeout}" -test.parallel "${parallel}" \
  -bin "../${bin}" -state "../_output/${tags/,/-}" \
  -crossplane-crds "${crossplane_crds}" -provider-crds "${provider_crds}" "$@"
