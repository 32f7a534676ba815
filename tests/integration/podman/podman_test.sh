#!/usr/bin/env bash
# A real OCI client drives droplet: podman 4 (Debian) with --runtime pointing at droplet runs the
# busybox test image. Checks run --rm output and exit codes, -it with a terminal (console socket),
# exec, stop, kill, pause/unpause, --memory (OOM kill) and --pids-limit (fork limit).
# Usage: podman_test.sh IMAGE_DIR   (env RAIND_OCI_RUNTIME overrides the runtime under test)
# Runs inside scripts/sandbox.sh (private netns; podman uses --network none).
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman not installed"; exit 77; }
image_dir=$1
runtime=${RAIND_OCI_RUNTIME:-$RAIND_BIN_DIR/droplet}
[ -x "$runtime" ] || { echo "FAIL: runtime $runtime not found"; exit 1; }

work=$(mktemp -d "${RAIND_TEST_ROOT:-/tmp}/podman.XXXXXX")
# Root here lacks CAP_SYS_RESOURCE: podman must not ask for rlimits above the current hard limits.
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$work/containers.conf"
# Containers' cgroups nest under our own memory cgroup (the other v1 hierarchies put us at /).
own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
[ -n "$own" ] || own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
cg_parent="${own%/}/raind-podman-$$"
# podman refuses a runroot path longer than 50 characters.
runroot=$(mktemp -d /tmp/rpd.XXXXXX)
# Which levels of the parent path exist before us, per hierarchy: cleanup removes only the
# directories this test caused to be created.
declare -A existed
for h in /sys/fs/cgroup/*/; do
  p=""
  for part in ${cg_parent//\// }; do
    p="$p/$part"
    [ -d "$h${p#/}" ] && existed["$h${p#/}"]=1
  done
done
P=(podman --root "$work/root" --runroot "$runroot" --storage-driver vfs --runtime "$runtime"
   --cgroup-manager cgroupfs --tmpdir "$work/tmp")
RUN_OPTS=(--network none --cgroup-parent "$cg_parent")

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cleanup() {
  "${P[@]}" rm -af -t 0 >/dev/null 2>&1
  "${P[@]}" system reset -f >/dev/null 2>&1
  # Remove the cgroups created for our containers (deepest first), and the path segments we
  # had to create in hierarchies where we sit at the root.
  for h in /sys/fs/cgroup/*/; do
    d="$h${cg_parent#/}"
    # Exiting container processes keep their cgroups busy for a moment: retry briefly.
    for _ in $(seq 1 40); do
      [ -d "$d" ] || break
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      sleep 0.05
    done
    # Intermediate levels created in hierarchies where our own cgroup is the root.
    p="${cg_parent#/}"
    while [ "$p" != "." ] && [ -n "$p" ]; do
      p=$(dirname "$p")
      [ "$p" = "." ] && break
      [ -z "${existed[$h$p]:-}" ] && [ -d "$h$p" ] && rmdir "$h$p" 2>/dev/null
    done
  done
  rm -rf "$work" "$runroot"
}
trap cleanup EXIT

"${P[@]}" load -q -i "$image_dir/busybox-docker-archive.tar" >/dev/null || { fail "podman load"; exit 1; }
img=$("${P[@]}" images -q | head -n1)
[ -n "$img" ] || { fail "no image after load"; exit 1; }

# 1. run --rm: output and exit code propagated.
out=$("${P[@]}" run --rm "${RUN_OPTS[@]}" "$img" sh -c 'echo hello-from-droplet; exit 7' 2>&1); rc=$?
[ "$rc" -eq 7 ] && [[ "$out" == *hello-from-droplet* ]] && pass "run --rm output and exit 7" || fail "run --rm: rc=$rc out=$out"
out=$("${P[@]}" run --rm "${RUN_OPTS[@]}" "$img" cat /proc/1/cmdline 2>&1 | tr '\0' ' ')
[[ "$out" == "cat /proc/1/cmdline"* ]] && pass "the process is pid 1 in its own pid namespace" || fail "pid 1: $out"

# 2. -it with a terminal: podman hands droplet a console socket; script(1) provides our pty.
out=$(script -qec "${P[*]} run --rm -it ${RUN_OPTS[*]} $img sh -c 'tty; stty size; echo tty-ok'" /dev/null 2>&1 < <(sleep 20) | tr -d '\r')
[[ "$out" == *"/dev/pts/0"* && "$out" == *tty-ok* ]] && pass "run -it gets a terminal" || fail "run -it: $out"

# 3. detached container: exec, pause/unpause, stop.
cid=$("${P[@]}" run -d "${RUN_OPTS[@]}" "$img" sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done')
[ -n "$cid" ] && pass "run -d" || fail "run -d"
out=$("${P[@]}" exec "$cid" sh -c 'echo exec-ok; exit 3' 2>&1); rc=$?
[ "$rc" -eq 3 ] && [[ "$out" == *exec-ok* ]] && pass "exec output and exit code" || fail "exec: rc=$rc out=$out"
out=$(script -qec "${P[*]} exec -it $cid sh -c 'tty'" /dev/null 2>&1 < <(sleep 20) | tr -d '\r')
[[ "$out" == */dev/pts/* ]] && pass "exec -it gets a terminal" || fail "exec -it: $out"
"${P[@]}" pause "$cid" >/dev/null 2>&1 && [ "$("${P[@]}" inspect -f '{{.State.Status}}' "$cid")" = paused ] \
  && pass "pause" || fail "pause: $("${P[@]}" inspect -f '{{.State.Status}}' "$cid" 2>&1)"
"${P[@]}" unpause "$cid" >/dev/null 2>&1 && [ "$("${P[@]}" inspect -f '{{.State.Status}}' "$cid")" = running ] \
  && pass "unpause" || fail "unpause"
"${P[@]}" stop -t 5 "$cid" >/dev/null 2>&1; st=$("${P[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$cid")
[ "$st" = "exited 0" ] && pass "stop (SIGTERM handled, exit 0)" || fail "stop: $st"
"${P[@]}" rm "$cid" >/dev/null 2>&1

# 4. kill.
cid=$("${P[@]}" run -d "${RUN_OPTS[@]}" "$img" sleep 300)
"${P[@]}" kill -s KILL "$cid" >/dev/null 2>&1; "${P[@]}" wait "$cid" >/dev/null 2>&1
st=$("${P[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$cid")
[ "$st" = "exited 137" ] && pass "kill -s KILL" || fail "kill: $st"
"${P[@]}" rm "$cid" >/dev/null 2>&1

# 5. limits: --memory OOM-kills an allocation beyond it; --pids-limit stops forks.
out=$("${P[@]}" run --rm "${RUN_OPTS[@]}" --memory 32m --memory-swap 32m "$img" /bin/raind-probe alloc 96 2>&1); rc=$?
[ "$rc" -eq 137 ] && pass "--memory 32m: allocation of 96 MiB OOM-killed (137)" || fail "--memory: rc=$rc out=$(echo "$out" | tail -n 2)"
out=$("${P[@]}" run --rm "${RUN_OPTS[@]}" --pids-limit 10 "$img" /bin/raind-probe forkbomb 50 2>&1); rc=$?
n=$(echo "$out" | grep -oE '[0-9]+' | head -n1)
[ -n "$n" ] && [ "$n" -lt 10 ] && pass "--pids-limit 10: only $n of 50 forks succeeded" || fail "--pids-limit: rc=$rc out=$out"

echo "podman with $(basename "$runtime"): $failures failure(s)"
[ "$failures" -eq 0 ]
