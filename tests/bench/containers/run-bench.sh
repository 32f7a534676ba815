#!/usr/bin/env bash
# End-to-end container start benchmark, side by side with podman, on the same busybox image:
#   - `raind container run --rm busybox true` (CLI → condenserd → droplet, network, hooks)
#   - `podman run --rm --network none busybox true` (podman's own runtime, crun)
#   - 50 containers started concurrently with `raind container run -d`, then condenserd's RSS
# Prints medians (ms) and the ratio raind/podman. Runs inside scripts/sandbox.sh (own netns,
# cgroup parent). Usage (root): scripts/sandbox.sh -- tests/bench/containers/run-bench.sh [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin="${RAIND_BIN_DIR:-$repo/build/bin}"
runs=${RUNS:-20}
concurrent=${CONCURRENT:-50}
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --concurrent) concurrent=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run-bench.sh: needs root" >&2; exit 1; }
[ -n "${RAIND_TEST_ROOT:-}" ] || { echo "run-bench.sh: run it inside scripts/sandbox.sh" >&2; exit 1; }
for tool in hyperfine jq; do
  command -v "$tool" >/dev/null || { echo "run-bench.sh: missing $tool" >&2; exit 1; }
done

work=$(mktemp -d "$RAIND_TEST_ROOT/bench.XXXXXX")
bash "$repo/scripts/build-test-image.sh" "$work/image" >/dev/null
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
CONF
"$bin/condenserd" --config "$work/condenserd.yaml" >"$work/condenserd.out" 2>&1 &
daemon=$!
for _ in $(seq 1 300); do [ -s "$work/run/listeners.json" ] && break; sleep 0.05; done
host="https://$(jq -r .management "$work/run/listeners.json")"
raind=("$bin/raind" --pki-dir "$work/pki" --host "$host")
cleanup() {
  for id in $("${raind[@]}" container ls -a -q 2>/dev/null); do
    "${raind[@]}" container rm -f "$id" >/dev/null 2>&1 || true
  done
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  if [ -n "${podman_ready:-}" ]; then "${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true; fi
  rm -rf "$work" "${runroot:-}"
}
trap cleanup EXIT INT TERM
"${raind[@]}" image import "$work/image/busybox-oci.tar" --name busybox:latest >/dev/null

median_ms() { jq -r '.results[0].times | sort | .[length/2|floor] * 1000' "$1"; }

hyperfine --runs "$runs" --warmup 2 -N --export-json "$work/raind.json" \
  "${raind[*]} container run --rm busybox:latest true" >/dev/null
# (the raind command line includes the mTLS client start-up of the CLI, like podman's own)
raind_ms=$(median_ms "$work/raind.json")

podman_ms=""
podman_runc_ms=""
if command -v podman >/dev/null; then
  cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$work/containers.conf"
  runroot=$(mktemp -d /tmp/rbp.XXXXXX)
  P=(podman --root "$work/podman" --runroot "$runroot" --storage-driver vfs
     --cgroup-manager cgroupfs --tmpdir "$work/ptmp")
  "${P[@]}" load -i "$work/image/busybox-docker-archive.tar" >/dev/null 2>&1 || true
  podman_image=$("${P[@]}" images --format '{{.ID}}' | head -n1)
  podman_ready=1
  # crun (podman's runtime here) refuses this host's hybrid cgroup layout unless the unified
  # hierarchy is hidden: a private mount namespace per run, as the droplet bench does for crun.
  hide_unified="unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified 2>/dev/null; exec \"\$0\" \"\$@\"'"
  podman_cmd="$hide_unified ${P[*]} run --rm --network none $podman_image true"
  if [ -n "$podman_image" ] && sh -c "$podman_cmd" >/dev/null 2>"$work/podman.err"; then
    hyperfine --runs "$runs" --warmup 2 --export-json "$work/podman.json" "$podman_cmd" >/dev/null
    podman_ms=$(median_ms "$work/podman.json")
  else
    echo "podman could not run the image: $(tail -n 1 "$work/podman.err")"
  fi
  # runc as podman's runtime needs no workaround.
  if command -v runc >/dev/null &&
     "${P[@]}" run --rm --runtime runc --network none "$podman_image" true >/dev/null 2>&1; then
    hyperfine --runs "$runs" --warmup 2 -N --export-json "$work/podman-runc.json" \
      "${P[*]} run --rm --runtime runc --network none $podman_image true" >/dev/null
    podman_runc_ms=$(median_ms "$work/podman-runc.json")
  fi
fi

# 50 at once: wall time until every `run -d` returned, then condenserd's resident memory.
start=$(date +%s%N)
for i in $(seq 1 "$concurrent"); do
  "${raind[@]}" container run -d busybox:latest sleep 600 >/dev/null 2>>"$work/concurrent.err" &
done
wait_fail=0
for job in $(jobs -p); do [ "$job" = "$daemon" ] && continue; wait "$job" || wait_fail=$((wait_fail + 1)); done
end=$(date +%s%N)
running=$("${raind[@]}" container ls -q | wc -l)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$daemon/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status")

echo "== raind container run --rm busybox true, median of $runs =="
printf '%-28s %8.1f ms\n' "raind (condenserd+droplet)" "$raind_ms"
if [ -n "$podman_ms" ]; then
  printf '%-28s %8.1f ms\n' "podman (crun)" "$podman_ms"
  printf '%-28s %8.2fx  (goal: < 0.5x)\n' "raind / podman" "$(echo "$raind_ms / $podman_ms" | bc -l)"
else
  echo "podman: not available or could not run the image"
fi
if [ -n "$podman_runc_ms" ]; then
  printf '%-28s %8.1f ms\n' "podman (runc)" "$podman_runc_ms"
  printf '%-28s %8.2fx\n' "raind / podman (runc)" "$(echo "$raind_ms / $podman_runc_ms" | bc -l)"
fi
echo "== $concurrent containers started concurrently =="
printf '%-28s %8.1f ms  (%d running, %d failed)\n' "wall time" \
  "$(echo "($end - $start) / 1000000" | bc -l)" "$running" "$wait_fail"
printf '%-28s %8.1f MiB (peak %.1f MiB)\n' "condenserd RSS" "$(echo "$rss_kb / 1024" | bc -l)" \
  "$(echo "$hwm_kb / 1024" | bc -l)"
