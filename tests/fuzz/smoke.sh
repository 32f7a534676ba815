#!/usr/bin/env bash
# CTest smoke run of one libFuzzer target: a few seconds over its checked-in seeds.
# Usage: smoke.sh <fuzzer> <scratch corpus dir> <seed dir> <seconds> [dictionary]
# New inputs go to the scratch dir (libFuzzer writes only to the first corpus dir), crash
# artifacts next to it; the seed dir is only read.
set -euo pipefail
fuzzer=$1 scratch=$2 seeds=$3 seconds=$4
dict=()
[ $# -ge 5 ] && dict=(-dict="$5")
rm -rf "$scratch" "$scratch.artifacts"
mkdir -p "$scratch" "$scratch.artifacts"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  ${dict[@]+"${dict[@]}"} -artifact_prefix="$scratch.artifacts/" "$scratch" "$seeds"
