#!/usr/bin/env bash
# Formats (default) or checks (--check) every C/C++ source of the project with .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-fix}
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.cc' '*.h' '*.c' \
  | grep -v '^tests/fuzz/corpus/' || true)
[ ${#files[@]} -eq 0 ] && exit 0
if [ "$mode" = "--check" ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/raind-format.$$; then
    echo "format drift in:" >&2
    grep -o '^[^:]*:' /tmp/raind-format.$$ | sort -u | sed 's/:$//;s/^/  /' >&2
    rm -f /tmp/raind-format.$$
    echo "run scripts/format.sh to fix" >&2
    exit 1
  fi
  rm -f /tmp/raind-format.$$
  echo "format: ${#files[@]} files clean"
else
  clang-format -i "${files[@]}"
fi
