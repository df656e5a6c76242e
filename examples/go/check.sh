#!/bin/sh
# End-to-end check: run a built logstat on testdata/sample.log and compare
# its output with testdata/expected.txt.
#
# Usage: ./check.sh [path/to/logstat]      (default: ./logstat)
# Set RUNNER to run the binary through an emulator, for example
#   RUNNER=qemu-aarch64-static ./check.sh out/arm64/logstat
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/logstat}
case $bin in
/*) ;;
*/*) bin=$(pwd)/$bin ;;
*) [ -e "$bin" ] && bin=$(pwd)/$bin || bin=$(command -v "$bin" || echo "$bin") ;;
esac
if [ ! -x "$bin" ]; then
    echo "check.sh: $bin is not an executable; build it first: go build -o logstat ./cmd/logstat" >&2
    exit 2
fi
cd "$here"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086 # RUNNER may carry arguments
${RUNNER:-} "$bin" --version > "$out"
grep -q '^logstat [0-9]' "$out" || { echo "check.sh: unexpected --version output:" >&2; cat "$out" >&2; exit 1; }
# shellcheck disable=SC2086
${RUNNER:-} "$bin" testdata/sample.log > "$out"
if diff -u testdata/expected.txt "$out"; then
    echo "check.sh: OK ($(wc -l < testdata/expected.txt) lines match)"
else
    echo "check.sh: FAIL: output differs from testdata/expected.txt" >&2
    exit 1
fi
