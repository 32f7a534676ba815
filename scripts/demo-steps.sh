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

# ---- The whole stack: raind → condenserd → droplet ----
daemon_root="$RAIND_TEST_ROOT/condenserd"
mkdir -p "$daemon_root"
cat > "$daemon_root/condenserd.yaml" <<CONF
state_dir: $daemon_root/state
run_dir: $daemon_root/run
log_dir: $daemon_root/log
pki_dir: $daemon_root/pki
listen:
  management: 127.0.0.1:0
  hooks: 127.0.0.1:0
  ca: 127.0.0.1:0
runtime:
  cgroup_parent: $cgroup_parent/containers
  nameservers: [${RAIND_OUTSIDE_DNS:-198.51.100.2}]
  stop_timeout_s: 2
images:
  insecure_registries: ["127.0.0.1:5000"]
CONF
say "condenserd: the control plane (mTLS API, PKI, SQLite state, networking), here on loopback"
"$RAIND_BIN_DIR/condenserd" --config "$daemon_root/condenserd.yaml" >"$daemon_root/condenserd.out" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 200); do [ -s "$daemon_root/run/listeners.json" ] && break; sleep 0.05; done
raind() { "$RAIND_BIN_DIR/raind" --pki-dir "$daemon_root/pki" \
  --host "https://$(jq -r .management "$daemon_root/run/listeners.json")" "$@"; }
show() { printf '\033[2m$ raind %s\033[0m\n' "$*"; raind "$@"; }
show system info | head -n 6

say "images come from a tarball here (no internet): the busybox image as an OCI layout"
show image import "$image_dir/busybox-oci.tar" --name busybox:latest

say "or from a registry: Debian's docker-registry on loopback, an OCI index pulled for this platform"
registry_env=(STATE="$RAIND_TEST_ROOT/registry" MODE=plain PORT=5000 IMAGE_DIR="$image_dir")
env "${registry_env[@]}" bash "$(dirname "$0")/local-registry.sh" start >/dev/null
env "${registry_env[@]}" bash "$(dirname "$0")/local-registry.sh" push >/dev/null
show image pull 127.0.0.1:5000/busybox:multi
raind image inspect 127.0.0.1:5000/busybox:multi | jq -c '{reference, os, architecture, index_digest, layers}'
show image ls
env "${registry_env[@]}" bash "$(dirname "$0")/local-registry.sh" clean

say "a web server with its own address, identity and limits; port 8080 published"
show container run -d --name web -p 8080:80 --memory 64m busybox:latest httpd -f -p 80 -h /etc
show container ls
raind container inspect web | jq '{id, ip, veth, spiffe_id, ports}'
if [ -n "${RAIND_OUTSIDE_NETNS:-}" ]; then
  say "from another host (the 'outside' namespace), through the published port"
  sleep 0.3
  printf '\033[2m$ curl http://198.51.100.1:8080/hostname   # from %s\033[0m\n' "$RAIND_OUTSIDE_NETNS"
  ip netns exec "$RAIND_OUTSIDE_NETNS" curl -sS --max-time 3 http://198.51.100.1:8080/hostname
fi

say "exec returns the output and the exit code"
show container exec web sh -c 'echo "I am $(hostname) at $(ip -4 -o addr show eth0 | awk "{print \$4}")"'

say "zero trust: containers do not reach each other until a committed policy says so"
show container run -d --name client busybox:latest sleep 600
web_ip=$(raind container inspect web | jq -r .ip)
printf '\033[2m$ raind container exec client wget -O - http://%s/hostname\033[0m\n' "$web_ip"
raind container exec client timeout 2 wget -q -O - "http://$web_ip/hostname" 2>/dev/null || echo "(no answer: east-west is denied by default)"
show policy add --type ew -s client -d web -p tcp --dport 80 --comment "client calls web"
raind container exec client timeout 2 wget -q -O - "http://$web_ip/hostname" 2>/dev/null || echo "(still no answer: the policy is only staged)"
show policy commit -y
printf '\033[2m$ raind container exec client wget -O - http://%s/hostname\033[0m\n' "$web_ip"
raind container exec client timeout 2 wget -q -O - "http://$web_ip/hostname"
show policy ls --type ew
say "the host is out of reach from containers (only DNS to the gateway passes)"
raind container exec client ping -c1 -W1 10.166.0.254 >/dev/null 2>&1 || echo "(ping 10.166.0.254, the gateway: dropped and logged)"

say "every flow explained: who, to whom, which policy, what verdict (ulogd2 → condenserd)"
sleep 0.5
show logs netflow -n 6
say "the same, as the JSON a SIEM receives"
raind logs netflow --json -n 1 --verdict allow | jq .

say "names resolve through condenserd's caching DNS proxy; each query is logged"
show container exec client raind-probe dns 10.166.0.254 upstream.raind.test udp
raind container exec client raind-probe dns 10.166.0.254 upstream.raind.test udp >/dev/null
show logs dns -n 2

say "resource metrics from the container's cgroup (v1 or v2)"
show container stats --no-stream

say "a bottle: two services, their start order and the one flow allowed between them"
cat > "$daemon_root/shop.yaml" <<'YAML'
bottle:
  name: shop
services:
  db:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "5432", "-h", "/etc"]
  web:
    image: busybox:latest
    command: ["sleep", "600"]
    env: ["DB=db:5432"]
    depends_on: [db]
policies:
  - type: east-west
    source: web
    destination: db
    protocol: tcp
    dest_port: 5432
YAML
sed 's/^/    /' "$daemon_root/shop.yaml"
show bottle create -f "$daemon_root/shop.yaml"
show bottle start shop
show container exec shop-web sh -c 'echo "DB=$DB"; raind-probe http-get db 5432 /hostname | tail -n 1'
show bottle show shop
show bottle rm shop

say "a limit that holds: 32 MiB, and the shell tries to hold 64 MiB"
set +e
show container run --rm --name hog --memory 32m busybox:latest sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived'
echo "exit status: $?"
set -e

say "live restore: condenserd is killed (-9) and restarted; the container never notices"
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
"$RAIND_BIN_DIR/condenserd" --config "$daemon_root/condenserd.yaml" >>"$daemon_root/condenserd.out" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 200); do
  [ "$(jq -r .pid "$daemon_root/run/listeners.json" 2>/dev/null)" = "$daemon_pid" ] && break; sleep 0.05
done
show container ls
show container stop web
show container rm web
raind container rm -f client >/dev/null
say "every API call is in the audit log, with the caller's SPIFFE id"
jq -c 'select(.action | test("^(container|policy)[.]")) | {action, target: (.target.container_name // .target), who: .actor.spiffe_id, code: .result.code}' \
  "$daemon_root/log/raind_audit.jsonl" | tail -n 6
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true

# ---- droplet on its own ----
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

say "Raind extensions: an overlay rootfs from image layers and a veth on a bridge (libnl)"
# A bridge in the sandbox's own network namespace stands in for condenserd's raind0.
run ip link add raind-demo0 type bridge
run ip addr add 10.166.99.254/24 dev raind-demo0
run ip link set raind-demo0 up
layers="$work/layers"
mkdir -p "$layers/base" "$layers/app" "$layers/upper" "$layers/work" "$work/bundle2/rootfs"
cp -a "$image_dir/bundle/rootfs/." "$layers/base/"
echo "written in the app layer" > "$layers/app/hello.txt"
image_cfg=$(jq -cn --arg app "$layers/app" --arg base "$layers/base" --arg up "$layers/upper" --arg wk "$layers/work" \
  '{rootfsType: "overlay", imageLayer: [$app, $base], upperDir: $up, workDir: $wk}')
net_cfg='{"bridgeInterface":"raind-demo0","interface":{"name":"rd_demo2","ipv4":{"address":"10.166.99.2/24","gateway":"10.166.99.254"}}}'
jq --arg cg "$cgroup_parent/demo2" --arg img "$image_cfg" --arg net "$net_cfg" '
  .process.args = ["sh", "-c", "cat /hello.txt; ip -4 -o addr show eth0; ping -c1 -W2 10.166.99.254 | grep -E \"bytes from|loss\"; echo change > /new-file"] |
  .process.capabilities.bounding += ["CAP_NET_RAW"] | .process.capabilities.effective += ["CAP_NET_RAW"] |
  .process.capabilities.permitted += ["CAP_NET_RAW"] |
  .linux.cgroupsPath = $cg | .annotations["io.raind.image.config"] = $img | .annotations["io.raind.net.config"] = $net' \
  "$image_dir/bundle/config.json" > "$work/bundle2/config.json"
run "$droplet" --root "$root" --audit-log "$work/audit.jsonl" run --bundle "$work/bundle2" demo2
echo "the container's write landed in the upper dir: $(ls "$layers/upper")"
echo "host end of the veth after delete: $(ip -o link show type veth | grep -c rd_demo2 || true) left"

say "the audit log: one JSON record per lifecycle step"
jq -c '{event, container_id, result, config_sha256: .oci.config_sha256[0:12], namespaces: (.namespaces | to_entries | map(select(.value)) | map(.key) | join(","))}' "$work/audit.jsonl"
run ip link del raind-demo0
