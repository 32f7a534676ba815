#!/usr/bin/env bash
# Configures and builds Raind. Usage: scripts/build.sh [release|asan] (default release).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DRAIND_SANITIZE=ON -DRAIND_BUILD_BENCH=OFF) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
werror=ON
[ "${RAIND_WERROR:-}" = "0" ] && werror=OFF
cmake -G Ninja -S . -B "$dir" "${args[@]}" -DRAIND_WERROR=$werror >/dev/null
ninja -C "$dir" -j"$(nproc)"
echo "$dir"
