#!/usr/bin/env bash
# The walk-through of docs/benchmarking-your-service.md, small: the checkout
# services as processes on loopback, bulwark-chaos between the gateway and
# payments injecting 20% transient errors on POST /charge, and
# `bulwark-bench load` on the gateway, once with bulwark's policies on and
# once with `--policies off`. Checks that both runs report a summary and a
# report folder, that with policies on more checkouts complete, that the
# retries reached the proxy as repeated keys and never as duplicates that
# reached payments, and that nothing is left running.
# Every wait is a blocking read with a bound (read -t on a FIFO), never a
# sleep.
# Usage: benchmark_walkthrough_test.sh CHECKOUT BULWARK-CHAOS BULWARK-BENCH
set -u
checkout=${1:?usage: $0 CHECKOUT BULWARK-CHAOS BULWARK-BENCH}
chaos=${2:?usage: $0 CHECKOUT BULWARK-CHAOS BULWARK-BENCH}
bench=${3:?usage: $0 CHECKOUT BULWARK-CHAOS BULWARK-BENCH}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start NAME STREAM CMD...: runs CMD in the background with STREAM (1 or 2)
# on a FIFO, waits (at most 20 s) for its first line, stores it in $line and
# the pid in $pid; the rest of the stream goes to $tmp/NAME.log.
start() {
  local name=$1 stream=$2
  shift 2
  mkfifo "$tmp/$name.fifo"
  if [ "$stream" = 1 ]; then
    "$@" >"$tmp/$name.fifo" 2>>"$tmp/$name.log" &
  else
    "$@" 2>"$tmp/$name.fifo" >>"$tmp/$name.log" &
  fi
  pid=$!
  pids+=("$pid")
  exec {fd}<"$tmp/$name.fifo"
  line=""
  read -t 20 -r line <&"$fd" || fail "$name did not start: $(cat "$tmp/$name.log")"
  cat <&"$fd" >>"$tmp/$name.log" &
  pids+=("$!")
}

port_of() { # the port in "... listening on 127.0.0.1:PORT ..."
  echo "$1" | sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p'
}

http_get() { # http_get PORT PATH: the body (HTTP/1.0, the server closes)
  exec {c}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$c"
  timeout 10 cat <&"$c" | sed '1,/^\r$/d'
  exec {c}>&-
}

http_delete() {
  exec {c}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'DELETE %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$c"
  timeout 10 cat <&"$c" >/dev/null
  exec {c}>&-
}

field() { # field NAME JSON: the first number after "NAME":
  echo "$2" | grep -o "\"$1\": *[0-9.e+-]*" | head -n 1 | sed 's/.*: *//'
}

for svc in payments inventory pricing recommendations; do
  start "$svc" 2 "$checkout" "$svc" --port 0 --data-dir "$tmp/$svc-data"
  eval "port_$svc=$(port_of "$line")"
done
[ -n "$port_payments" ] || fail "no payments port"

cat >"$tmp/faults.json" <<'EOF'
{"faults": {"charge": {"method": "POST", "path": "/charge",
                       "errors": {"transient": 20}}}}
EOF
start chaos 1 "$chaos" --upstream "127.0.0.1:$port_payments" \
  --faults "$tmp/faults.json" --seed 7
proxy=$(field listen "$line")
control=$(field control "$line")
[ -n "$proxy" ] && [ -n "$control" ] || fail "bulwark-chaos printed no ports: $line"

declare -A ok repeated duplicates
for policies in on off; do
  start "gateway-$policies" 2 "$checkout" gateway --port 0 \
    --inventory "$port_inventory" --pricing "$port_pricing" \
    --payments "$proxy" --recommendations "$port_recommendations" \
    --data-dir "$tmp/gateway-$policies-data" --policies "$policies"
  gw_pid=$pid
  gw=$(port_of "$line")
  [ -n "$gw" ] || fail "no gateway port: $line"
  http_delete "$control" /stats
  timeout 60 "$bench" load --target "http://127.0.0.1:$gw/checkout" \
    --rate 20 --duration 3s --connections 16 --seed 11 --format json \
    --body '{"sku": "sku-1", "qty": 1, "order_id": "o-{run}-'"$policies"'-{seq}"}' \
    --report "$tmp/report-$policies" >"$tmp/load-$policies.json" \
    2>"$tmp/load-$policies.err" || fail "load ($policies) failed: $(cat "$tmp/load-$policies.err")"
  summary=$(grep '"type": "summary"' "$tmp/load-$policies.json")
  [ -n "$summary" ] || fail "no summary line ($policies)"
  grep -q '"type": "interval"' "$tmp/load-$policies.json" || fail "no interval lines ($policies)"
  requests=$(field requests "$summary")
  [ "$requests" -eq 60 ] || fail "expected 60 requests ($policies), got $requests"
  ok[$policies]=$(field ok "$summary")
  for f in load.csv load.md README.md; do
    [ -s "$tmp/report-$policies/$f" ] || fail "report-$policies/$f missing"
  done
  stats=$(http_get "$control" /stats)
  charge=$(echo "$stats" | grep -o '"charge":{[^}]*' | head -n 1)
  [ -n "$charge" ] || fail "no charge route in the proxy's stats: $stats"
  repeated[$policies]=$(echo "$charge" | grep -o '"repeated_keys":[0-9]*' | cut -d: -f2)
  duplicates[$policies]=$(echo "$charge" | grep -o '"duplicates":[0-9]*' | cut -d: -f2)
  echo "policies $policies: ok ${ok[$policies]} of $requests," \
       "charge retries seen by the proxy ${repeated[$policies]}," \
       "duplicates that reached payments ${duplicates[$policies]}"
  kill -TERM "$gw_pid"
  timeout 10 tail --pid="$gw_pid" -f /dev/null || fail "gateway did not stop"
done

[ "${ok[on]}" -gt "${ok[off]}" ] || fail "policies on completed ${ok[on]}, off ${ok[off]}"
[ "${repeated[on]}" -gt 0 ] || fail "with policies on no charge was retried"
[ "${repeated[off]}" -eq 0 ] || fail "with policies off a charge was retried"
[ "${duplicates[on]}" -eq 0 ] && [ "${duplicates[off]}" -eq 0 ] \
  || fail "a charge key reached payments twice"
echo "walk-through ok"
