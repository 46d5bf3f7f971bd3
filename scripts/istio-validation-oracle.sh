#!/usr/bin/env bash
# Builds istiovalidation, Istio's own webhook validation (istio.io/istio pkg/config/validation)
# wrapped for the tests (test/oracle/istio-validation), into .cache/istiovalidation/ and prints
# the binary's path on stdout (build output goes to stderr). Needs only Go (the go.mod's
# version): modules come from the Go module proxy, pinned by go.sum. Rebuilds only when the
# sources, go.mod/go.sum or the Go version changed. A cold build takes about two minutes.
# GO=/path/to/go picks the Go binary, as scripts/cyclonus-oracle.sh does.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/oracle/istio-validation"
out="$root/.cache/istiovalidation"
bin="$out/istiovalidation"

# shellcheck source=scripts/go-oracle.sh
source "$root/scripts/go-oracle.sh"
find_go istio-validation-oracle "The Istio validation oracle test builds istio.io/istio's validation from source and needs Go (its go.mod's version)"
build_go_oracle istio-validation-oracle "$src" "$bin" "about two minutes"

printf '%s\n' "$bin"
