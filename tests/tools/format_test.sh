#!/usr/bin/env bash
# Every C++ file of the project is formatted with the repository's
# .clang-format (Debian 12's clang-format 14, installed by ./bulwark). Prints
# each file that is not, and the command that fixes it.
set -u
root=$1
cd "$root" || exit 1
if ! command -v clang-format >/dev/null; then
  echo "FAIL: clang-format is not installed (./bulwark installs it)"
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.hpp')
else
  files=$(find runtime actors tools bench examples tests \
    -name '*.cpp' -o -name '*.hpp')
fi
# One clang-format process for the whole tree; it names each file it would
# change ("FILE:LINE:COL: error: code should be clang-formatted").
out=$(echo "$files" | xargs clang-format --dry-run --Werror 2>&1)
if [ $? -ne 0 ]; then
  bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' \
    | sort -u)
  echo "FAIL: not formatted with .clang-format:"
  printf '%s\n' "$bad" | sed 's/^/  /'
  echo "fix: clang-format -i" $bad
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files formatted with .clang-format"
