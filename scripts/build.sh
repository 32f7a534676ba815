#!/usr/bin/env bash
# Configures and builds Raind. Usage: scripts/build.sh [release|asan|fuzz] (default release).
# fuzz: clang-16 tree build-fuzz with only the libFuzzer targets (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DRAIND_SANITIZE=ON -DRAIND_BUILD_BENCH=OFF) ;;
  fuzz)
    dir=build-fuzz
    args=(-DCMAKE_BUILD_TYPE=Debug -DRAIND_BUILD_FUZZ=ON -DRAIND_BUILD_BENCH=OFF
      -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16)
    targets=(fuzz_targets)
    ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
werror=ON
[ "${RAIND_WERROR:-}" = "0" ] && werror=OFF
cmake -G Ninja -S . -B "$dir" "${args[@]}" -DRAIND_WERROR=$werror >/dev/null
ninja -C "$dir" -j"$(nproc)" ${targets[@]+"${targets[@]}"}
echo "$dir"
