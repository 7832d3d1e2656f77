#!/bin/sh
# Issue 16's bar on the `progressive` scenario (--quick): under the demo's
# faults, the p99 time to the first useful answer is at most half the p99
# of the same run without progressive replies, at a final success ratio at
# least the baseline's. Also checks that preliminary answers happened at all
# (otherwise the bar would hold for the wrong reason).
# Usage: progressive_bar_test.sh PATH/TO/bulwark-bench
set -eu
bench=${1:?usage: $0 PATH/TO/bulwark-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bench" --scenario=progressive --quick --format=json > "$tmp/out.json" \
  2> "$tmp/err.txt" || {
  cat "$tmp/err.txt" >&2
  echo "FAIL: bulwark-bench --scenario=progressive failed" >&2
  exit 1
}

# The value of top-level field $1 of the JSON line.
field() {
  sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p" "$tmp/out.json"
}
for name in first_answer_p99_ms baseline_p99_ms final_success_ratio \
            baseline_success_ratio preliminary_ratio; do
  if [ -z "$(field "$name")" ]; then
    echo "FAIL: no field $name in:" >&2
    cat "$tmp/out.json" >&2
    exit 1
  fi
done
first=$(field first_answer_p99_ms)
base=$(field baseline_p99_ms)
final_ok=$(field final_success_ratio)
base_ok=$(field baseline_success_ratio)
prelim=$(field preliminary_ratio)

verdict=$(awk -v f="$first" -v b="$base" -v fo="$final_ok" -v bo="$base_ok" \
  -v p="$prelim" 'BEGIN {
    if (p <= 0) { print "no page load got a preliminary answer"; exit }
    if (f > 0.5 * b) {
      printf "first_answer_p99_ms %s > 0.5 * baseline_p99_ms %s\n", f, b; exit
    }
    if (fo < bo) {
      printf "final_success_ratio %s < baseline_success_ratio %s\n", fo, bo; exit
    }
    print "ok"
  }')
if [ "$verdict" != ok ]; then
  echo "FAIL: $verdict" >&2
  cat "$tmp/out.json" >&2
  exit 1
fi
echo "ok: first_answer_p99_ms $first <= 0.5 * baseline_p99_ms $base," \
  "final_success_ratio $final_ok >= baseline_success_ratio $base_ok"
