#!/usr/bin/env bash
# Runs a command inside a throwaway sandbox and removes every trace of it afterwards:
#   scripts/sandbox.sh [--no-outside] [--keep] -- CMD [ARGS...]
# The sandbox has
#   - its own network, mount and PID namespaces (processes started inside die with it; mounts
#     made inside vanish with it; nothing reaches the host's interfaces or iptables);
#   - RAIND_TEST_ROOT, a fresh temp dir, with RAIND_STATE_DIR, RAIND_RUN_DIR, RAIND_LOG_DIR under it;
#   - RAIND_TEST_CGROUP_PARENT, a relative cgroup path ("raind-sbx-<rand>") created under the
#     caller's own cgroup in every hierarchy, for the containers the command creates;
#   - unless --no-outside: an "outside" network namespace that plays the internet, reachable
#     through a veth (sandbox side up0 198.51.100.1/24, outside 198.51.100.2/24), running a
#     fake upstream DNS server (dnsmasq) and a web server on 198.51.100.2. Exported as
#     RAIND_OUTSIDE_NETNS (use with `ip netns exec`), RAIND_OUTSIDE_IP, RAIND_OUTSIDE_DNS.
# Exit status is the command's. Teardown also runs on failure and on SIGINT/SIGTERM.
set -euo pipefail
outside=1
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-outside) outside=0; shift ;;
    --keep) keep=1; shift ;;
    --inner) shift; break ;;
    --) shift; break ;;
    *) echo "sandbox.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "${SANDBOX_INNER:-}" = 1 ]; then
  # ---- inside the new namespaces (we are PID 1 of the sandbox) ----
  ip link set lo up
  # Private view of /run/netns: named namespaces made here never appear on the host.
  mkdir -p /run/netns
  mount -t tmpfs -o mode=0755,size=1m raind-netns /run/netns
  if [ "$outside" = 1 ]; then
    out_ns=raind-outside
    ip netns add "$out_ns"
    ip link add up0 type veth peer name eth0 netns "$out_ns"
    ip addr add 198.51.100.1/24 dev up0
    ip link set up0 up
    ip -n "$out_ns" link set lo up
    ip -n "$out_ns" addr add 198.51.100.2/24 dev eth0
    ip -n "$out_ns" link set eth0 up
    ip -n "$out_ns" route add default via 198.51.100.1
    svc="$RAIND_TEST_ROOT/outside"
    mkdir -p "$svc/www"
    echo "hello from the outside" > "$svc/www/index.html"
    for i in $(seq 1 1000); do echo "10.77.$((i / 250)).$((i % 250 + 1)) svc$i.raind.test"; done > "$svc/hosts"
    cat > "$svc/dnsmasq.conf" <<CONF
port=53
listen-address=198.51.100.2
bind-interfaces
no-resolv
no-hosts
no-poll
local=/raind.test/
addn-hosts=$svc/hosts
host-record=upstream.raind.test,10.77.99.1
txt-record=txt.raind.test,"hello"
cache-size=10000
# Cacheable answers (dnsmasq gives its own records TTL 0 by default), as real zones have.
local-ttl=300
pid-file=$svc/dnsmasq.pid
CONF
    ip netns exec "$out_ns" dnsmasq -C "$svc/dnsmasq.conf" --user=root --keep-in-foreground \
      --log-facility="$svc/dnsmasq.log" &
    ip netns exec "$out_ns" busybox httpd -f -p 198.51.100.2:80 -h "$svc/www" &
    # Wait until both answer (bounded).
    for _ in $(seq 1 50); do
      if ip netns exec "$out_ns" bash -c 'exec 3<>/dev/tcp/198.51.100.2/80' 2>/dev/null \
        && [ -s "$svc/dnsmasq.pid" ]; then break; fi
      sleep 0.05
    done
    export RAIND_OUTSIDE_NETNS="$out_ns" RAIND_OUTSIDE_IP=198.51.100.2 RAIND_OUTSIDE_DNS=198.51.100.2
  fi
  set +e
  "$@"
  rc=$?
  set -e
  exit "$rc"
fi

# ---- outside: prepare roots and cgroups, then enter the namespaces ----
if [ "$(id -u)" -ne 0 ]; then
  echo "sandbox.sh: needs root (namespaces, cgroups)" >&2
  exit 77
fi
[ $# -gt 0 ] || { echo "usage: sandbox.sh [--no-outside] [--keep] -- CMD [ARGS...]" >&2; exit 2; }

tag=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
root=$(mktemp -d "/tmp/raind-sbx-$tag.XXXXXX")
cg_name="raind-sbx-$tag"
cg_dirs=()

# One dir per hierarchy, under the caller's own cgroup there (from /proc/self/cgroup).
while IFS= read -r line; do
  # mountinfo: ... mountpoint ... - fstype source superopts
  mountpoint=$(echo "$line" | awk '{print $5}')
  fstype=$(echo "$line" | awk '{for (i = 1; i <= NF; i++) if ($i == "-") {print $(i + 1); exit}}')
  superopts=$(echo "$line" | awk '{for (i = 1; i <= NF; i++) if ($i == "-") {print $(i + 3); exit}}')
  own=""
  if [ "$fstype" = cgroup2 ]; then
    own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  else
    # Named hierarchies (name=systemd) too: runtimes create the parent there as well, and a dir
    # the sandbox did not make would outlive it.
    for opt in ${superopts//,/ }; do
      case "$opt" in rw|ro|relatime|noexec|nosuid|nodev|clone_children|xattr) continue ;; esac
      own=$(awk -F: -v c="$opt" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/self/cgroup)
      [ -n "$own" ] && break
    done
    [ -n "$own" ] || continue  # a hierarchy this process is not in
  fi
  dir="$mountpoint${own%/}/$cg_name"
  if mkdir "$dir" 2>/dev/null; then
    cg_dirs+=("$dir")
    # cpuset children start empty and refuse tasks until cpus/mems are set.
    if [ -f "$dir/cpuset.cpus" ]; then
      cat "$(dirname "$dir")/cpuset.cpus" > "$dir/cpuset.cpus" 2>/dev/null || true
      cat "$(dirname "$dir")/cpuset.mems" > "$dir/cpuset.mems" 2>/dev/null || true
    fi
  fi
done < <(awk '{for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print; break }}' /proc/self/mountinfo)

child=""
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  # Cgroups the command's containers left under our dirs: deepest first, retrying while the
  # kernel finishes tearing down exiting tasks.
  for dir in "${cg_dirs[@]}"; do
    for _ in $(seq 1 50); do
      [ -d "$dir" ] || break
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$dir" ] || break
      sleep 0.1
    done
    [ -d "$dir" ] && echo "sandbox.sh: could not remove cgroup $dir" >&2
  done
  # Runtimes such as runc also create the path in hierarchies we made no dir in (name=systemd,
  # the unified one): sweep every cgroup mount for our tag.
  while read -r mp; do
    find "$mp" -maxdepth 5 -type d -name "$cg_name" 2>/dev/null | while read -r d; do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done < <(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts)
  if [ "$keep" = 1 ]; then
    echo "sandbox.sh: kept $root" >&2
  else
    rm -rf --one-file-system "$root" 2>/dev/null || rm -rf "$root"
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$root/state" "$root/run" "$root/log"
export RAIND_TEST_ROOT="$root" RAIND_STATE_DIR="$root/state" RAIND_RUN_DIR="$root/run" \
  RAIND_LOG_DIR="$root/log" RAIND_TEST_CGROUP_PARENT="$cg_name" SANDBOX_INNER=1
args=()
[ "$outside" = 0 ] && args+=(--no-outside)
set +e
unshare --net --mount --propagation private --pid --fork --mount-proc --kill-child \
  bash "$0" "${args[@]}" --inner "$@" &
child=$!
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
