#!/usr/bin/env bash
# The project's layering rules, checked on every test run:
# - runtime/ is pure: no CAF header, no clock reads, no threads, no sleeping;
# - tests neither sleep nor read a real clock (virtual time only).
set -u
root=$1
fail=0
check() { # check DESCRIPTION PATTERN DIR
  local hits
  hits=$(grep -rnE "$2" "$root/$3" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "FAIL: $1:"
    echo "$hits"
    fail=1
  fi
}
check "runtime/ includes CAF" '#include *[<"]caf/' runtime
check "runtime/ reads a clock" 'steady_clock::now|system_clock::now|high_resolution_clock::now' runtime
# (The patterns are split in two so that this script does not match itself.)
check "runtime/ uses threads or sleeps" 'std::thread|std::mutex|sle''ep_for|usle''ep\(' runtime
check "a test sleeps" 'sle''ep_for|usle''ep\(|[^_]sle''ep\(' tests/runtime tests/actors
check "a test reads a real clock" 'steady_clock::now|system_clock::now|high_resolution_clock::now' tests/runtime tests/actors
[ $fail -eq 0 ] && echo "purity: runtime/ is pure and tests use virtual time"
exit $fail
