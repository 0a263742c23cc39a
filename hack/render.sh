#!/usr/bin/env bash
# Renders an XR with the real Crossplane CLI against this function: builds
# the function, starts it on localhost:9443 without TLS (the Development
# runtime of example/functions.yaml), renders, and stops it.
#
# Usage: hack/render.sh XR COMPOSITION [crossplane render flags...]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 XR COMPOSITION [crossplane render flags...]" >&2
  exit 2
fi
xr="$1"
composition="$2"
shift 2
crossplane="${CROSSPLANE:-bin/crossplane}"
port=9443

go build -o bin/function .
bin/function --insecure --address="127.0.0.1:${port}" --metrics-address= &
pid=$!
trap 'kill "${pid}" 2>/dev/null || true; wait "${pid}" 2>/dev/null || true' EXIT

listening=false
for _ in $(seq 100); do
  if ! kill -0 "${pid}" 2>/dev/null; then
    echo "the function exited; is port ${port} taken?" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    listening=true
    break
  fi
  sleep 0.1
done
if [[ "${listening}" != true ]]; then
  echo "the function is not listening on port ${port} after 10s" >&2
  exit 1
fi

"${crossplane}" render "${xr}" "${composition}" example/functions.yaml --timeout=30s "$@"
