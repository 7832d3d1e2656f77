#!/usr/bin/env bash
# bulwark-config behaves like `nginx -t`: ok/0, errors/1, unreadable/2, and
# `defaults` prints a document that `check` accepts.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" defaults > "$tmp/defaults.json" || fail "defaults exited $?"
out=$("$bin" check "$tmp/defaults.json"); rc=$?
[ $rc -eq 0 ] && [ "$out" = "ok" ] || fail "defaults not accepted: rc=$rc out=$out"

printf '{"dependencies": {"p": {"idempotency": "twice", "bogus": 1}}}' > "$tmp/bad.json"
out=$("$bin" check "$tmp/bad.json"); rc=$?
[ $rc -eq 1 ] || fail "bad config exit code $rc"
expected='/dependencies/p/bogus: unknown key'
case "$out" in *"$expected"*) ;; *) fail "missing '$expected' in: $out" ;; esac
case "$out" in *'/dependencies/p/idempotency: must be one of'*) ;; *) fail "missing idempotency error in: $out" ;; esac

"$bin" check "$tmp/does-not-exist.json" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unreadable file exit code $rc"

printf '{"dependencies": ' > "$tmp/truncated.json"
out=$("$bin" check "$tmp/truncated.json"); rc=$?
[ $rc -eq 1 ] || fail "truncated file exit code $rc"
case "$out" in '(document): invalid JSON'*) ;; *) fail "truncated: $out" ;; esac

"$bin" bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown command exit code $rc"
echo "bulwark-config cli: all checks passed"
