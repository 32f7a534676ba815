#!/usr/bin/env bash
# Installs every dependency (Debian packages), builds Raind and runs the whole default test suite
# (labels unit, privileged, integration, conformance; benchmarks and soak tests are separate:
# tests/bench/run-all.sh) twice: on the release build, then on the ASan+UBSan build (build-asan).
# Needs root: containers, namespaces, iptables and cgroups are real.
#   sudo scripts/test.sh            # everything
#   sudo scripts/test.sh -L unit    # extra arguments go to ctest (both passes)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (sudo scripts/test.sh): the tests create real containers" >&2
  exit 1
fi

echo "== bootstrap (Debian packages)"
bash scripts/bootstrap.sh

echo "== format check"
bash scripts/format.sh --check

rc=0
summaries=()
tmp_files=()
trap 'rm -f "${tmp_files[@]}"' EXIT

# run_pass NAME BUILD_DIR [ctest args...]: the default selection on one build tree, then the
# host-cleanliness check; appends one plain summary line (counts of CTest entries, each entry a
# whole suite) and folds a failure into rc.
run_pass() {
  local name=$1 dir=$2
  shift 2
  local log before pass_rc
  log=$(mktemp /tmp/raind-ctest.XXXXXX)
  before=$(mktemp /tmp/raind-host.XXXXXX)
  tmp_files+=("$log" "$before")
  echo "== tests ($name)"
  bash scripts/check-host-clean.sh snapshot "$before"
  set +e
  ctest --test-dir "$dir" --output-on-failure -LE 'bench|soak|reference|fuzz' --timeout 900 "$@" \
    2>&1 | tee "$log"
  pass_rc=${PIPESTATUS[0]}
  set -e
  echo "== host cleanliness ($name)"
  if ! bash scripts/check-host-clean.sh compare "$before"; then
    pass_rc=1
  fi
  [ "$pass_rc" -eq 0 ] || rc=1
  local passed failed skipped
  passed=$(grep -cE 'Test +#[0-9]+: .* Passed' "$log" || true)
  failed=$(grep -cE 'Test +#[0-9]+: .*(\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run)' "$log" || true)
  skipped=$(grep -cE 'Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
  summaries+=("ctest ($name): ${passed} passed, ${failed} failed, ${skipped} skipped")
}

echo "== build (release)"
release_dir=$(bash scripts/build.sh release | tail -n 1)
run_pass release "$release_dir" "$@"

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (Debug, -fno-sanitize-recover):
# any memory error, leak or undefined behaviour in a Raind program fails its test.
echo "== build (asan+ubsan)"
if asan_dir=$(bash scripts/build.sh asan | tail -n 1); then
  run_pass asan+ubsan "$asan_dir" "$@"
else
  rc=1
  summaries+=("ctest (asan+ubsan): not run, the build failed")
fi

printf '%s\n' "${summaries[@]}"
exit "$rc"
