#!/usr/bin/env bash
# Runs every benchmark (CTest label "bench") side by side with its peers and collects one report.
#   sudo tests/bench/run-all.sh [BUILD_DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build}
report=${REPORT:-$build/bench-report.txt}
ctest --test-dir "$build" -L bench --output-on-failure -V 2>&1 | tee "$report.log" \
  | sed -n 's/^[0-9]*: //p' > "$report"
echo "report: $report"
