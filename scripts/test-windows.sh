#!/usr/bin/env bash
# The Windows lane (`make test-windows`, part of `make test`):
#  1. cross-compiles every package's tests for windows/amd64 and runs each
#     test binary under Wine, in its package directory (testdata is found);
#  2. runs the Wine end-to-end tests (e2e, build tag `wine`): the real
#     vcguard-agent.exe under Wine against the real Linux vcguard-server.
# Everything runs in one private Wine prefix, stopped at the end. Prints every
# skipped test with its reason, the count, and the lane's run time.
#
# Wine 8.0 (Debian 12) needs two things the real Windows has:
#  - ProcessPrng (bcryptprimitives.dll), which Go's runtime needs to start:
#    scripts/wine/prefix.sh builds a stand-in DLL into the prefix;
#  - FileDispositionInformationEx (NtSetInformationFile class 64), which
#    Go 1.26's os.RemoveAll uses. Wine answers STATUS_NOT_IMPLEMENTED
#    ("fixme:file:NtSetInformationFile Unsupported class (64)") where Windows
#    before 10 1607 answers STATUS_INVALID_INFO_CLASS, and Go falls back to
#    the old way only for the latter, so every t.TempDir cleanup fails. The
#    test binaries are built with a -overlay of Go's at_windows.go that also
#    falls back on STATUS_NOT_IMPLEMENTED. Test binaries only: the agent that
#    the e2e tests run is built exactly as it ships.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
GO="${GO:-go}"
start=$SECONDS

work="$(mktemp -d "${TMPDIR:-/tmp}/vcguard-wine.XXXXXX")"
export WINEPREFIX="$work/prefix" WINEDEBUG=-all VCGUARD_UNDER_WINE=1
cleanup() {
  wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "windows lane: prefix $WINEPREFIX"
scripts/wine/prefix.sh "$WINEPREFIX"
# Keep the prefix's wineserver (its "machine") up for the whole lane, as a
# booted Windows is: otherwise it stops a few seconds after the last Windows
# program and the next one boots it again, which starts every auto-start
# service anew (an installed vcguard-agent service, say) behind the tests.
wineserver -p >/dev/null 2>&1
# Boot it now, so that its services (winedevice.exe, ...) hold /dev/null and
# not the output pipe of the first test binary, which would never see EOF.
wine wineboot </dev/null >/dev/null 2>&1

# The RemoveAll overlay (see above); refuse to run when Go's file changed shape.
atsrc="$("$GO" env GOROOT)/src/internal/syscall/windows/at_windows.go"
grep -q '^[[:space:]]*STATUS_NOT_SUPPORTED:' "$atsrc" || {
  echo "test-windows: $atsrc no longer has the STATUS_NOT_SUPPORTED case this lane patches; check whether Go still needs the overlay" >&2
  exit 1
}
sed 's|^\([[:space:]]*\)STATUS_NOT_SUPPORTED:|\1STATUS_NOT_SUPPORTED, NTStatus(0xC0000002):|' "$atsrc" >"$work/at_windows.go"
printf '{"Replace":{"%s":"%s"}}\n' "$atsrc" "$work/at_windows.go" >"$work/overlay.json"

# e2e is the Linux-side harness that starts servers and agents; its Wine
# tests run in step 2. installer/ is the release tooling that builds the
# packages on the Linux build machine (dpkg, rpm, wixl, sh): it never runs on
# a laptop. vcguard-loadgen is the measurement tool run beside a server on
# the Linux test machine (its tests build and start the server with go), and
# internal/execload/cmd/execload the benchmarks' exec load there (its test
# binary would also share the name execload.test with its package's, which
# one -o directory cannot hold; the package's own tests do run here).
mapfile -t pkgs < <(GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' ./... | grep -v -e '/e2e ' -e '/installer[/ ]' -e '/vcguard-loadgen ' -e '/execload/cmd/execload ')
echo "windows lane: building ${#pkgs[@]} test binaries"
mkdir -p "$work/bin"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" test -c -overlay "$work/overlay.json" -o "$work/bin/" "${pkgs[@]%% *}"

# agent/appid's tests build and sign real executables with the Go toolchain
# and osslsigncode, which a Windows program under Wine cannot run and wait
# for: build them here, the Windows test binary reuses them.
export VCGUARD_APPID_BUILD_DIR="$work/appid-build"
"$GO" test -count=1 -run '^(TestParsePEInfo|TestParseCodeSignature)$' ./agent/appid/ >/dev/null

failed=()
skips="$work/skips.txt"
: >"$skips"
report="$work/testreport"
"$GO" build -o "$report" ./scripts/wine/testreport
for entry in "${pkgs[@]}"; do
  pkg="${entry%% *}" dir="${entry#* }"
  exe="$work/bin/$(basename "$pkg").test.exe"
  if [[ ! -f "$exe" ]]; then
    echo "windows lane: no test binary for $pkg" >&2
    failed+=("$pkg")
    continue
  fi
  t0=$SECONDS
  # test2json events: skips and failures are told apart per test even when
  # tests run in parallel.
  if (cd "$dir" && timeout 600 wine "$exe" -test.v=test2json -test.count=1 -test.timeout=8m 2>&1) |
    "$GO" tool test2json -p "$pkg" | "$report" >>"$skips" 2>"$work/fail.txt"; then
    echo "ok   $pkg ($((SECONDS - t0)) s)"
  else
    echo "FAIL $pkg ($((SECONDS - t0)) s)"
    tail -80 "$work/fail.txt"
    failed+=("$pkg")
  fi
done

echo "windows lane: end to end under Wine (e2e -tags wine)"
t0=$SECONDS
if VCGUARD_WINEPREFIX="$WINEPREFIX" "$GO" test -tags wine -count=1 -timeout 15m -run 'Wine' -json ./e2e/ |
  "$report" >>"$skips" 2>"$work/fail.txt"; then
  echo "ok   e2e under Wine ($((SECONDS - t0)) s)"
else
  echo "FAIL e2e under Wine ($((SECONDS - t0)) s)"
  tail -120 "$work/fail.txt"
  failed+=("e2e (wine)")
fi

echo "windows lane: $(wc -l <"$skips") tests skipped under Wine:"
sed 's/^/  /' "$skips"
echo "windows lane: ${#pkgs[@]} packages and the Wine e2e in $((SECONDS - start)) s"
if ((${#failed[@]})); then
  echo "windows lane: FAILED: ${failed[*]}" >&2
  exit 1
fi
