#!/usr/bin/env bash
# Builds one component of the e2e control plane from the Go module proxy, at
# the version its module under hack/e2e/ pins (go.mod and go.sum there):
#
#   etcd         go.etcd.io/etcd/server/v3                  -> BIN/etcd
#   kubernetes   k8s.io/kubernetes/cmd/kube-apiserver       -> BIN/kube-apiserver
#                k8s.io/kubernetes/cmd/kube-controller-manager -> BIN/kube-controller-manager
#   crossplane   github.com/crossplane/crossplane/v2/cmd/crossplane -> BIN/crossplane-core
#
# Nothing else is needed: no Docker, no registry, no apt. A cold build takes
# minutes on 2 cores (kubernetes about 10); Go's build cache makes a rebuild
# take seconds, so keep it.
#
# Usage: hack/e2e/install.sh COMPONENT BIN_DIR
set -euo pipefail

component="$1"
bin="$(mkdir -p "$2" && cd "$2" && pwd)"
mod="$(cd "$(dirname "$0")/${component}" && pwd)"

version() { go -C "${mod}" list -m -f '{{.Version}}' "$1"; }

case "${component}" in
etcd)
  go -C "${mod}" build -o "${bin}/etcd" go.etcd.io/etcd/server/v3
  "${bin}/etcd" --version | head -1
  ;;
kubernetes)
  # kubectl and client-go read the server's version from these variables.
  v="$(version k8s.io/kubernetes)"
  minor="${v#v1.}"
  ldflags="-X k8s.io/component-base/version.gitVersion=${v} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
  for cmd in kube-apiserver kube-controller-manager; do
    go -C "${mod}" build -ldflags "${ldflags}" -o "${bin}/${cmd}" "k8s.io/kubernetes/cmd/${cmd}"
    "${bin}/${cmd}" --version
  done
  ;;
crossplane)
  # The package manager checks packages' Crossplane version constraints
  # against this version; unset, it would be empty.
  v="$(version github.com/crossplane/crossplane/v2)"
  go -C "${mod}" build -ldflags "-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=${v}" \
    -o "${bin}/crossplane-core" github.com/crossplane/crossplane/v2/cmd/crossplane
  echo "Crossplane core $("${bin}/crossplane-core" --version)"
  ;;
*)
  echo "unknown component ${component}: want etcd, kubernetes or crossplane" >&2
  exit 2
  ;;
esac
