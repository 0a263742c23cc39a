#!/usr/bin/env bash
# Installs the IAM policy evaluator the tests judge key policies with,
# @cloud-copilot/iam-simulate, at the version hack/iam-simulate/package.json
# pins and package-lock.json locks, from the npm registry, into
# hack/iam-simulate/node_modules. It is AGPL-3.0-or-later: the tests run it,
# and it is never part of the function, its Go module or its image.
# Usage: hack/install-iam-simulate.sh
set -euo pipefail
cd "$(dirname "$0")/iam-simulate"

for tool in node npm; do
  if ! command -v "${tool}" >/dev/null; then
    echo "${tool} is missing: make test judges key policies with an IAM evaluator that runs on Node 20; install Node 20 with npm (e.g. apt-get install nodejs npm)" >&2
    exit 1
  fi
done
major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
if (( major < 20 )); then
  echo "node $(node --version) is too old: the IAM evaluator needs Node 20 or later" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
