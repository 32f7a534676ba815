#!/usr/bin/env bash
# Runs one test of a sanitized build and fails it when any sanitized process the test started left
# a report, also one whose exit status nobody checked. The reports are the files REPORT_PREFIX.*
# that ASAN_OPTIONS/UBSAN_OPTIONS log_path=REPORT_PREFIX produce (set per test by
# cmake/RaindHelpers.cmake); they are printed on stderr, so they show with the test's output.
#   scripts/sanitizer-reports.sh REPORT_PREFIX -- CMD [ARGS...]
# Exit status: the command's, or 1 when there are reports.
set -uo pipefail
prefix=$1
shift
[ "${1:-}" = "--" ] && shift
mkdir -p "$(dirname "$prefix")"
rm -f "$prefix".*

"$@"
rc=$?

shopt -s nullglob
reports=("$prefix".*)
if [ ${#reports[@]} -gt 0 ]; then
  for report in "${reports[@]}"; do
    echo "==== sanitizer report $report" >&2
    cat "$report" >&2
  done
  echo "sanitizer-reports: ${#reports[@]} report(s) from this test (exit status was $rc)" >&2
  exit 1
fi
exit "$rc"
