#!/usr/bin/env bash
# OCI runtime-spec conformance checks driven through the runc-compatible command line.
# Each case quotes the spec sentence it checks (runtime.md, config.md, config-linux.md).
# Usage: conformance.sh IMAGE_DIR   (RAIND_OCI_RUNTIME selects the runtime; default droplet)
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
img=$1
rt=${RAIND_OCI_RUNTIME:-$RAIND_BIN_DIR/droplet}
name=$(basename "$rt")
work=$(mktemp -d "${RAIND_TEST_ROOT:-/tmp}/conf-$name.XXXXXX")
# Traversable by the unprivileged host uids of user-namespace containers.
chmod 0755 "$work" "$(dirname "$work")"
root="$work/state"
cgp="${RAIND_TEST_CGROUP_PARENT:-raind-conf-$$}"
failures=0; passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
R() { "$rt" --root "$root" "$@"; }
cleanup() {
  for id in $(ls "$root" 2>/dev/null); do R delete --force "$id" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT

n=0
# new_bundle JQ_FILTER -> prints a fresh bundle dir whose config.json is the image's default
# config transformed by the filter.
new_bundle() {
  n=$((n + 1))
  local b="$work/b$n"
  mkdir -p "$b"
  cp -a "$img/bundle/rootfs" "$b/rootfs"
  jq --arg cg "$cgp/c$n" ".linux.cgroupsPath = \$cg | $1" "$img/bundle/config.json" > "$b/config.json"
  echo "$b"
}
state_field() { R state "$1" 2>/dev/null | jq -r ".$2"; }

# --- runtime.md: State -----------------------------------------------------------------------
b=$(new_bundle '.process.args = ["sh","-c","sleep 30"] | .annotations = {"org.example.k": "v"}')
if R create --bundle "$b" s1 >/dev/null 2>&1; then
  st=$(R state s1)
  # "ociVersion, id, status, pid, bundle, annotations" (runtime.md, State)
  echo "$st" | jq -e --arg b "$b" '.ociVersion and .id == "s1" and .status == "created" and .pid > 0 and .bundle == $b and .annotations["org.example.k"] == "v"' >/dev/null \
    && pass "state of a created container has ociVersion, id, status created, pid, bundle, annotations" \
    || fail "state after create: $st"
  pid=$(state_field s1 pid)
  # "create ... MUST NOT run the user-specified program" (runtime.md, create)
  [ "$(tr '\0' ' ' < /proc/$pid/cmdline)" != "sh -c sleep 30 " ] && pass "create does not run the user program yet" \
    || fail "user program already running after create"
  R start s1 >/dev/null 2>&1 && [ "$(state_field s1 status)" = running ] && pass "start -> status running" || fail "start"
  # "Attempting to start a container that is not created MUST have no effect ... and MUST generate an error"
  ! R start s1 >/dev/null 2>&1 && [ "$(state_field s1 status)" = running ] && pass "start of a running container is an error and changes nothing" || fail "second start"
  # "Attempting to delete a container that is not stopped MUST have no effect ... and MUST generate an error"
  ! R delete s1 >/dev/null 2>&1 && [ "$(state_field s1 status)" = running ] && pass "delete of a running container is an error" || fail "delete running"
  R kill s1 KILL >/dev/null 2>&1
  for _ in $(seq 1 50); do [ "$(state_field s1 status)" = stopped ] && break; sleep 0.05; done
  [ "$(state_field s1 status)" = stopped ] && pass "kill KILL -> status stopped" || fail "kill: $(state_field s1 status)"
  R delete s1 >/dev/null 2>&1 && ! R state s1 >/dev/null 2>&1 && pass "delete of a stopped container removes it (state fails after)" || fail "delete stopped"
else
  fail "create s1"
fi
# "This operation MUST generate an error if it is not provided the ID of a container" / unknown id
! R state no-such-ctr >/dev/null 2>&1 && pass "state of an unknown id is an error" || fail "state unknown"
! R start no-such-ctr >/dev/null 2>&1 && ! R kill no-such-ctr KILL >/dev/null 2>&1 && ! R delete no-such-ctr >/dev/null 2>&1 \
  && pass "start/kill/delete of an unknown id are errors" || fail "ops on unknown id"

# "If the ID provided is not unique ... MUST generate an error and a new container MUST NOT be created"
b=$(new_bundle '.process.args = ["sleep","30"]')
if R create --bundle "$b" dup >/dev/null 2>&1; then
  p1=$(state_field dup pid)
  ! R create --bundle "$b" dup >/dev/null 2>&1 && [ "$(state_field dup pid)" = "$p1" ] \
    && pass "duplicate id is rejected and the existing container is untouched" || fail "duplicate id"
  # runtime.md delete: a created container is not stopped either
  ! R delete dup >/dev/null 2>&1 && [ "$(state_field dup status)" = created ] && pass "delete of a created container is an error and leaves it created" || fail "delete created"
  # delete --force of a created container
  R delete --force dup >/dev/null 2>&1 && ! R state dup >/dev/null 2>&1 && pass "delete --force removes a created container" || fail "delete --force"
else fail "create dup"; fi

# --- run: exit status ------------------------------------------------------------------------
b=$(new_bundle '.process.args = ["sh","-c","exit 42"]')
R run --bundle "$b" ex1 >/dev/null 2>&1; rc=$?
[ "$rc" = 42 ] && pass "run returns the process exit status (42)" || fail "run exit status $rc"

# --- config.md: process --------------------------------------------------------------------
b=$(new_bundle '.process.args = ["sh","-c","pwd; id -u; id -g; id -G; umask; echo $FOO"] | .process.cwd = "/tmp" |
  .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 63} | .process.env += ["FOO=bar"]')
out=$(R run --bundle "$b" p1 2>&1 | tr '\n' '|')
[ "$out" = "/tmp|1000|1000|1000 5 65534|0077|bar|" ] && pass "process cwd, uid, gid, additionalGids, umask, env" || fail "process fields: $out"
b=$(new_bundle '.process.args = ["/bin/raind-probe","rlimits"] | .process.rlimits = [{"type":"RLIMIT_NOFILE","hard":512,"soft":256},{"type":"RLIMIT_CORE","hard":0,"soft":0}]')
out=$(R run --bundle "$b" p2 2>&1)
echo "$out" | grep -q '^NOFILE=256:512$' && echo "$out" | grep -q '^CORE=0:0$' && pass "process.rlimits applied" || fail "rlimits: $out"
b=$(new_bundle '.process.args = ["/bin/raind-probe","nnp"] | .process.noNewPrivileges = true')
[ "$(R run --bundle "$b" p3 2>&1)" = "NoNewPrivs=1" ] && pass "noNewPrivileges sets no_new_privs" || fail "nnp"
b=$(new_bundle '.process.args = ["/bin/raind-probe","caps"] | .process.capabilities = {"bounding":["CAP_KILL","CAP_CHOWN"],"effective":["CAP_KILL"],"permitted":["CAP_KILL","CAP_CHOWN"],"inheritable":[],"ambient":[]}')
out=$(R run --bundle "$b" p4 2>&1)
# CAP_CHOWN = bit 0, CAP_KILL = bit 5
# For uid 0 the kernel sets effective = permitted at execve, so effective is checked with a
# non-root user and an ambient capability below.
echo "$out" | grep -q '^CapBnd=0000000000000021$' && echo "$out" | grep -q '^CapPrm=0000000000000021$' && echo "$out" | grep -q '^CapInh=0000000000000000$' \
  && pass "capabilities: bounding, permitted, inheritable sets exact" || fail "caps: $(echo "$out" | tr '\n' ' ')"
b=$(new_bundle '.process.args = ["/bin/raind-probe","caps"] | .process.user = {"uid":1000,"gid":1000} | .process.capabilities = {"bounding":["CAP_KILL","CAP_CHOWN","CAP_NET_BIND_SERVICE"],"effective":["CAP_NET_BIND_SERVICE"],"permitted":["CAP_NET_BIND_SERVICE"],"inheritable":["CAP_NET_BIND_SERVICE"],"ambient":["CAP_NET_BIND_SERVICE"]}')
out=$(R run --bundle "$b" p4b 2>&1)
# CAP_NET_BIND_SERVICE = bit 10: kept across execve by a non-root user only through ambient.
echo "$out" | grep -q '^CapAmb=0000000000000400$' && echo "$out" | grep -q '^CapEff=0000000000000400$' && echo "$out" | grep -q '^CapBnd=0000000000000421$' \
  && pass "capabilities: ambient keeps an effective capability for a non-root user" || fail "ambient caps: $(echo "$out" | tr '\n' ' ')"
b=$(new_bundle '.process.args = ["/bin/raind-probe","oom-score"] | .process.oomScoreAdj = 500')
[ "$(R run --bundle "$b" p5 2>&1)" = "oom_score_adj=500" ] && pass "oomScoreAdj written" || fail "oomScoreAdj"

# --- config.md: root, hostname, mounts ------------------------------------------------------
b=$(new_bundle '.process.args = ["/bin/raind-probe","write","/rootfile"] | .root.readonly = true')
[ "$(R run --bundle "$b" r1 2>&1)" = "write=EROFS" ] && pass "root.readonly makes / read-only" || fail "root.readonly"
b=$(new_bundle '.process.args = ["/bin/raind-probe","hostname"] | .hostname = "conf-host" | .domainname = "conf.example"')
out=$(R run --bundle "$b" h1 2>&1 | tr '\n' ' ')
[ "$out" = "hostname=conf-host domainname=conf.example " ] && pass "hostname and domainname" || fail "hostname: $out"
mkdir -p "$work/hostdir"; echo data > "$work/hostdir/f"
b=$(new_bundle ".process.args = [\"sh\",\"-c\",\"cat /ro/f; /bin/raind-probe write /ro/g; /bin/raind-probe write /rw/g; df -k /scratch | tail -n1 | awk '{print \$2}'\"] |
  .mounts += [{\"destination\":\"/ro\",\"type\":\"bind\",\"source\":\"$work/hostdir\",\"options\":[\"bind\",\"ro\"]},
              {\"destination\":\"/rw\",\"type\":\"bind\",\"source\":\"$work/hostdir\",\"options\":[\"rbind\",\"rw\"]},
              {\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=2048k\",\"mode=1777\"]}]")
out=$(R run --bundle "$b" m1 2>&1 | tr '\n' ' ')
[ "$out" = "data write=EROFS write=OK 2048 " ] && [ -f "$work/hostdir/g" ] && pass "mounts: ro bind refuses writes, rw bind writes through, tmpfs size" || fail "mounts: $out"
# A planted symlink in the image must not redirect a mount destination outside the rootfs.
b=$(new_bundle ".process.args = [\"true\"] | .mounts += [{\"destination\":\"/evil/x\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]")
mkdir -p "$work/outside-target"; ln -s "$work/outside-target" "$b/rootfs/evil"
R run --bundle "$b" m2 >/dev/null 2>&1
[ ! -e "$work/outside-target/x" ] && pass "mount destination through a planted symlink stays inside the rootfs" || fail "symlink escape created $work/outside-target/x"

# --- config-linux.md ----------------------------------------------------------------------
# (maskedPaths/readonlyPaths of the test bundle that exist on this kernel: /proc/timer_list,
# /proc/sys.)
b=$(new_bundle '.process.args = ["sh","-c","echo pid=$$; ip -o link | wc -l; cat /proc/timer_list | wc -c; /bin/raind-probe write /proc/sys/kernel/domainname"]')
out=$(R run --bundle "$b" l1 2>&1 | tr '\n' ' ')
[[ "$out" == "pid=1 1 0 write=EROFS " ]] && pass "pid namespace (pid 1), network namespace (only lo), maskedPaths, readonlyPaths" || fail "namespaces/masked: $out"
b=$(new_bundle '.process.args = ["sh","-c","ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | cut -c1; readlink /dev/fd; ls -d /dev/pts /dev/shm; stat -c %t:%T:%a /dev/conftest"] |
  .linux.devices = [{"path":"/dev/conftest","type":"c","major":1,"minor":5,"fileMode":432,"uid":0,"gid":0}] |
  .linux.resources.devices += [{"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"}]')
out=$(R run --bundle "$b" d1 2>&1 | tr '\n' ' ')
[ "$out" = "c c c c c c /proc/self/fd /dev/pts /dev/shm 1:5:660 " ] && pass "default devices, /dev/fd link, /dev/pts, /dev/shm, linux.devices entry" || fail "devices: $out"
# An empty namespaces list shares every namespace of the caller (no mounts can apply then).
b=$(new_bundle '.process.args = ["sh","-c","echo shared $(hostname)"] | .linux.namespaces = [] | .mounts = [] | del(.hostname) | .linux.maskedPaths = [] | .linux.readonlyPaths = []')
out=$(R run --bundle "$b" ns0 2>&1)
[ "$out" = "shared $(hostname)" ] && pass "empty linux.namespaces runs in the caller's namespaces" || fail "no namespaces: $out"
b=$(new_bundle '.process.args = ["awk","$5 == \"/\" {print $7}","/proc/self/mountinfo"] | .linux.rootfsPropagation = "unbindable"')
out=$(R run --bundle "$b" rp1 2>&1)
[ "$out" = unbindable ] && pass "rootfsPropagation unbindable on the container's root" || fail "rootfsPropagation: $out"
b=$(new_bundle '.process.args = ["/bin/raind-probe","sysctl","net.ipv4.ip_forward"] | .linux.sysctl = {"net.ipv4.ip_forward": "1"}')
[ "$(R run --bundle "$b" y1 2>&1)" = "net.ipv4.ip_forward=1" ] && pass "linux.sysctl in the container's namespace" || fail "sysctl"
b=$(new_bundle '.process.args = ["sh","-c","mkdir /tmp/x; echo rc=$?"] | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}')
out=$(R run --bundle "$b" sc1 2>&1 | tail -n1)
[ "$out" = "rc=1" ] && pass "seccomp ERRNO rule denies mkdir" || fail "seccomp: $out"
b=$(new_bundle '.process.args = ["cat","/proc/self/uid_map"] | .linux.namespaces += [{"type":"user"}] |
  .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]')
chown -R 100000:100000 "$b/rootfs"
out=$(R run --bundle "$b" u1 2>&1 | tr -s ' ' | sed 's/^ //')
[ "$out" = "0 100000 65536" ] && pass "user namespace with uidMappings (0 -> 100000)" || fail "userns: $out"
b=$(new_bundle '.process.args = ["sh","-c","cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"] |
  .linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 20}')
out=$(R run --bundle "$b" cg1 2>&1 | tr '\n' ' ')
[ "$out" = "67108864 20 " ] && pass "linux.resources memory and pids limits visible in the container's cgroup" || fail "resources: $out"

# --- hooks (config.md: POSIX-platform hooks) ---------------------------------------------------
log="$work/hooks.log"; : > "$log"
hook() { echo "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"read -r s; echo $1 \$(echo \\\"\$s\\\" | $(command -v jq) -r .status) >> $log\"]}"; }
b=$(new_bundle ".process.args = [\"true\"] | .hooks = {\"prestart\":[$(hook prestart)],\"createRuntime\":[$(hook createRuntime)],
  \"createContainer\":[$(hook createContainer)],\"startContainer\":[$(hook startContainer)],\"poststart\":[$(hook poststart)],\"poststop\":[$(hook poststop)]}")
# startContainer runs inside the container: give it the host's sh and jq paths through a bind.
R run --bundle "$b" hk1 >/dev/null 2>&1
got=$(tr '\n' ',' < "$log")
[[ "$got" == "prestart created,createRuntime creating,createContainer creating,"* && "$got" == *"poststart running,"*"poststop stopped," ]] \
  && pass "hook order and the state on stdin (prestart..poststop)" || fail "hooks: $got"
b=$(new_bundle '.process.args = ["true"] | .hooks = {"createRuntime":[{"path":"/bin/false"}]}')
! R create --bundle "$b" hk2 >/dev/null 2>&1 && ! R state hk2 >/dev/null 2>&1 && pass "failing createRuntime hook fails create and leaves no container" || fail "createRuntime failure"
b=$(new_bundle '.process.args = ["sleep","5"] | .hooks = {"poststart":[{"path":"/bin/false"}]}')
R create --bundle "$b" hk3 >/dev/null 2>&1; R start hk3 >/dev/null 2>&1
[ "$(state_field hk3 status)" = running ] && pass "failing poststart hook does not stop the container" || fail "poststart failure: $(state_field hk3 status)"
R delete --force hk3 >/dev/null 2>&1
b=$(new_bundle '.process.args = ["true"] | .hooks = {"createRuntime":[{"path":"/bin/sleep","args":["sleep","30"],"timeout":1}]}')
start=$(date +%s)
! R create --bundle "$b" hk4 >/dev/null 2>&1 && [ $(( $(date +%s) - start )) -lt 10 ] && pass "hook timeout is enforced" || fail "hook timeout"

# --- errors --------------------------------------------------------------------------------
check_rejected() {  # check_rejected DESC ID BUNDLE
  local err
  err=$(R create --bundle "$3" "$2" 2>&1 >/dev/null); local rc=$?
  if [ $rc -ne 0 ] && [ -n "$err" ] && ! R state "$2" >/dev/null 2>&1 && [ ! -e "$root/$2" ]; then
    pass "$1 -> error, nothing left ($(echo "$err" | head -n1 | cut -c1-90))"
  else
    fail "$1 (rc=$rc)"
  fi
}
b=$(new_bundle '.'); head -c 100 "$b/config.json" > "$b/c" && mv "$b/c" "$b/config.json"
check_rejected "truncated config.json" e1 "$b"
b=$(new_bundle '.process.args = "sh"')
check_rejected "wrong type (process.args is a string)" e2 "$b"
b=$(new_bundle '.'); rm -rf "$b/rootfs"
check_rejected "missing rootfs" e3 "$b"
b=$(new_bundle '.linux.namespaces += [{"type":"bogus"}]')
check_rejected "unknown namespace type" e4 "$b"
b=$(new_bundle '.')
! R create --bundle "$b" "../escape" >/dev/null 2>&1 && [ ! -e "$work/escape" ] && pass "invalid container id rejected" || fail "invalid id"

# --- features / spec ----------------------------------------------------------------------
R features 2>/dev/null | jq -e '.ociVersionMin and .ociVersionMax' >/dev/null && pass "features prints ociVersionMin/Max" || fail "features"
mkdir -p "$work/specdir"; (cd "$work/specdir" && R spec >/dev/null 2>&1)
jq -e '.ociVersion and .process.args and .root.path and (.linux.namespaces | length > 0)' "$work/specdir/config.json" >/dev/null 2>&1 \
  && pass "spec writes a valid default config.json" || fail "spec"

echo "$name conformance: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
