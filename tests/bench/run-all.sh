#!/usr/bin/env bash
# Runs every benchmark (CTest label "bench") one after the other, each side by side with its
# peers (runc/crun, podman, skopeo+umoci, dnsmasq, the original's iptables approach), and writes
# one Markdown report: the machine, the versions of Raind and every peer, then each benchmark's
# figures as it printed them, its wall time and whether it completed.
#   sudo tests/bench/run-all.sh [BUILD_DIR] [-R REGEX]
#   REPORT=/path/report.md   where the report goes (default BUILD_DIR/bench-report.md)
#   QUICK=1                  fewer runs/shorter phases (a smoke of the harness, not figures)
# Benchmarks assert correctness only; the figures are information, compared in
# docs/performance.md. Run on a quiet machine: anything else running skews every ratio.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build
filter=
while [ $# -gt 0 ]; do
  case "$1" in
    -R) filter=$2; shift 2 ;;
    -*) echo "usage: $0 [BUILD_DIR] [-R REGEX]" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run-all.sh: needs root (benchmarks run real containers)" >&2; exit 1; }
[ -d "$build" ] || { echo "run-all.sh: no build tree at $build (scripts/build.sh release)" >&2; exit 1; }
report=${REPORT:-$build/bench-report.md}
logdir=$(mktemp -d /tmp/raind-bench-logs.XXXXXX)

if [ "${QUICK:-0}" = 1 ]; then
  # Each harness's own knobs, set low: proves the harness end to end in minutes.
  export RUNS=2 CONCURRENT=5 DURATION=2 RAIND_BENCH_REQUESTS=500
fi

mapfile -t benches < <(ctest --test-dir "$build" -N -L bench ${filter:+-R "$filter"} |
  sed -n 's/^ *Test *#[0-9]*: //p')
[ ${#benches[@]} -gt 0 ] || { echo "run-all.sh: no benchmark matched" >&2; exit 1; }

version() { "$@" 2>/dev/null | head -n 1 || echo "not installed"; }
{
  echo "# Raind benchmark report"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- cgroups: $( [ -f /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo 'v1 (hybrid)')"
  echo "- raind: $(version "$build/bin/droplet" --version | tr -d '\n')"
  echo "- peers: runc $(version runc --version | awk '{print $3}'), crun $(version crun --version | awk '{print $3}'),"\
       "podman $(version podman --version | awk '{print $3}'), skopeo $(version skopeo --version | awk '{print $3}'),"\
       "umoci $(version umoci --version | awk '{print $3}'), dnsmasq $(version dnsmasq --version | awk '{print $3}'),"\
       "dnsperf $(version dnsperf -h 2>&1 | grep -o 'DNSPerf [0-9.]*' | awk '{print $2}'),"\
       "iptables $(version iptables --version | awk '{print $2, $3}')"
  [ "${QUICK:-0}" = 1 ] && echo "- QUICK=1: harness smoke, the figures below are not comparable"
  echo
} > "$report"

failed=0
for name in "${benches[@]}"; do
  echo "== $name"
  start=$(date +%s)
  set +e
  ctest --test-dir "$build" -R "^${name}\$" --output-on-failure -V > "$logdir/$name.log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  status=completed
  if [ $rc -ne 0 ]; then status="FAILED (exit $rc)"; failed=$((failed + 1)); fi
  {
    echo "## $name"
    echo
    echo "$status in ${secs} s; full log: $logdir/$name.log"
    echo
    echo '```'
    # CTest prefixes the test's own output with "<n>: "; keep only that output.
    sed -n 's/^[0-9]*: //p' "$logdir/$name.log" | grep -vE '^(Test command|Working Directory|Environment variables|Test timeout computed)' |
      grep -vE '^ *(RAIND_|PATH=)' || true
    echo '```'
    echo
  } >> "$report"
  echo "   $status in ${secs} s"
done

echo "report: $report (${#benches[@]} benchmarks, $failed failed; logs in $logdir)"
[ $failed -eq 0 ]
