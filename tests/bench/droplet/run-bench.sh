#!/usr/bin/env bash
# Side-by-side benchmark of OCI runtimes on the same busybox bundle:
#   - whole-process `run` of /bin/true (create + start + wait + delete)
#   - create, start and delete timed separately
#   - peak RSS of the runtime process during `run`
#   - the floor: unshare + chroot of the same rootfs
# Prints medians (ms) and ratios against crun. Usage (root):
#   tests/bench/droplet/run-bench.sh [--runs N] [--droplet PATH] [--out FILE]
# crun 1.8.1 rejects this host's hybrid cgroup layout, so it runs in a private mount namespace
# where /sys/fs/cgroup/unified is hidden under a tmpfs (the layout it then sees is pure v1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
runs=${RUNS:-50}
droplet="${RAIND_BIN_DIR:-$repo/build/bin}/droplet"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --droplet) droplet=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run-bench.sh: needs root" >&2; exit 1; }
for tool in hyperfine jq runc crun unshare; do
  command -v "$tool" >/dev/null || { echo "run-bench.sh: missing $tool (run scripts/bootstrap.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/raind-bench.XXXXXX)
cgparent="raind-bench-$$"
cleanup() {
  for rt in droplet runc crun; do
    [ -d "$work/root-$rt" ] || continue
    for id in $(ls "$work/root-$rt" 2>/dev/null); do
      case $rt in
        droplet) "$droplet" --root "$work/root-$rt" delete --force "$id" >/dev/null 2>&1 || true ;;
        *) $rt --root "$work/root-$rt" delete --force "$id" >/dev/null 2>&1 || true ;;
      esac
    done
  done
  # Remove the cgroups the runtimes made (deepest first), in every hierarchy: runc and crun
  # also use name=systemd and the unified one.
  while read -r mp; do
    find "$mp" -maxdepth 5 -type d -name "$cgparent" 2>/dev/null | while read -r d; do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done < <(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts)
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

bash "$repo/scripts/build-test-image.sh" "$work/image" >/dev/null
bundle="$work/bundle"
mkdir -p "$bundle"
cp -a "$work/image/rootfs" "$bundle/rootfs"
# The same minimal config for every runtime: /bin/true, five namespaces, a memory+pids limit.
jq --arg cg "$cgparent/bench" '
  .ociVersion = "1.0.2" | .process.args = ["/bin/true"] | .process.terminal = false |
  .linux.cgroupsPath = $cg |
  .linux.resources = {"memory": {"limit": 268435456}, "pids": {"limit": 512},
                      "devices": [{"allow": false, "access": "rwm"}]}' \
  "$work/image/bundle/config.json" > "$bundle/config.json"

runtime_cmd() {  # runtime_cmd NAME -> prints the command prefix
  case $1 in
    droplet) echo "$droplet --root $work/root-droplet" ;;
    runc) echo "runc --root $work/root-runc" ;;
    crun) echo "crun --root $work/root-crun" ;;
  esac
}
wrap() {  # crun needs the unified hierarchy hidden
  if [ "$1" = crun ]; then
    echo "unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec \"\$0\" \"\$@\"'"
  fi
}

median_ms() { jq -r '.results[0].times | sort | .[length/2|floor] * 1000' "$1"; }

declare -A run_ms create_ms start_ms delete_ms rss_kb
runtimes=(droplet crun runc)
[ -x "$droplet" ] || { echo "droplet not found at $droplet; measuring peers only" >&2; runtimes=(crun runc); }

cd "$bundle"
for rt in "${runtimes[@]}"; do
  mkdir -p "$work/root-$rt"
  cmd=$(runtime_cmd "$rt")
  if [ "$rt" = crun ]; then
    # One private mount namespace for the whole crun measurement.
    inner="mount -t tmpfs none /sys/fs/cgroup/unified && cd $bundle && "
    run_cmd="unshare -m --propagation private sh -c '${inner}hyperfine -N --warmup 3 --runs $runs --export-json $work/$rt-run.json \"$cmd run -b $bundle bench-run\"'"
    eval "$run_cmd" >/dev/null
    eval "unshare -m --propagation private sh -c '${inner}hyperfine -N --runs $runs --export-json $work/$rt-create.json --prepare \"$cmd delete --force bench-c\" \"$cmd create -b $bundle bench-c\"; $cmd delete --force bench-c'" >/dev/null 2>&1
    eval "unshare -m --propagation private sh -c '${inner}hyperfine -N --runs $runs --export-json $work/$rt-start.json --prepare \"sh -c \\\"$cmd delete --force bench-s >/dev/null 2>&1; $cmd create -b $bundle bench-s\\\"\" \"$cmd start bench-s\"; $cmd delete --force bench-s'" >/dev/null 2>&1
    eval "unshare -m --propagation private sh -c '${inner}hyperfine -N --runs $runs --export-json $work/$rt-delete.json --prepare \"$cmd create -b $bundle bench-d\" \"$cmd delete --force bench-d\"'" >/dev/null 2>&1
    rss_kb[$rt]=$(unshare -m --propagation private sh -c "${inner}/usr/bin/time -f %M $cmd run -b $bundle bench-rss 2>&1 >/dev/null | tail -n1")
  else
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/$rt-run.json" "$cmd run -b $bundle bench-run" >/dev/null
    hyperfine -N --runs "$runs" --export-json "$work/$rt-create.json" \
      --prepare "$cmd delete --force bench-c" "$cmd create -b $bundle bench-c" >/dev/null 2>&1
    $cmd delete --force bench-c >/dev/null 2>&1 || true
    hyperfine -N --runs "$runs" --export-json "$work/$rt-start.json" \
      --prepare "sh -c '$cmd delete --force bench-s >/dev/null 2>&1; $cmd create -b $bundle bench-s'" \
      "$cmd start bench-s" >/dev/null 2>&1
    $cmd delete --force bench-s >/dev/null 2>&1 || true
    hyperfine -N --runs "$runs" --export-json "$work/$rt-delete.json" \
      --prepare "$cmd create -b $bundle bench-d" "$cmd delete --force bench-d" >/dev/null 2>&1
    rss_kb[$rt]=$(/usr/bin/time -f %M $cmd run -b "$bundle" bench-rss 2>&1 >/dev/null | tail -n1)
  fi
  run_ms[$rt]=$(median_ms "$work/$rt-run.json")
  create_ms[$rt]=$(median_ms "$work/$rt-create.json")
  start_ms[$rt]=$(median_ms "$work/$rt-start.json")
  delete_ms[$rt]=$(median_ms "$work/$rt-delete.json")
done

# The floor: new namespaces + chroot + exec, no runtime.
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/floor.json" \
  "unshare -m -p -u -i -n -f chroot $bundle/rootfs /bin/true" >/dev/null
floor=$(median_ms "$work/floor.json")

{
  echo "OCI runtime benchmark ($(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), runs=$runs)"
  printf '%-8s %10s %10s %10s %10s %12s %10s\n' runtime run_ms create_ms start_ms delete_ms peak_rss_kb vs_crun
  for rt in "${runtimes[@]}"; do
    ratio=$(awk -v a="${run_ms[$rt]}" -v b="${run_ms[crun]}" 'BEGIN{printf "%.2fx", a/b}')
    printf '%-8s %10.1f %10.1f %10.1f %10.1f %12s %10s\n' "$rt" "${run_ms[$rt]}" "${create_ms[$rt]}" \
      "${start_ms[$rt]}" "${delete_ms[$rt]}" "${rss_kb[$rt]}" "$ratio"
  done
  printf '%-8s %10.1f   (unshare -m -p -u -i -n -f chroot rootfs /bin/true)\n' floor "$floor"
} | tee ${out:+"$out"}
