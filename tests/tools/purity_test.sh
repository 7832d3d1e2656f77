#!/usr/bin/env bash
# The project's layering rules, checked on every test run:
# - bulwark/runtime/ is pure: no CAF header, no clock reads, no threads, no sleeping;
# - tests never sleep, and read no real clock (virtual time only) except in
#   files that talk to real sockets or processes and say so, with the reason,
#   in a line containing "purity: real time" (a real Prometheus server, a
#   child process, a deadline header read against the wall clock).
set -u
root=$1
fail=0
exempt="purity: real ti""me" # split so that this script does not match itself
check() { # check DESCRIPTION PATTERN DIR...
  local what=$1 pattern=$2 hits="" dir files
  shift 2
  for dir in "$@"; do
    files=$(grep -rlE "$pattern" "$root/$dir" 2>/dev/null)
    for f in $files; do
      case "$what" in
        "a test reads a real clock") grep -q "$exempt" "$f" && continue ;;
      esac
      hits="$hits$(grep -nE "$pattern" "$f" | sed "s|^|$f:|")
"
    done
  done
  hits=$(printf '%s' "$hits" | sed '/^$/d')
  if [ -n "$hits" ]; then
    echo "FAIL: $what:"
    echo "$hits"
    fail=1
  fi
}
check "bulwark/runtime/ includes CAF" '#include *[<"]caf/' src/bulwark/runtime
check "bulwark/runtime/ reads a clock" 'steady_clock::now|system_clock::now|high_resolution_clock::now' src/bulwark/runtime
# (The patterns are split in two so that this script does not match itself.)
check "bulwark/runtime/ uses threads or sleeps" 'std::thread|std::mutex|sle''ep_for|usle''ep\(' src/bulwark/runtime
# The bench's models (bench/model) are pure too: virtual time only.
check "bench/model/ includes CAF" '#include *[<"]caf/' bench/model
check "bench/model/ reads a clock" 'steady_clock::now|system_clock::now|high_resolution_clock::now' bench/model
check "bench/model/ uses threads or sleeps" 'std::thread|std::mutex|sle''ep_for|usle''ep\(' bench/model
check "a test sleeps" 'sle''ep_for|usle''ep\(|[^_]sle''ep\(' tests/runtime tests/actors tests/tools tests/bench
check "a test reads a real clock" 'steady_clock::now|system_clock::now|high_resolution_clock::now' tests/runtime tests/actors tests/tools tests/bench
[ $fail -eq 0 ] && echo "purity: bulwark/runtime/ and bench/model/ are pure and tests use virtual time"
exit $fail
