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

go_bin="${GO:-}"
if [ -z "$go_bin" ]; then
  go_bin="$(command -v go || true)"
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
fi
if [ -z "$go_bin" ] || ! "$go_bin" version >/dev/null 2>&1; then
  echo "istio-validation-oracle: Go is not installed (no 'go' on PATH, nor /usr/local/go/bin/go); install it (https://go.dev/doc/install) or set GO=/path/to/go." >&2
  exit 127
fi

export GOFLAGS="-mod=mod -buildvcs=false"

if command -v sha256sum >/dev/null 2>&1; then hash() { sha256sum | cut -d' ' -f1; }
else hash() { shasum -a 256 | cut -d' ' -f1; }; fi

stamp="$(
  cd "$src"
  { "$go_bin" version; "$go_bin" env GOOS GOARCH; for f in go.mod go.sum main.go; do printf '%s\n' "$f"; cat -- "$f"; done; } | hash
)"

if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "istio-validation-oracle: up to date" >&2
else
  mkdir -p "$out"
  echo "istio-validation-oracle: building $bin with $("$go_bin" version) (a first build downloads the modules: about two minutes)" >&2
  start=$SECONDS
  tmp="$out/istiovalidation.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (cd "$src" && "$go_bin" build -trimpath -o "$tmp" .) >&2 || {
    echo "istio-validation-oracle: go build failed in $src (see above). Is the Go module proxy reachable (GOPROXY=$("$go_bin" env GOPROXY))?" >&2
    exit 1
  }
  mv -f "$tmp" "$bin"
  printf '%s\n' "$stamp" >"$out/stamp"
  echo "istio-validation-oracle: built in $((SECONDS - start)) s" >&2
fi

printf '%s\n' "$bin"
