# function-kms-backend: a newcomer's entry points. `make render` and
# `make test` are all a fresh clone needs (Go, and Node 20 with npm for the
# IAM evaluator make test judges key policies with).

CROSSPLANE_VERSION ?= v2.2.1
BIN                := $(CURDIR)/bin
CROSSPLANE         := $(BIN)/crossplane
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT      := $(BIN)/golangci-lint
BENCHSTAT_VERSION  ?= v0.0.0-20260908200009-22c9c6c9d4da
BENCHSTAT          := $(BIN)/benchstat
COUNT              ?= 6
BENCH              ?= .
export CROSSPLANE

FUZZTIME           ?= 10s
FUZZ_TARGETS       := FuzzParsePrincipal FuzzParseSpec FuzzRunFunction

.PHONY: all build render render-observed render-invalid render-namespaced render-guardrails render-failing render-alias-taken render-replicas render-adopt render-alias-exists test e2e e2e-provider e2e-provider-binaries scale fuzz bench generate xpkg lint tidy clean

all: test

build:
	go build -o $(BIN)/function .

# The pinned Crossplane CLI, built from the Go module proxy.
$(CROSSPLANE): hack/install-crossplane.sh
	CROSSPLANE_VERSION=$(CROSSPLANE_VERSION) hack/install-crossplane.sh $(BIN)

LEGACY     := configuration/legacy/composition.yaml
NAMESPACED := configuration/namespaced/composition.yaml
GUARDRAILS := example/guardrails/composition.yaml

## render: the example XR as Crossplane would compose it: a Key and an Alias.
render: $(CROSSPLANE)
	hack/render.sh example/xr.yaml $(LEGACY)

## render-observed: the same, with the Key and Alias already in AWS: status filled in.
render-observed: $(CROSSPLANE)
	hack/render.sh example/xr.yaml $(LEGACY) --observed-resources=example/observed.yaml

## render-invalid: a claim with many mistakes; the render fails naming each field.
render-invalid: $(CROSSPLANE)
	hack/render.sh example/xr-invalid.yaml $(LEGACY)

## render-namespaced: the Crossplane v2 namespaced KmsBackend: namespaced Key and Alias.
render-namespaced: $(CROSSPLANE)
	hack/render.sh example/namespaced/xr.yaml $(NAMESPACED)

## render-guardrails: a claim that leaves region and more to the platform's input.
render-guardrails: $(CROSSPLANE)
	hack/render.sh example/guardrails/xr-defaults.yaml $(GUARDRAILS)

## render-failing: the Key's create failed, as provider-aws reports it: KeyAvailable=False with its words.
render-failing: $(CROSSPLANE)
	hack/render.sh example/xr.yaml $(LEGACY) --observed-resources=example/failing/observed.yaml

## render-alias-taken: another XR's Alias manages the alias; the render fails naming spec.aliasName.
render-alias-taken: $(CROSSPLANE)
	hack/render.sh example/xr.yaml $(LEGACY) --required-resources=example/alias-taken/aliases.yaml

## render-replicas: a multi-region key with two replica regions, observed in AWS: replicas in status.
render-replicas: $(CROSSPLANE)
	hack/render.sh example/replicas/xr.yaml $(LEGACY) --observed-resources=example/replicas/observed.yaml

## render-adopt: a claim adopting the Terraform module's key (existingKeyId), as AWS reports it: adopted, no Create, no Delete.
render-adopt: $(CROSSPLANE)
	hack/render.sh example/adopt/xr.yaml $(LEGACY) --observed-resources=example/adopt/observed.yaml

## render-alias-exists: the Alias found in AWS targeting another key: refused naming spec.aliasName, kept observe-only.
render-alias-exists: $(CROSSPLANE)
	hack/render.sh example/xr.yaml $(LEGACY) --observed-resources=example/alias-exists/observed.yaml

# The IAM policy evaluator the tests judge key policies with, pinned in
# hack/iam-simulate/ and installed with npm (Node 20); tests only.
IAM_SIMULATE := hack/iam-simulate/node_modules/.package-lock.json
$(IAM_SIMULATE): hack/iam-simulate/package.json hack/iam-simulate/package-lock.json hack/install-iam-simulate.sh
	hack/install-iam-simulate.sh

## test: every test: unit, golden, fuzz seeds, key policies judged by an IAM
## evaluator, the real CLI's render and validate; the gRPC server under the
## race detector; each fuzz target briefly.
# -count=1: the render tests run external binaries, which Go's test cache
# cannot see change. IAM_SIMULATE=required fails, rather than skips, the
# evaluator's tests when it is missing.
test: $(CROSSPLANE) $(IAM_SIMULATE)
	IAM_SIMULATE=required go test -count=1 ./...
	go test -count=1 -race -run '^TestGRPC' .
	FUZZTIME=3s FUZZCACHE=fresh hack/fuzz.sh $(FUZZ_TARGETS)

# The e2e control plane's binaries, each built from the Go module proxy at
# the version its module under hack/e2e/ pins; rebuilt when that changes.
E2E_BIN := $(BIN)/e2e

$(E2E_BIN)/etcd: hack/e2e/etcd/go.mod hack/e2e/etcd/go.sum hack/e2e/install.sh
	hack/e2e/install.sh etcd $(E2E_BIN)

$(E2E_BIN)/kube-apiserver $(E2E_BIN)/kube-controller-manager &: hack/e2e/kubernetes/go.mod hack/e2e/kubernetes/go.sum hack/e2e/install.sh
	hack/e2e/install.sh kubernetes $(E2E_BIN)

$(E2E_BIN)/crossplane-core: hack/e2e/crossplane/go.mod hack/e2e/crossplane/go.sum hack/e2e/install.sh
	hack/e2e/install.sh crossplane $(E2E_BIN)

$(E2E_BIN)/local-kms: hack/e2e/local-kms/go.mod hack/e2e/local-kms/go.sum hack/e2e/install.sh
	hack/e2e/install.sh local-kms $(E2E_BIN)

# provider-aws at the version go.mod pins, with its Terraform provider's KMS
# service only: the binary is kept, outside the repository, in the user's
# cache directory, and reused while go.mod and the files under
# hack/e2e/provider-aws/ are unchanged (a warm rebuild takes seconds, a
# cold build about 10 minutes beside make test's builds).
$(E2E_BIN)/provider-aws-kms: go.mod hack/e2e/provider-aws/main.go hack/e2e/provider-aws/sdkv2/service_packages_gen.go \
  hack/e2e/provider-aws/conns/awsclient_gen.go hack/e2e/install.sh
	hack/e2e/install.sh provider-aws $(E2E_BIN)

## e2e: the scenarios of e2e/ on a real control plane (etcd, kube-apiserver,
## kube-controller-manager, Crossplane core and the function, on loopback in
## a private network namespace; no Docker, no AWS). E2E_RUN=Deletion runs
## the matching scenarios only.
E2E_RUN   ?= .
E2E_FLAGS ?=
CONTROL_PLANE := $(E2E_BIN)/etcd $(E2E_BIN)/kube-apiserver $(E2E_BIN)/kube-controller-manager $(E2E_BIN)/crossplane-core
e2e: $(CONTROL_PLANE)
	hack/e2e/run.sh -test.run '$(E2E_RUN)' $(E2E_FLAGS)

## e2e-provider: the same control plane with provider-aws' own KMS
## controllers (v2.5.0, built from the module proxy) composing keys in
## local-kms, a KMS emulator, behind a proxy that records every call: Ready,
## no perpetual writes, edits in place, deletion, a provider failure.
## E2E_FLAGS=-update rewrites the failure fixtures under testdata/.
e2e-provider: $(CONTROL_PLANE) e2e-provider-binaries
	E2E_SUITE=provider hack/e2e/run.sh -test.run '$(E2E_RUN)' $(E2E_FLAGS)

## scale: a benchmark of the control plane, not part of make test or CI:
## SCALE_N claims (in namespaces of 50) created until KeyAvailable, SCALE_STEADY
## of steady state, an edit of each, deletion of all; then the same with the
## function replaced by its recorded answers (the floor). Per phase: wall
## time, time per claim, CPU of each process, API requests, function calls,
## provider writes; the report goes to _output/scale/. About an hour for 1,000.
SCALE_N      ?= 1000
SCALE_STEADY ?= 10m
SCALE_FLAGS  ?=
scale: $(CONTROL_PLANE)
	E2E_SUITE=scale hack/e2e/run.sh -test.run '^TestScale$$' -poll-interval 1m -scale-n $(SCALE_N) -scale-steady $(SCALE_STEADY) $(SCALE_FLAGS)

# The binaries only make e2e-provider needs: CI starts building them first,
# in the background.
e2e-provider-binaries: $(E2E_BIN)/local-kms $(E2E_BIN)/provider-aws-kms

## fuzz: each fuzz target for FUZZTIME (make fuzz FUZZTIME=10m for a long run).
# go test -fuzz takes one target at a time; hack/fuzz.sh runs them in turn.
# New inputs that widen coverage are minimized for at most a second, so that
# short runs fuzz rather than minimize; a crasher is still written to
# testdata/fuzz/<target>/.
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh $(FUZZ_TARGETS)

$(BENCHSTAT): hack/install-benchstat.sh
	BENCHSTAT_VERSION=$(BENCHSTAT_VERSION) hack/install-benchstat.sh $(BIN)

## bench: the benchmarks, COUNT times each, into bench.txt; then their
# medians, each kms figure beside the no-op function's from the same run.
# About 20 minutes on 2 cores; BENCH=GRPC runs only the matching ones.
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -ec
bench: $(BENCHSTAT)
	go test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) -timeout 60m ./... | tee bench.txt
	$(BENCHSTAT) -filter '/fn:(noop OR fixed OR kms)' -col /fn bench.txt
	$(BENCHSTAT) -filter '.name:Principals' bench.txt
	$(BENCHSTAT) -filter '.name:Hostile' bench.txt

## generate: deepcopy methods and the input CRD, with the pinned controller-gen.
generate:
	go generate -tags generate ./...

## xpkg: the Function and Configuration packages, into _output/, with no
## container engine (ARCH=arm64 for arm64).
xpkg: $(CROSSPLANE)
	hack/xpkg.sh _output

$(GOLANGCI_LINT): hack/install-golangci-lint.sh
	GOLANGCI_LINT_VERSION=$(GOLANGCI_LINT_VERSION) hack/install-golangci-lint.sh $(BIN)

## lint: golangci-lint (vet, staticcheck, formatting, ...) and a tidy go.mod.
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e_provider ./e2e/...
	$(GOLANGCI_LINT) run --build-tags e2e,scale ./e2e/...
	go mod tidy -diff
	go -C tools mod tidy -diff
	for m in etcd kubernetes crossplane local-kms; do go -C hack/e2e/$$m mod tidy -diff || exit 1; done

tidy:
	go mod tidy

clean:
	rm -rf $(BIN) _output
