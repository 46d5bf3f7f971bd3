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

# shellcheck source=scripts/go-oracle.sh
source "$root/scripts/go-oracle.sh"
find_go cyclonus-oracle "The NetworkPolicy oracle test builds Cyclonus from source and needs Go >= 1.22"
if $only_go; then
  "$go_bin" version
  exit 0
fi

build_go_oracle cyclonus-oracle "$src" "$bin" "a few minutes"

if $check; then
  (cd "$src" && "$go_bin" test ./...) >&2
fi

printf '%s\n' "$bin"
