# function-kms-backend: a newcomer's entry points. `make render` and
# `make test` are all a fresh clone needs (Go is the only prerequisite).

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

.PHONY: all build render render-observed render-invalid test bench generate lint tidy clean

all: test

build:
	go build -o $(BIN)/function .

# The pinned Crossplane CLI, built from the Go module proxy.
$(CROSSPLANE): hack/install-crossplane.sh
	CROSSPLANE_VERSION=$(CROSSPLANE_VERSION) hack/install-crossplane.sh $(BIN)

## render: the example XR as Crossplane would compose it: a Key and an Alias.
render: $(CROSSPLANE)
	hack/render.sh example/xr.yaml

## render-observed: the same, with the Key and Alias already in AWS: status filled in.
render-observed: $(CROSSPLANE)
	hack/render.sh example/xr.yaml --observed-resources=example/observed.yaml

## render-invalid: a claim with many mistakes; the render fails naming each field.
render-invalid: $(CROSSPLANE)
	hack/render.sh example/xr-invalid.yaml

## test: every test: unit, golden, and the real CLI's render and validate.
# -count=1: the render tests run external binaries, which Go's test cache
# cannot see change.
test: $(CROSSPLANE)
	go test -count=1 ./...

$(BENCHSTAT): hack/install-benchstat.sh
	BENCHSTAT_VERSION=$(BENCHSTAT_VERSION) hack/install-benchstat.sh $(BIN)

## bench: the benchmarks, COUNT times each, into bench.txt; then their
# medians, each kms figure beside the no-op function's from the same run.
# About 12 minutes on 2 cores; BENCH=GRPC runs only the matching ones.
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -ec
bench: $(BENCHSTAT)
	go test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) -timeout 60m ./... | tee bench.txt
	$(BENCHSTAT) -filter '/fn:(noop OR kms)' -col /fn bench.txt
	$(BENCHSTAT) -filter '.name:Principals' bench.txt

## generate: deepcopy methods and the input CRD, with the pinned controller-gen.
generate:
	go generate -tags generate ./...

$(GOLANGCI_LINT): hack/install-golangci-lint.sh
	GOLANGCI_LINT_VERSION=$(GOLANGCI_LINT_VERSION) hack/install-golangci-lint.sh $(BIN)

## lint: golangci-lint (vet, staticcheck, formatting, ...) and a tidy go.mod.
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	go mod tidy -diff

tidy:
	go mod tidy

clean:
	rm -rf $(BIN)
