#!/usr/bin/env bash
# Installs every dependency (Debian packages), builds Raind and runs the whole default test suite
# (labels unit, privileged, integration, conformance; benchmarks and soak tests are separate:
# tests/bench/run-all.sh, ctest -L soak). Needs root: containers, namespaces, iptables and
# cgroups are real. Passes, each reported on its own summary line:
#   release  the release build (what scripts/demo.sh and the benchmarks use), whole suite
#   fuzz     the libFuzzer targets (clang-16 tree build-fuzz), a few seconds each over their seeds
#   asan     the whole suite again on an ASan+UBSan build (build-asan)
# With the asan pass, its build starts right after the release build, at the lowest CPU priority:
# it takes the CPU the release suite leaves idle (most of its time goes to waiting on containers,
# timers and the network) and gives it back the moment a test wants it.
#   sudo scripts/test.sh                                  # all three
#   sudo RAIND_TEST_PASSES="release fuzz" scripts/test.sh
#   sudo RAIND_TEST_PASSES=release scripts/test.sh -L unit   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (sudo scripts/test.sh): the tests create real containers" >&2
  exit 1
fi
passes=${RAIND_TEST_PASSES:-release fuzz asan}

timings=()
# Wall time of each step, printed with the summaries: CI shows where its minutes went.
step_started=$SECONDS
timed() {
  timings+=("$(printf '%-30s %4d s' "$1" $((SECONDS - step_started)))")
  step_started=$SECONDS
}

echo "== bootstrap (Debian packages)"
bash scripts/bootstrap.sh

echo "== format check"
bash scripts/format.sh --check
timed "bootstrap and format check"

tmp=$(mktemp -d /tmp/raind-test.XXXXXX)
asan_build_pid=
trap '[ -z "$asan_build_pid" ] || kill -- "-$asan_build_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
rc=0
summaries=()

# One plain summary line with the counts of CTest entries (each entry is a whole suite).
summarise() {
  local name=$1 log=$2 passed failed skipped
  passed=$(grep -cE 'Test +#[0-9]+: .* Passed' "$log" || true)
  failed=$(grep -cE 'Test +#[0-9]+: .*(\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run)' "$log" || true)
  skipped=$(grep -cE 'Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
  summaries+=("ctest ($name): ${passed} passed, ${failed} failed, ${skipped} skipped")
}

# The default suite on one build tree, with the host checked for leftovers afterwards.
suite() {
  local name=$1 dir=$2 pass_rc
  shift 2
  echo "== tests ($name)"
  bash scripts/check-host-clean.sh snapshot "$tmp/host-$name"
  set +e
  ctest --test-dir "$dir" --output-on-failure -LE 'bench|soak|reference|fuzz' --timeout 1800 "$@" \
    2>&1 | tee "$tmp/ctest-$name.log"
  pass_rc=${PIPESTATUS[0]}
  set -e
  [ "$pass_rc" -eq 0 ] || rc=1
  echo "== host cleanliness ($name)"
  bash scripts/check-host-clean.sh compare "$tmp/host-$name" || rc=1
  summarise "$name" "$tmp/ctest-$name.log"
}

# The ASan+UBSan build in the background at nice 19 (see the top); its output goes to a log that
# is printed only if it fails.
start_asan_build() {
  echo "== build (asan+ubsan), in the background at the lowest priority"
  # Its own process group, so an early exit can stop the whole build (ninja and the compilers).
  setsid -w nice -n 19 bash -c 'bash scripts/build.sh asan; rc=$?; echo "$SECONDS" >"$1"; exit $rc' \
    _ "$tmp/build-asan.seconds" >"$tmp/build-asan.log" 2>&1 &
  asan_build_pid=$!
}
finish_asan_build() {
  [ -n "$asan_build_pid" ] || start_asan_build
  echo "== build (asan+ubsan): waiting for it"
  if ! wait "$asan_build_pid"; then
    asan_build_pid=
    cat "$tmp/build-asan.log" >&2
    echo "test.sh: the asan+ubsan build failed" >&2
    exit 1
  fi
  asan_build_pid=
  asan_dir=$(tail -n 1 "$tmp/build-asan.log")
  timed "wait for the asan+ubsan build"
  timings+=("$(printf '%-30s %4d s' "(asan+ubsan build, niced)" "$(cat "$tmp/build-asan.seconds")")")
}

for pass in $passes; do
  case "$pass" in
    release)
      echo "== build (release)"
      dir=$(bash scripts/build.sh release | tail -n 1)
      timed "build (release)"
      case " $passes " in *" asan "*) start_asan_build ;; esac
      suite release "$dir" "$@"
      timed "tests (release)"
      ;;
    fuzz)
      echo "== build (fuzz targets, clang-16)"
      dir=$(bash scripts/build.sh fuzz | tail -n 1)
      timed "build (fuzz)"
      echo "== fuzz smoke runs"
      set +e
      ctest --test-dir "$dir" --output-on-failure -L fuzz 2>&1 | tee "$tmp/ctest-fuzz.log"
      [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
      set -e
      summarise fuzz "$tmp/ctest-fuzz.log"
      timed "fuzz smoke runs"
      ;;
    asan)
      finish_asan_build
      suite asan+ubsan "$asan_dir" "$@"
      timed "tests (asan+ubsan)"
      ;;
    *) echo "test.sh: unknown pass '$pass' in RAIND_TEST_PASSES (release, fuzz, asan)" >&2; exit 2 ;;
  esac
done

printf '%s\n' "${timings[@]}"
printf 'total %d s\n' "$SECONDS"
printf '%s\n' "${summaries[@]}"
exit "$rc"
