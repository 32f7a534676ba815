#!/usr/bin/env bash
# Image pull benchmark, side by side with skopeo + umoci, from Debian's docker-registry on loopback:
#   - a generated image: LAYERS layers (default 5) of LAYER_MB MiB of incompressible data each
#     (default 20, ~100 MB in all), the busybox test rootfs in the first layer, built with umoci
#   - peer: `skopeo copy docker://… oci:…` then `umoci unpack`, fresh dirs every run
#   - raind: `raind image pull` through condenserd (images.insecure_registries,
#     max_concurrent_downloads 3), `raind image rm` + `raind image prune` between runs, then a
#     warm pull (image and layers present) and a pull after `image rm` alone (layers kept)
# Prints medians (ms) of RUNS runs (default 3) and the ratio raind/(skopeo+umoci), goal < 1.0.
# Runs inside scripts/sandbox.sh (own netns). Usage (root):
#   scripts/sandbox.sh --no-outside -- tests/bench/images/pull-bench.sh [--runs N] [TEST_IMAGE_DIR]
# TEST_IMAGE_DIR is the output of scripts/build-test-image.sh (built there if missing or stale;
# default: a fresh one in the bench's temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin="${RAIND_BIN_DIR:-$repo/build/bin}"
runs=${RUNS:-3}
layers=${LAYERS:-5}
layer_mb=${LAYER_MB:-20}
port=${BENCH_REGISTRY_PORT:-15500}
image_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) image_dir=$1; shift ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "pull-bench.sh: needs root" >&2; exit 1; }
[ -n "${RAIND_TEST_ROOT:-}" ] || { echo "pull-bench.sh: run it inside scripts/sandbox.sh" >&2; exit 1; }
for tool in umoci skopeo docker-registry jq bc curl; do
  command -v "$tool" >/dev/null || { echo "pull-bench.sh: missing $tool" >&2; exit 1; }
done
[ "$runs" -ge 1 ] 2>/dev/null || { echo "pull-bench.sh: --runs/RUNS must be >= 1" >&2; exit 2; }

work=$(mktemp -d "$RAIND_TEST_ROOT/pull-bench.XXXXXX")
registry=(env STATE="$work/registry" MODE=plain PORT="$port" bash "$repo/scripts/local-registry.sh")
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  "${registry[@]}" clean >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }
ms_since() { echo "($(now_ns) - $1) / 1000000" | bc -l; }
# Median of the numbers on stdin (the upper middle one for an even count, as in the other benches).
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int(NR / 2) + 1]}'; }

# --- the image: LAYERS layers, one `umoci repack` each ----------------------------------------
[ -n "$image_dir" ] || image_dir="$work/test-image"
bash "$repo/scripts/build-test-image.sh" "$image_dir" >/dev/null
layout="$work/layout"
gen_start=$(now_ns)
umoci init --layout "$layout"
umoci new --image "$layout:bench"
umoci unpack --rootless --image "$layout:bench" "$work/gen" >/dev/null
for i in $(seq 1 "$layers"); do
  if [ "$i" = 1 ]; then cp -a "$image_dir/rootfs/." "$work/gen/rootfs/"; fi
  d="$work/gen/rootfs/bench/layer$i"
  mkdir -p "$d/etc"
  head -c "${layer_mb}M" /dev/urandom > "$d/data.bin"
  for f in 1 2 3 4; do echo "layer $i small file $f" > "$d/etc/small$f.conf"; done
  ln -s data.bin "$d/data.link"
  umoci repack --refresh-bundle --image "$layout:bench" \
    --history.created_by "pull-bench layer $i" "$work/gen" >/dev/null
done
rm -rf "$work/gen"
umoci config --image "$layout:bench" --config.cmd /bin/sh \
  --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.workingdir / --author "raind pull bench"
gen_ms=$(ms_since "$gen_start")
manifest_digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "bench") | .digest' "$layout/index.json")
manifest="$layout/blobs/sha256/${manifest_digest#sha256:}"
layer_count=$(jq '.layers | length' "$manifest")
image_bytes=$(jq '[.layers[].size] | add' "$manifest")
image_mb=$(echo "$image_bytes / 1000000" | bc -l)

# --- the registry ---------------------------------------------------------------------------
"${registry[@]}" start >/dev/null
ref="127.0.0.1:$port/bench:latest"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$layout:bench" "docker://$ref"

# --- peer: skopeo copy + umoci unpack, fresh dirs each run ----------------------------------
: > "$work/peer-copy"; : > "$work/peer-unpack"; : > "$work/peer-total"
for i in $(seq 1 "$runs"); do
  dest="$work/peer/$i"
  mkdir -p "$dest"
  sync
  t0=$(now_ns)
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$dest/layout:bench"
  t1=$(now_ns)
  umoci unpack --image "$dest/layout:bench" "$dest/bundle" >/dev/null
  t2=$(now_ns)
  if [ ! -f "$dest/bundle/rootfs/bench/layer$layers/data.bin" ] ||
     [ ! -x "$dest/bundle/rootfs/bin/busybox" ]; then
    echo "pull-bench.sh: peer unpack incomplete" >&2; exit 1
  fi
  echo "($t1 - $t0) / 1000000" | bc -l >> "$work/peer-copy"
  echo "($t2 - $t1) / 1000000" | bc -l >> "$work/peer-unpack"
  echo "($t2 - $t0) / 1000000" | bc -l >> "$work/peer-total"
  rm -rf "$dest"
done
peer_copy_ms=$(median < "$work/peer-copy")
peer_unpack_ms=$(median < "$work/peer-unpack")
peer_ms=$(median < "$work/peer-total")

print_header() {
  echo "== pull of a $layer_count-layer image (${image_mb%.*} MB compressed) from a loopback registry, median of $runs =="
  printf '%-40s %8d\n' "nproc" "$(nproc)"
  printf '%-40s %8.1f ms  (not part of any figure)\n' "image generation (umoci)" "$gen_ms"
}
print_peer() {
  printf '%-40s %8.1f ms\n' "skopeo copy" "$peer_copy_ms"
  printf '%-40s %8.1f ms\n' "umoci unpack" "$peer_unpack_ms"
  printf '%-40s %8.1f ms  (%.0f MB/s)\n' "skopeo + umoci (total)" "$peer_ms" \
    "$(echo "$image_mb / ($peer_ms / 1000)" | bc -l)"
}
raind_failed() {
  print_header
  print_peer
  echo "== raind =="
  echo "raind image pull failed: $1"
  [ -s "${2:-/dev/null}" ] && sed 's/^/  /' "$2" | tail -n 20
  exit 1
}

# --- raind: condenserd with the images block ------------------------------------------------
cat > "$work/condenserd.yaml" <<CONF
state_dir: $work/state
run_dir: $work/run
log_dir: $work/log
pki_dir: $work/pki
log_level: warn
listen:
  management: 127.0.0.1:0
  hooks: 127.0.0.1:0
  ca: 127.0.0.1:0
runtime:
  cgroup_parent: ${RAIND_TEST_CGROUP_PARENT:-raind-bench}
images:
  insecure_registries: ["127.0.0.1:$port"]
  max_concurrent_downloads: 3
CONF
"$bin/condenserd" --config "$work/condenserd.yaml" >"$work/condenserd.out" 2>&1 &
daemon=$!
for _ in $(seq 1 300); do
  [ -s "$work/run/listeners.json" ] && break
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.05
done
if [ ! -s "$work/run/listeners.json" ]; then
  wait "$daemon" 2>/dev/null || true
  daemon=""
  raind_failed "condenserd did not start with the images config" "$work/condenserd.out"
fi
host="https://$(jq -r .management "$work/run/listeners.json")"
raind=("$bin/raind" --pki-dir "$work/pki" --host "$host")

# One timed pull, its time (ms) appended to file $1; its output (plain progress lines: stdout is
# not a terminal) goes to $work/pull.out.
timed_pull() {
  local t0 ms
  t0=$(now_ns)
  if ! "${raind[@]}" image pull "$ref" >"$work/pull.out" 2>&1; then
    raind_failed "'raind image pull $ref' exited non-zero" "$work/pull.out"
  fi
  ms=$(ms_since "$t0")
  echo "$ms" >> "$1"
}
forget_image() {
  "${raind[@]}" image rm "$ref" >"$work/rm.out" 2>&1 || raind_failed "'raind image rm $ref' failed" "$work/rm.out"
  if [ "${1:-}" = prune ]; then
    "${raind[@]}" image prune >"$work/prune.out" 2>&1 ||
      raind_failed "'raind image prune' failed" "$work/prune.out"
  fi
}

: > "$work/raind-cold"; : > "$work/raind-warm"; : > "$work/raind-relink"
for i in $(seq 1 "$runs"); do
  if [ "$i" -gt 1 ]; then forget_image prune; fi
  sync
  timed_pull "$work/raind-cold"
  if [ "$i" = 1 ]; then
    cp "$work/pull.out" "$work/pull-first.out"
    "${raind[@]}" image inspect "$ref" >"$work/inspect.json" 2>&1 ||
      raind_failed "the pulled image cannot be inspected" "$work/inspect.json"
  fi
done
# Warm: the image and every layer are present.
for _ in $(seq 1 "$runs"); do timed_pull "$work/raind-warm"; done
# Tag removed, layers kept (no prune): the pull should download nothing but the manifest.
for _ in $(seq 1 "$runs"); do forget_image; timed_pull "$work/raind-relink"; done
raind_ms=$(median < "$work/raind-cold")
warm_ms=$(median < "$work/raind-warm")
relink_ms=$(median < "$work/raind-relink")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status" 2>/dev/null || echo 0)

print_header
print_peer
printf '%-40s %8.1f ms  (%.0f MB/s)\n' "raind image pull (cold)" "$raind_ms" \
  "$(echo "$image_mb / ($raind_ms / 1000)" | bc -l)"
printf '%-40s %8.2fx  (goal: < 1.0x)\n' "raind / (skopeo + umoci)" "$(echo "$raind_ms / $peer_ms" | bc -l)"
printf '%-40s %8.1f ms\n' "raind image pull (warm, all present)" "$warm_ms"
printf '%-40s %8.1f ms\n' "raind image pull (after rm, no prune)" "$relink_ms"
printf '%-40s %8.1f MiB\n' "condenserd peak RSS" "$(echo "$hwm_kb / 1024" | bc -l)"
echo "== summary (ms) =="
printf '%-10s %10s %10s %10s %10s\n' "run" "skopeo" "umoci" "peer" "raind"
paste "$work/peer-copy" "$work/peer-unpack" "$work/peer-total" "$work/raind-cold" |
  awk '{printf "%-10d %10.1f %10.1f %10.1f %10.1f\n", NR, $1, $2, $3, $4}'
printf '%-10s %10.1f %10.1f %10.1f %10.1f\n' "median" "$peer_copy_ms" "$peer_unpack_ms" "$peer_ms" "$raind_ms"
echo "first pull's output (last lines):"
tail -n 5 "$work/pull-first.out" | sed 's/^/  /'
