#!/usr/bin/env bash
# Installs every dependency (Debian packages), builds Raind and runs the whole default test suite
# (labels unit, privileged, integration, conformance; benchmarks and soak tests are separate:
# tests/bench/run-all.sh). Needs root: containers, namespaces, iptables and cgroups are real.
#   sudo scripts/test.sh            # everything
#   sudo scripts/test.sh -L unit    # extra arguments go to ctest
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

echo "== build"
build_dir=$(bash scripts/build.sh release | tail -n 1)

echo "== tests"
log=$(mktemp /tmp/raind-ctest.XXXXXX)
before=$(mktemp /tmp/raind-host.XXXXXX)
trap 'rm -f "$log" "$before"' EXIT
bash scripts/check-host-clean.sh snapshot "$before"
set +e
ctest --test-dir "$build_dir" --output-on-failure -LE 'bench|soak|reference' --timeout 900 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

echo "== host cleanliness"
if ! bash scripts/check-host-clean.sh compare "$before"; then
  rc=1
fi

# One plain summary line with the counts of CTest entries (each entry is a whole suite).
passed=$(grep -cE 'Test +#[0-9]+: .* Passed' "$log" || true)
failed=$(grep -cE 'Test +#[0-9]+: .*(\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run)' "$log" || true)
skipped=$(grep -cE 'Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
echo "ctest: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
