# Shared by scripts/cyclonus-oracle.sh and scripts/istio-validation-oracle.sh (sourced, not run):
# finding Go, and building one Go oracle into .cache/ only when its sources, go.mod/go.sum or the
# Go version changed (a hash stamp beside the binary). Build output goes to stderr.

# find_go NAME WHY: sets go_bin (GO=/path/to/go, else `go` on PATH, else /usr/local/go/bin/go),
# or says why not (WHY: what needs Go, and which version) and exits 127.
find_go() {
  local name="$1" why="$2"
  go_bin="${GO:-}"
  if [ -z "$go_bin" ]; then
    go_bin="$(command -v go || true)"
    if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  fi
  if [ -z "$go_bin" ] || ! "$go_bin" version >/dev/null 2>&1; then
    if [ -n "${GO:-}" ]; then
      echo "$name: GO=$GO does not run ('$GO version' failed)." >&2
    else
      echo "$name: Go is not installed (no 'go' on PATH, nor /usr/local/go/bin/go)." >&2
    fi
    echo "$why: install it (https://go.dev/doc/install) or set GO=/path/to/go." >&2
    exit 127
  fi
}

# build_go_oracle NAME SRC BIN COLD: builds the package in SRC into BIN unless its stamp is current.
# COLD says how long a first build takes (it downloads the modules).
build_go_oracle() {
  local name="$1" src="$2" bin="$3" cold="$4"
  local out stamp start
  out="$(dirname "$bin")"
  # -mod=mod: fetch what go.mod/go.sum name from the module proxy (go.sum pins every hash).
  # -buildvcs=false: the sources sit inside ztmap's git repository; stamping its status is
  # pointless and fails where git refuses the checkout's owner.
  export GOFLAGS="-mod=mod -buildvcs=false"
  stamp="$(
    cd "$src"
    {
      "$go_bin" version
      "$go_bin" env GOOS GOARCH
      for f in go.mod go.sum $(ls -- *.go | grep -v '_test\.go$' | LC_ALL=C sort); do
        printf '%s\n' "$f"
        cat -- "$f"
      done
    } | if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1
  )"
  if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null || true)" = "$stamp" ]; then
    echo "$name: up to date" >&2
    return 0
  fi
  mkdir -p "$out"
  echo "$name: building $bin with $("$go_bin" version) (a first build downloads the modules: $cold)" >&2
  start=$SECONDS
  # Global, not local: the EXIT trap runs after this function has returned.
  go_oracle_tmp="$bin.tmp.$$"
  trap 'rm -f -- "${go_oracle_tmp:-}"' EXIT
  (cd "$src" && "$go_bin" build -trimpath -o "$go_oracle_tmp" .) >&2 || {
    echo "$name: go build failed in $src (see above). Is the Go module proxy reachable (GOPROXY=$("$go_bin" env GOPROXY))?" >&2
    exit 1
  }
  mv -f "$go_oracle_tmp" "$bin"
  printf '%s\n' "$stamp" >"$out/stamp"
  echo "$name: built in $((SECONDS - start)) s" >&2
}
