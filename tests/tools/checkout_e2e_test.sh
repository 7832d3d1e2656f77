#!/bin/sh
# End-to-end test of examples/checkout: `checkout e2e` is the kill drill. It
# starts the gateway and the four services as processes on loopback, payments
# as two replicas (payments-1, payments-2) sharing the ledgers of the
# payments-ledger process, drives 240 orders from 8 clients that re-send an
# order id until they get its outcome, SIGKILLs the gateway three times,
# inventory twice, payments-2 twice, payments-1 once and the payments-ledger
# process once with orders in flight (restarting each on its ports and its
# saga log / ledger journals), makes payments-1 kill itself once between a
# charge's side effect and its ledger record, reads every order again at the
# end, then SIGTERMs every process under load. It exits 0 only when every
# order has one outcome that every re-send returns, no side effect ran twice
# (charges and refunds counted from the ledger journals), every completed
# order was charged once and confirmed, every failed order refunded and
# released as far as it got and never confirmed, stock matches the completed
# orders, recommendations degraded instead of failing checkout, and every
# process stopped within 10 s of SIGTERM. This script also bounds the time
# and checks, from outside, that every process was killed as often as the
# drill says and came back, and that no process of the run and no data
# directory is left behind.
# Usage: checkout_e2e_test.sh PATH/TO/checkout
set -eu
bin=${1:?usage: $0 PATH/TO/checkout}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0
timeout -s KILL 400 "$bin" e2e > "$tmp/out.txt" 2> "$tmp/err.txt" || rc=$?
cat "$tmp/out.txt"
if [ "$rc" -ne 0 ]; then
  echo "--- stderr ---" >&2
  tail -n 50 "$tmp/err.txt" >&2
  echo "FAIL: checkout e2e exited with $rc" >&2
fi

# Every pid the run printed (the first six, and every restarted process)
# must be gone.
pids=$(sed -n -e 's/^pids://p' "$tmp/out.txt" | tr ' ' '\n' | sed -n 's/.*=//p')
pids="$pids $(sed -n 's/^[a-z0-9-]* restarted (pid \([0-9]*\)).*/\1/p' "$tmp/out.txt")"
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
# payments-1 is killed once here and once by its own crash (below).
for want in "gateway 2" "inventory 2" "payments-1 1" "payments-2 2" "payments-ledger 1"; do
  who=${want% *}; min=${want#* }
  n=$(grep -c "^killing $who (" "$tmp/out.txt" || true)
  [ "$n" -ge "$min" ] || { echo "FAIL: $who was killed $n times (want >= $min)" >&2; exit 1; }
done
grep -q '^payments-1 crashed after a side effect .*: yes$' "$tmp/out.txt" \
  || { echo "FAIL: payments-1 did not crash after a side effect" >&2; exit 1; }
kills=$(grep -c '^killing ' "$tmp/out.txt" || true)
[ "$(grep -c '^[a-z0-9-]* restarted (pid [0-9]*): ready' "$tmp/out.txt")" -eq $((kills + 1)) ] \
  || { echo "FAIL: a killed process did not come back" >&2; exit 1; }
grep -q 'every process stopped within [0-9]* ms of SIGTERM under load' "$tmp/out.txt" \
  || { echo "FAIL: no SIGTERM timing" >&2; exit 1; }
# The driver's data directory (the ledger journals, the saga log) is removed.
dir=$(sed -n 's/^data dir: //p' "$tmp/out.txt")
[ -n "$dir" ] || { echo "FAIL: no data dir printed" >&2; exit 1; }
[ ! -e "$dir" ] || { echo "FAIL: data dir $dir left behind" >&2; rm -rf "$dir"; exit 1; }
grep -q '^invariants hold' "$tmp/out.txt" || rc=1
exit "$rc"
