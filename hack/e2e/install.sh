#!/usr/bin/env bash
# Builds one component of the e2e control plane from the Go module proxy, at
# the version its module under hack/e2e/ pins (go.mod and go.sum there):
#
#   etcd         go.etcd.io/etcd/server/v3                  -> BIN/etcd
#   kubernetes   k8s.io/kubernetes/cmd/kube-apiserver       -> BIN/kube-apiserver
#                k8s.io/kubernetes/cmd/kube-controller-manager -> BIN/kube-controller-manager
#   crossplane   github.com/crossplane/crossplane/v2/cmd/crossplane -> BIN/crossplane-core
#   local-kms    github.com/nsmithuk/local-kms              -> BIN/local-kms
#   provider-aws provider-aws' KMS Key, Alias and ReplicaKey controllers
#                -> BIN/provider-aws-kms (hack/e2e/provider-aws/main.go, built
#                in provider-aws' module at the version this repository's
#                go.mod pins, with its Terraform provider's KMS service only)
#
# Nothing else is needed: no Docker, no registry, no apt. A cold build takes
# minutes on 2 cores (kubernetes about 10; provider-aws, with the KMS service
# only, about 10 beside other builds); Go's build cache makes a rebuild take
# seconds, so keep it.
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
  # Its first line only, taken without a pipe: under pipefail, a reader
  # that stops early would fail the step with SIGPIPE (141).
  v="$("${bin}/etcd" --version)"
  echo "${v%%$'\n'*}"
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
local-kms)
  go -C "${mod}" build -o "${bin}/local-kms" github.com/nsmithuk/local-kms
  echo "local-kms $(version github.com/nsmithuk/local-kms)"
  ;;
provider-aws)
  # The controllers are internal packages of provider-aws, so main.go is
  # compiled as a command of provider-aws' module, in a writable copy of it
  # (Go refuses overlays in its module cache). The copies and the binary are
  # kept outside the repository, under the user's cache directory, and
  # reused while the version, Go and the files copied in from here stay the
  # same.
  root="$(cd "${mod}/../../.." && pwd)"
  v="$(go -C "${root}" list -m -f '{{.Version}}' github.com/upbound/provider-aws/v2)"
  cache="${XDG_CACHE_HOME:-${HOME}/.cache}/function-kms-backend"
  src="${cache}/provider-aws@${v}"
  # The files copied into the modules, without their ignore tag, which keeps
  # them out of this repository's builds.
  copy() { sed '1{/^\/\/go:build ignore$/d}' "${mod}/$1" >"$2"; }
  out="${cache}/provider-aws-kms@${v}-$(cat "${mod}/main.go" "${mod}/sdkv2/service_packages_gen.go" "${mod}/conns/awsclient_gen.go" <(go version) | sha256sum | cut -c1-12)"
  if [[ ! -x "${out}" ]]; then
    if [[ ! -f "${src}/.complete" ]]; then
      dir="$(go -C "${root}" mod download -json "github.com/upbound/provider-aws/v2@${v}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      rm -rf "${src}" && mkdir -p "${cache}"
      cp -R "${dir}" "${src}" && chmod -R u+w "${src}" && touch "${src}/.complete"
    fi
    mkdir -p "${src}/cmd/provider/kms-e2e"
    copy main.go "${src}/cmd/provider/kms-e2e/main.go"
    # provider-aws' Terraform provider (upbound's fork, at the version
    # provider-aws' go.mod replaces it with) registers every AWS service and
    # has a client method for each: two generated files that link some 1,100
    # packages the KMS controllers never call. A writable copy of the fork
    # gets both files replaced by KMS-only ones, so that a cold build fits
    # CI. provider-aws' own go.mod stays untouched, for the lookup above:
    # the build reads an alternate one whose replace names the copy (a
    # directory replace needs no go.sum line, so the copied go.sum serves).
    tfv="$(go -C "${src}" list -m -f '{{.Replace.Version}}' github.com/hashicorp/terraform-provider-aws)"
    fork="${cache}/terraform-provider-aws@${tfv}-kms"
    if [[ ! -f "${fork}/.complete" ]]; then
      dir="$(go -C "${src}" mod download -json "github.com/upbound/terraform-provider-aws@${tfv}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      rm -rf "${fork}"
      cp -R "${dir}" "${fork}" && chmod -R u+w "${fork}" && touch "${fork}/.complete"
    fi
    copy sdkv2/service_packages_gen.go "${fork}/internal/provider/sdkv2/service_packages_gen.go"
    copy conns/awsclient_gen.go "${fork}/internal/conns/awsclient_gen.go"
    cp "${src}/go.mod" "${src}/kms-e2e.mod" && cp "${src}/go.sum" "${src}/kms-e2e.sum"
    go -C "${src}" mod edit -modfile="${src}/kms-e2e.mod" -replace "github.com/hashicorp/terraform-provider-aws=${fork}"
    # -trimpath keeps the build cache valid wherever the copies live; -s -w
    # (no symbol table, no DWARF) makes the link lighter.
    go -C "${src}" build -modfile="${src}/kms-e2e.mod" -trimpath -ldflags '-s -w' -o "${out}.tmp" ./cmd/provider/kms-e2e
    mv "${out}.tmp" "${out}"
  fi
  ln -sf "${out}" "${bin}/provider-aws-kms"
  echo "provider-aws ${v} (Key, Alias and ReplicaKey controllers, KMS service only): ${out}"
  ;;
*)
  echo "unknown component ${component}: want etcd, kubernetes, crossplane, local-kms or provider-aws" >&2
  exit 2
  ;;
esac
