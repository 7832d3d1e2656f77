#!/bin/sh
# End-to-end test of examples/checkout: `checkout e2e` starts the gateway and
# the four services as processes on loopback, drives 200 checkouts with
# faults, SIGKILLs and restarts the inventory process and later the payments
# process mid-run, then makes payments kill itself right after a charge's
# side effect and before its ledger record, restarting each process on its
# durable ledger journals, and exits 0 only when
# every request got exactly one answer, payments charged at most once per
# order key (exactly once for completed orders) across the restart, every saga
# that failed after the charge was refunded exactly once and every failed saga
# released exactly once, and recommendations degraded to their fallback
# instead of failing checkout. This script also bounds the time and checks,
# from outside, that no process of the run and no journal directory is left
# behind.
# Usage: checkout_e2e_test.sh PATH/TO/checkout
set -eu
bin=${1:?usage: $0 PATH/TO/checkout}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0
timeout -s KILL 240 "$bin" e2e > "$tmp/out.txt" 2> "$tmp/err.txt" || rc=$?
cat "$tmp/out.txt"
if [ "$rc" -ne 0 ]; then
  echo "--- stderr ---" >&2
  tail -n 50 "$tmp/err.txt" >&2
  echo "FAIL: checkout e2e exited with $rc" >&2
fi

# Every pid the run printed (the first six, and the restarted inventory and
# payments processes) must be gone.
pids=$(sed -n -e 's/^pids://p' "$tmp/out.txt" | tr ' ' '\n' | sed -n 's/.*=//p')
pids="$pids $(sed -n 's/^[a-z]* restarted (pid \([0-9]*\)).*/\1/p' "$tmp/out.txt")"
[ -n "$(echo $pids | tr -d ' ')" ] || { echo "FAIL: no pids printed" >&2; exit 1; }
sleep 0.2
left=""
for p in $pids; do
  if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q checkout; then
    left="$left $p"
  fi
done
if [ -n "$left" ]; then
  echo "FAIL: processes left behind:$left" >&2
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
  exit 1
fi
grep -q '^killing inventory' "$tmp/out.txt" || { echo "FAIL: inventory was not killed" >&2; exit 1; }
grep -q '^killing payments' "$tmp/out.txt" || { echo "FAIL: payments was not killed" >&2; exit 1; }
grep -q '^payments crashed after a side effect .*: yes$' "$tmp/out.txt" \
  || { echo "FAIL: payments did not crash after a side effect" >&2; exit 1; }
[ "$(grep -c '^[a-z]* restarted (pid [0-9]*): ready' "$tmp/out.txt")" -eq 3 ] \
  || { echo "FAIL: a killed process did not come back" >&2; exit 1; }
# The driver's data directory (the services' journals) is removed.
dir=$(sed -n 's/^data dir: //p' "$tmp/out.txt")
[ -n "$dir" ] || { echo "FAIL: no data dir printed" >&2; exit 1; }
[ ! -e "$dir" ] || { echo "FAIL: data dir $dir left behind" >&2; rm -rf "$dir"; exit 1; }
grep -q '^invariants hold' "$tmp/out.txt" || rc=1
exit "$rc"
