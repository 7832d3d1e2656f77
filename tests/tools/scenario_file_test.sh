#!/bin/sh
# bulwark-bench --scenario-file: the example files run all three modes and
# print one JSON line each; a bad file lists every error with its JSON
# Pointer and exits 2 without running; an unreadable file is a clear error;
# the same file and seed give identical output.
set -u
bench=${1:?usage: scenario_file_test.sh path/to/bulwark-bench}
here=$(cd "$(dirname "$0")/../.." && pwd)
examples="$here/bench/scenarios/examples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for f in outage brownout; do
  "$bench" --scenario-file="$examples/$f.json" --quick --format=json \
    >"$tmp/$f.1" 2>"$tmp/$f.err" || { cat "$tmp/$f.err" >&2; fail "$f.json did not run"; }
  [ "$(wc -l <"$tmp/$f.1")" -eq 1 ] || fail "$f.json: expected one JSON line"
  grep -q "\"scenario\": \"file-$f\"" "$tmp/$f.1" || fail "$f.json: scenario name missing"
  for m in bulwark naive none; do
    grep -q "\"$m\": {\"requests\":" "$tmp/$f.1" || fail "$f.json: mode $m missing"
  done
  for k in success_ratio attempts amplification p50_ms p99_ms; do
    grep -q "\"$k\":" "$tmp/$f.1" || fail "$f.json: field $k missing"
  done
  "$bench" --scenario-file="$examples/$f.json" --quick --format=json \
    >"$tmp/$f.2" 2>/dev/null || fail "$f.json: second run failed"
  cmp -s "$tmp/$f.1" "$tmp/$f.2" || fail "$f.json: same file and seed, different output"
done
echo "outage: $(cat "$tmp/outage.1")"
echo "brownout: $(cat "$tmp/brownout.1")"

cat >"$tmp/bad.json" <<'JSON'
{
  "name": "bad",
  "load": {"rate_per_s": 100, "duration": "1s"},
  "faults": {"errors": {"transient": "lots"}, "latency": {"kind": "fixed", "value": 5}},
  "modes": ["bulwark", "fast"],
  "policies": {"retry": {"max_attempts": 0}, "breaker": {"mode": "sometimes"}},
  "colour": "red"
}
JSON
"$bench" --scenario-file="$tmp/bad.json" --format=json >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
[ "$rc" -eq 2 ] || fail "bad file: exit code $rc, expected 2"
[ ! -s "$tmp/bad.out" ] || fail "bad file: something ran"
cat >"$tmp/bad.expected" <<EOF2
bulwark-bench: invalid scenario file '$tmp/bad.json':
/colour: unknown key (allowed: name, description, load, faults, modes, policies, seed)
/faults/errors/transient: must be a number (got: "lots")
/faults/latency/value: must be a duration string with a unit such as "250ms" (got: 5)
/modes/1: must be one of "bulwark", "naive", "none" (got: "fast")
/policies/retry/max_attempts: must be between 1 and 10 (got: 0)
/policies/breaker/mode: must be one of "automatic", "forced_open", "disabled" (got: "sometimes")
EOF2
if ! cmp -s "$tmp/bad.expected" "$tmp/bad.err"; then
  diff "$tmp/bad.expected" "$tmp/bad.err" >&2
  fail "bad file: error lines differ"
fi

"$bench" --scenario-file="$tmp/missing.json" >"$tmp/missing.out" 2>"$tmp/missing.err"
rc=$?
[ "$rc" -eq 2 ] || fail "missing file: exit code $rc, expected 2"
grep -q "(document): cannot read scenario file '$tmp/missing.json': No such file or directory" \
  "$tmp/missing.err" || { cat "$tmp/missing.err" >&2; fail "missing file: no clear error"; }
echo "PASS"
