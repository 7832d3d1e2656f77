#!/bin/sh
# The demo leaves a report folder that shows what its table says: the CSV and
# Markdown table, a README naming seed and machine, at least three PNG charts
# when gnuplot is installed, and bulwark's checkout success ratio above that
# of the unprotected mode.
# Usage: demo_report_test.sh PATH/TO/bulwark-bench
set -eu
bench=${1:?usage: $0 PATH/TO/bulwark-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "report folder:" >&2
  ls -la "$tmp/report" >&2 || true
  exit 1
}

"$bench" --scenario=demo --quick --format=json --report="$tmp/report" \
  > "$tmp/out.json" 2> "$tmp/err.txt" || {
  cat "$tmp/err.txt" >&2
  fail "bulwark-bench --scenario=demo failed"
}

grep -q '^report: ' "$tmp/err.txt" || fail "the report path was not printed"
# Not a terminal: no progress line, so no carriage returns.
if grep -q "$(printf '\r')" "$tmp/err.txt"; then
  fail "progress line written although stderr is not a terminal"
fi
for f in demo.csv demo.md README.md; do
  [ -s "$tmp/report/$f" ] || fail "missing or empty $f"
done
grep -q '^demo,1,bulwark,' "$tmp/report/demo.csv" || fail "no bulwark row in demo.csv"
grep -q 'success_ratio' "$tmp/report/demo.md" || fail "no success_ratio in demo.md"
grep -q 'seed' "$tmp/report/README.md" || fail "README.md does not name the seed"
grep -q 'nproc' "$tmp/report/README.md" || fail "README.md does not name the machine"

if command -v gnuplot > /dev/null 2>&1; then
  pngs=$(find "$tmp/report" -name 'demo-*.png' -size +1k | wc -l)
  [ "$pngs" -ge 3 ] || fail "expected at least 3 PNG charts, found $pngs"
  for png in "$tmp/report"/demo-*.png; do
    head -c 8 "$png" | od -An -c | grep -q 'P   N   G' || fail "$png is not a PNG"
  done
else
  grep -q 'gnuplot not found' "$tmp/err.txt" \
    || fail "gnuplot missing but no warning about skipped charts"
  echo "note: gnuplot not installed, charts not checked" >&2
fi

# success_ratio per mode from the JSON line: bulwark must beat none.
ratio() {
  sed -n "s/.*\"$1\": {\"success_ratio\": \([0-9.eE+-]*\).*/\1/p" "$tmp/out.json"
}
b=$(ratio bulwark)
n=$(ratio none)
[ -n "$b" ] && [ -n "$n" ] || fail "no success_ratio in: $(cat "$tmp/out.json")"
awk -v b="$b" -v n="$n" 'BEGIN { exit !(b > n) }' \
  || fail "bulwark success_ratio $b is not above none's $n"
echo "ok: demo report complete; success_ratio bulwark $b > none $n"
