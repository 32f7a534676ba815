#!/usr/bin/env bash
# The demo's steps, run by scripts/demo.sh inside scripts/sandbox.sh. Prints each command and
# its output so a newcomer can follow along.
set -euo pipefail
image_dir=$1
droplet="$RAIND_BIN_DIR/droplet"
root="$RAIND_TEST_ROOT/droplet"
work="$RAIND_TEST_ROOT/demo"
mkdir -p "$root" "$work"

say() { printf '\n\033[36m-- %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

bundle="$work/bundle"
cp -a "$image_dir/bundle" "$bundle"
cgroup_parent="${RAIND_TEST_CGROUP_PARENT:-raind-demo-$$}"
# Give the demo container limits and a cgroup nested under the sandbox's.
jq --arg cg "$cgroup_parent/demo" '
  .process.args = ["sh", "-c", "echo hello from $(hostname); sleep 300"] |
  .linux.cgroupsPath = $cg |
  .linux.resources = {"memory": {"limit": 33554432}, "pids": {"limit": 32},
                      "devices": [{"allow": false, "access": "rwm"}]}' \
  "$image_dir/bundle/config.json" > "$bundle/config.json"

say "droplet is an OCI runtime with runc's command line"
run "$droplet" --version

say "create: namespaces, mounts and cgroup are set up; the process waits for start"
run "$droplet" --root "$root" create --bundle "$bundle" demo
run "$droplet" --root "$root" state demo

say "start: the container's process runs"
run "$droplet" --root "$root" start demo
sleep 0.3
run "$droplet" --root "$root" list

say "exec: a second process joins every namespace, cgroup and security setting of the container"
run "$droplet" --root "$root" exec demo sh -c 'echo "pid 1 inside is: $(cat /proc/1/comm)"; hostname; ip link 2>/dev/null | grep -c "^[0-9]" | sed "s/^/network interfaces: /"'
run "$droplet" --root "$root" exec demo /bin/raind-probe caps
run "$droplet" --root "$root" ps demo

say "limits: 32 MiB of memory; allocating 64 MiB gets the process OOM-killed (exit 137)"
set +e
"$droplet" --root "$root" exec demo /bin/raind-probe alloc 64 >/dev/null 2>&1
echo "exit status: $?"
set -e
run "$droplet" --root "$root" events --stats demo

say "pause / resume through the freezer"
run "$droplet" --root "$root" pause demo
run "$droplet" --root "$root" state demo
run "$droplet" --root "$root" resume demo

say "kill and delete"
run "$droplet" --root "$root" kill demo KILL
sleep 0.2
run "$droplet" --root "$root" delete demo
run "$droplet" --root "$root" list
