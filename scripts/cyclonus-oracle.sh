#!/usr/bin/env bash
# Builds nporacle, the Cyclonus-based NetworkPolicy oracle of the tests (test/oracle/cyclonus),
# into .cache/nporacle/nporacle and prints that path on stdout (build output goes to stderr).
# Needs only Go (>= 1.22): modules come from the Go module proxy. Rebuilds only when the
# sources, go.mod/go.sum or the Go version changed (a hash stamp beside the binary).
#
#   scripts/cyclonus-oracle.sh          build if needed, print the binary's path
#   scripts/cyclonus-oracle.sh --check  also run the oracle's own Go tests (selector workaround, corpora)
#   scripts/cyclonus-oracle.sh --go     only find Go: print its version, or say why not and exit 127
#
# GO=/path/to/go picks the Go binary; otherwise `go` on PATH, then /usr/local/go/bin/go.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/oracle/cyclonus"
out="$root/.cache/nporacle"
bin="$out/nporacle"

check=false
only_go=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  --go) only_go=true ;;
  *) echo "cyclonus-oracle: unknown argument ($1). Usage: $0 [--check | --go]" >&2; exit 64 ;;
esac

go_bin="${GO:-}"
if [ -z "$go_bin" ]; then
  go_bin="$(command -v go || true)"
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
fi
if [ -z "$go_bin" ] || ! "$go_bin" version >/dev/null 2>&1; then
  if [ -n "${GO:-}" ]; then
    echo "cyclonus-oracle: GO=$GO does not run ('$GO version' failed)." >&2
  else
    echo "cyclonus-oracle: Go is not installed (no 'go' on PATH, nor /usr/local/go/bin/go)." >&2
  fi
  echo "The NetworkPolicy oracle test builds Cyclonus from source and needs Go >= 1.22: install it (https://go.dev/doc/install) or set GO=/path/to/go." >&2
  exit 127
fi
if $only_go; then
  "$go_bin" version
  exit 0
fi

# -mod=mod: fetch what go.mod/go.sum name from the module proxy (go.sum pins every hash).
# -buildvcs=false: the sources sit inside ztmap's git repository; stamping its status is
# pointless and fails where git refuses the checkout's owner.
export GOFLAGS="-mod=mod -buildvcs=false"

if command -v sha256sum >/dev/null 2>&1; then hash() { sha256sum | cut -d' ' -f1; }
else hash() { shasum -a 256 | cut -d' ' -f1; }; fi

stamp="$(
  cd "$src"
  {
    "$go_bin" version
    "$go_bin" env GOOS GOARCH
    for f in go.mod go.sum $(ls -- *.go | grep -v '_test\.go$' | LC_ALL=C sort); do
      printf '%s\n' "$f"
      cat -- "$f"
    done
  } | hash
)"

if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "cyclonus-oracle: up to date" >&2
else
  mkdir -p "$out"
  echo "cyclonus-oracle: building $bin with $("$go_bin" version) (a first build downloads the modules: a few minutes)" >&2
  start=$SECONDS
  tmp="$out/nporacle.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (cd "$src" && "$go_bin" build -trimpath -o "$tmp" .) >&2 || {
    echo "cyclonus-oracle: go build failed in $src (see above). Is the Go module proxy reachable (GOPROXY=$("$go_bin" env GOPROXY))?" >&2
    exit 1
  }
  mv -f "$tmp" "$bin"
  printf '%s\n' "$stamp" >"$out/stamp"
  echo "cyclonus-oracle: built in $((SECONDS - start)) s" >&2
fi

if $check; then
  (cd "$src" && "$go_bin" test ./...) >&2
fi

printf '%s\n' "$bin"
