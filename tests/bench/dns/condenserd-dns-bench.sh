#!/usr/bin/env bash
# condenserd's DNS proxy benchmark: the proxy as condenserd runs it (10.166.254.254:53, query log
# on) side by side with dnsmasq, 1000 names (svc1.raind.test … svc1000.raind.test, type A) driven
# by dnsperf over UDP:
#   - cached: the proxy with its cache warmed by one pass over the names, against the upstream
#     itself (the sandbox's dnsmasq on 198.51.100.2, which answers these names from its hosts
#     file) queried directly;
#   - uncached: condenserd restarted with dns.cache_size 0, against a plain forwarder (a second
#     dnsmasq on 127.0.0.53 with --cache-size=0 and the same upstream);
#   - the proxy again from a network namespace attached to the raind0 bridge (a container's
#     path: its query to the gateway is DNAT'ed by RAIND-DNS to the proxy), unless --no-bridge.
# Each row is one dnsperf run of DURATION seconds (default 10) with the dnsperf settings of its
# section: its defaults (-c 1 -T 1, 100 queries outstanding), -c 4 -T 2, and a fixed low rate
# (-Q 2000) where the latency is the server's and not the queue's. Prints QPS, average latency,
# lost queries, the server's CPU use and the proxy's own counters per row, and the ratios
# proxy/peer. Goal stated by the project: cached >= 50 000 qps. Never asserts timings; fails only
# when something does not run.
# Runs inside scripts/sandbox.sh with its "outside" namespace (it re-executes itself there when
# started outside). Usage (root):
#   tests/bench/dns/condenserd-dns-bench.sh [--duration SECONDS] [--no-bridge]
#   scripts/sandbox.sh -- tests/bench/dns/condenserd-dns-bench.sh [...]     (the same)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin="${RAIND_BIN_DIR:-$repo/build/bin}"
me=$(basename "$0")
duration=${DURATION:-10}
bridge_row=1
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --no-bridge) bridge_row=0; shift ;;
    *) echo "$me: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$duration" -ge 1 ] 2>/dev/null || { echo "$me: --duration must be >= 1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$me: needs root" >&2; exit 1; }
if [ "${SANDBOX_INNER:-}" != 1 ] || [ -z "${RAIND_TEST_ROOT:-}" ]; then
  exec bash "$repo/scripts/sandbox.sh" -- bash "$here/$me" "${args[@]}"
fi
[ -n "${RAIND_OUTSIDE_DNS:-}" ] ||
  { echo "$me: needs the sandbox's outside namespace (no --no-outside)" >&2; exit 1; }
for tool in dnsperf dnsmasq dig jq bc ip; do
  command -v "$tool" >/dev/null || { echo "$me: missing $tool" >&2; exit 1; }
done

upstream=$RAIND_OUTSIDE_DNS  # 198.51.100.2
proxy=10.166.254.254
forwarder=127.0.0.53
client_ns=dns-bench-client
client_ip=10.166.0.200
work=$(mktemp -d "$RAIND_TEST_ROOT/dns-bench.XXXXXX")
daemon=""
fwd=""
cleanup() {
  if [ -n "$daemon" ]; then
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  if [ -n "$fwd" ]; then
    kill -TERM "$fwd" 2>/dev/null || true
    wait "$fwd" 2>/dev/null || true
  fi
  ip netns del "$client_ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
die() { echo "$me: $*" >&2; exit 1; }

for i in $(seq 1 1000); do echo "svc$i.raind.test A"; done > "$work/queries"
hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU ticks (user + system, all threads) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# UDP receive-buffer overflows in this network namespace (queries the kernel dropped).
rcvbuf_errors() { awk '/^Udp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) h[i] = $i; else for (i = 1; i <= NF; i++) if (h[i] == "RcvbufErrors") print $i}' /proc/net/snmp; }

# --- condenserd ------------------------------------------------------------------------------
# start_daemon NAME EXTRA_DNS_YAML: a fresh root under $work/NAME, waits for listeners.json.
start_daemon() {
  local root="$work/$1"
  mkdir -p "$root"
  cat > "$root/condenserd.yaml" <<CONF
state_dir: $root/state
run_dir: $root/run
log_dir: $root/log
pki_dir: $root/pki
log_level: info
listen:
  management: 127.0.0.1:0
  hooks: 127.0.0.1:0
  ca: 127.0.0.1:0
runtime:
  cgroup_parent: ${RAIND_TEST_CGROUP_PARENT:-raind-bench}/dns-bench
dns:
  upstreams: [$upstream]
$2
flowlog:
  enabled: false
CONF
  "$bin/condenserd" --config "$root/condenserd.yaml" >"$root/condenserd.out" 2>&1 &
  daemon=$!
  daemon_root=$root
  for _ in $(seq 1 300); do
    if [ -s "$root/run/listeners.json" ] &&
       [ "$(jq -r .pid "$root/run/listeners.json" 2>/dev/null)" = "$daemon" ]; then
      break
    fi
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.05
  done
  if ! [ -s "$root/run/listeners.json" ]; then
    wait "$daemon" 2>/dev/null || true
    daemon=""
    tail -n 20 "$root/condenserd.out" | sed 's/^/  /' >&2
    die "condenserd did not start ($1)"
  fi
  raind=("$bin/raind" --pki-dir "$root/pki" --host "https://$(jq -r .management "$root/run/listeners.json")")
  dig +short +time=2 +tries=1 @"$proxy" svc1.raind.test A > "$work/dig.out" 2>&1 || true
  grep -qx '10.77.0.2' "$work/dig.out" ||
    { sed 's/^/  /' "$work/dig.out" >&2; die "the proxy does not answer svc1.raind.test ($1)"; }
}
stop_daemon() {
  [ -n "$daemon" ] || return 0
  kill -TERM "$daemon"
  local rc=0
  wait "$daemon" || rc=$?
  daemon=""
  [ "$rc" = 0 ] || echo "$me: condenserd exited $rc on SIGTERM" >&2
  cp "$daemon_root/condenserd.out" "$work/condenserd-$(basename "$daemon_root").out"
}
# The proxy's counters (system info → observability.dns), one line of key=value.
proxy_counters() {
  "${raind[@]}" system info --json 2>/dev/null | jq -r '.observability.dns // {} | to_entries | map("\(.key)=\(.value)") | join(" ")'
}
counter() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

# --- the client namespace on raind0 (a container's place) -----------------------------------
setup_client_ns() {
  ip netns add "$client_ns"
  ip link add dnsb0 type veth peer name eth0 netns "$client_ns"
  ip -n "$client_ns" link set lo up
  ip -n "$client_ns" addr add "$client_ip/24" dev eth0
  ip -n "$client_ns" link set eth0 up
  ip -n "$client_ns" route add default via "$gateway"
}
attach_client_ns() {  # raind0 may have been re-created by a restart
  ip link set dnsb0 master raind0
  ip link set dnsb0 up
}

# --- one dnsperf run --------------------------------------------------------------------------
# run_row ID LABEL SERVER SERVER_PID WHERE(main|client) KIND(proxy|peer) DNSPERF_ARGS...
# Appends one tab-separated line to $work/rows:
#   id label qps avg_ms max_ms sent lost rcodes cpu% proxy-counters
run_row() {
  local id=$1 label=$2 server=$3 pid=$4 where=$5 kind=$6
  shift 6
  local before_cpu after_cpu before_rcv after_rcv before_ctr="" after_ctr="" t0 t1 out="$work/dnsperf-$id.out"
  local exec_in=()
  [ "$where" = client ] && exec_in=(ip netns exec "$client_ns")
  [ "$kind" = proxy ] && before_ctr=$(proxy_counters)
  before_rcv=$(rcvbuf_errors)
  before_cpu=$(cpu_ticks "$pid")
  t0=$(date +%s%N)
  if ! "${exec_in[@]}" dnsperf -s "$server" -d "$work/queries" -l "$duration" "$@" >"$out" 2>&1; then
    sed 's/^/  /' "$out" >&2
    die "dnsperf failed for row '$label'"
  fi
  t1=$(date +%s%N)
  after_cpu=$(cpu_ticks "$pid")
  after_rcv=$(rcvbuf_errors)
  [ "$kind" = proxy ] && after_ctr=$(proxy_counters)
  local qps avg max sent lost rcodes cpu extra=""
  qps=$(awk '/Queries per second:/ {print $4}' "$out")
  avg=$(awk '/Average Latency \(s\):/ {print $4 * 1000}' "$out")
  max=$(awk '/Average Latency \(s\):/ {gsub(/[),]/, ""); print $8 * 1000}' "$out")
  sent=$(awk '/Queries sent:/ {print $3}' "$out")
  lost=$(awk '/Queries lost:/ {print $3}' "$out")
  rcodes=$(sed -n 's/^ *Response codes: *//p' "$out" | sed 's/ (\([0-9.]*\)%)//g; s/,//g')
  if [ -z "$qps" ] || [ -z "$avg" ]; then
    sed 's/^/  /' "$out" >&2
    die "no figures from dnsperf for row '$label'"
  fi
  cpu=$(echo "($after_cpu - $before_cpu) * 100 / $hz / (($t1 - $t0) / 1000000000)" | bc -l)
  if [ "$kind" = proxy ]; then
    local k
    for k in queries cache_hits forwarded failures dropped log_dropped; do
      extra+="$k=$(( $(counter "$after_ctr" "$k") - $(counter "$before_ctr" "$k") )) "
    done
  fi
  extra+="rcvbuf_errors=$((after_rcv - before_rcv))"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$label" "$qps" "$avg" "$max" "$sent" \
    "$lost" "$rcodes" "$cpu" "$extra" >> "$work/rows"
}
field() { awk -F'\t' -v id="$1" -v f="$2" '$1 == id {print $f}' "$work/rows"; }
warm() {  # one pass over the names through the proxy; fails when one is not answered NOERROR
  dnsperf -s "$proxy" -d "$work/queries" -n 1 >"$work/warm.out" 2>&1 || die "warm-up failed"
  if ! grep -q 'Queries lost: *0 ' "$work/warm.out" || ! grep -q 'NOERROR 1000 ' "$work/warm.out"; then
    sed 's/^/  /' "$work/warm.out" >&2
    die "warm-up: not every name answered"
  fi
}

sets=("-c 1 -T 1" "-c 4 -T 2" "-Q 2000")
set_names=("dnsperf defaults: -c 1 -T 1 -q 100" "-c 4 -T 2 -q 100" "fixed rate -Q 2000 (latency)")
upstream_pid=$(cat "$RAIND_TEST_ROOT/outside/dnsmasq.pid")
: > "$work/rows"

# --- cached -----------------------------------------------------------------------------------
start_daemon cached ""
gateway=$("${raind[@]}" network ls 2>/dev/null | awk '$1 == "raind0" {print $3}')
if [ "$bridge_row" = 1 ]; then
  [ -n "$gateway" ] || die "no raind0 network after start-up (use --no-bridge)"
  setup_client_ns
fi
for s in "${!sets[@]}"; do
  # shellcheck disable=SC2086
  run_row "c$s-up" "upstream dnsmasq $upstream (direct)" "$upstream" "$upstream_pid" main peer ${sets[$s]}
  warm  # every row starts warm (the answers' TTL is 300 s)
  # shellcheck disable=SC2086
  run_row "c$s-px" "condenserd proxy $proxy (cache warm)" "$proxy" "$daemon" main proxy ${sets[$s]}
  if [ "$bridge_row" = 1 ] && [ "$s" = 0 ]; then
    attach_client_ns
    warm
    # shellcheck disable=SC2086
    run_row "c$s-br" "condenserd from raind0 ($gateway, DNAT)" "$gateway" "$daemon" client proxy ${sets[$s]}
  fi
done
cached_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status" 2>/dev/null || echo 0)
stop_daemon

# --- uncached -------------------------------------------------------------------------------
dnsmasq --no-resolv --no-hosts --server="$upstream" --cache-size=0 --listen-address="$forwarder" \
  --bind-interfaces --port=53 --user=root --keep-in-foreground --pid-file="$work/forwarder.pid" \
  --log-facility="$work/forwarder.log" &
fwd=$!
for _ in $(seq 1 100); do
  dig +short +time=1 +tries=1 @"$forwarder" svc1.raind.test A 2>/dev/null | grep -qx '10.77.0.2' && break
  kill -0 "$fwd" 2>/dev/null || die "the forwarding dnsmasq did not start: $(cat "$work/forwarder.log" 2>/dev/null)"
  sleep 0.05
done
start_daemon uncached "  cache_size: 0"
for s in "${!sets[@]}"; do
  # shellcheck disable=SC2086
  run_row "u$s-fw" "dnsmasq forwarder $forwarder (cache 0)" "$forwarder" "$fwd" main peer ${sets[$s]}
  # shellcheck disable=SC2086
  run_row "u$s-px" "condenserd proxy $proxy (cache_size 0)" "$proxy" "$daemon" main proxy ${sets[$s]}
  if [ "$bridge_row" = 1 ] && [ "$s" = 0 ]; then
    attach_client_ns
    # shellcheck disable=SC2086
    run_row "u$s-br" "condenserd from raind0 ($gateway, DNAT)" "$gateway" "$daemon" client proxy ${sets[$s]}
  fi
done
uncached_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status" 2>/dev/null || echo 0)
stop_daemon
kill -TERM "$fwd"; wait "$fwd" 2>/dev/null || true; fwd=""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------
print_row() {
  printf '  %-44s %9.0f %8.3f %8.2f %9d %6d %5.0f%%\n' "$(field "$1" 2)" "$(field "$1" 3)" \
    "$(field "$1" 4)" "$(field "$1" 5)" "$(field "$1" 6)" "$(field "$1" 7)" "$(field "$1" 9)"
}
print_ratio() {  # proxy row, peer row, label
  printf '  %-44s %8.2fx %7.2fx\n' "$3" "$(echo "$(field "$1" 3) / $(field "$2" 3)" | bc -l)" \
    "$(echo "$(field "$1" 4) / $(field "$2" 4)" | bc -l)"
}
has_row() { [ -n "$(field "$1" 1)" ]; }
echo "== DNS: condenserd proxy vs dnsmasq, dnsperf -l $duration over UDP, 1000 names (svcN.raind.test A) =="
printf '%-40s %s\n' "nproc" "$(nproc)" \
  "load average (1/5/15 min)" "$load_before before, $load_after after (other work on the host skews every figure)" \
  "dnsperf" "$(dnsperf -h 2>&1 | awk '/^Version/ {print $2}' || true)" \
  "dnsmasq" "$(dnsmasq --version | awk 'NR == 1 {print $3}')" \
  "condenserd" "log_level info, query log on (raind_dns.jsonl), flowlog off"
printf '  %-44s %9s %8s %8s %9s %6s %6s\n' "" "qps" "avg ms" "max ms" "sent" "lost" "cpu"
for s in "${!sets[@]}"; do
  echo "-- ${set_names[$s]} --"
  echo " cached"
  print_row "c$s-up"; print_row "c$s-px"
  if has_row "c$s-br"; then print_row "c$s-br"; fi
  echo " uncached"
  print_row "u$s-fw"; print_row "u$s-px"
  if has_row "u$s-br"; then print_row "u$s-br"; fi
  printf '  %-44s %9s %8s\n' "ratios (proxy / peer)" "qps" "latency"
  print_ratio "c$s-px" "c$s-up" "cached: proxy / upstream dnsmasq"
  if has_row "c$s-br"; then print_ratio "c$s-br" "c$s-up" "cached: proxy from raind0 / upstream dnsmasq"; fi
  print_ratio "u$s-px" "u$s-fw" "uncached: proxy / dnsmasq forwarder"
  if has_row "u$s-br"; then print_ratio "u$s-br" "u$s-fw" "uncached: proxy from raind0 / forwarder"; fi
done
best=$(awk -F'\t' '$1 ~ /^c[0-9]-px$/ && $3 > m {m = $3} END {printf "%.0f", m}' "$work/rows")
printf '%-40s %s qps (goal: >= 50000 qps) -> %s\n' "best cached proxy figure" "$best" \
  "$([ "$best" -ge 50000 ] && echo "goal met" || echo "goal NOT met")"
printf '%-40s %.1f MiB cached run, %.1f MiB uncached run\n' "condenserd peak RSS" \
  "$(echo "$cached_rss_kb / 1024" | bc -l)" "$(echo "$uncached_rss_kb / 1024" | bc -l)"
echo "cpu: the server's (dnsmasq or condenserd, all threads) CPU over the row, 100% = one core"
echo "== per row: response codes | proxy counters (deltas), UDP receive-buffer drops in the sandbox netns =="
awk -F'\t' '{printf "  %-6s %s | %s\n", $1, $8, $10}' "$work/rows"
echo "== condenserd log: warnings and errors =="
n=0
for f in "$work"/condenserd-*.out; do
  found=$(grep -E 'level=(warning|error|critical)' "$f" | grep -v 'AppArmor is not enabled' || true)
  if [ -n "$found" ]; then
    sed "s|^|  $(basename "$f" .out): |" <<<"$found"
    n=1
  fi
done
if [ "$n" = 0 ]; then echo "  (none but the AppArmor notice)"; fi
