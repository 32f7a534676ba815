#!/usr/bin/env bash
# Builds Raind's busybox test image with no network, from Debian's busybox-static:
#   OUTDIR/rootfs/                     busybox + applet links + /bin/raind-probe (static helper)
#   OUTDIR/bundle/{config.json,rootfs} an OCI runtime bundle (runtime-spec 1.2)
#   OUTDIR/oci-layout/                 OCI image layout: busybox:latest (amd64), busybox-arm64,
#                                      and an OCI index tagged "multi"
#   OUTDIR/busybox-oci.tar             the layout as a tarball
#   OUTDIR/busybox-docker-archive.tar  docker-archive (docker save format)
# Usage: scripts/build-test-image.sh OUTDIR   (idempotent: unchanged inputs are not rebuilt)
set -euo pipefail
out=${1:?usage: build-test-image.sh OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox
probe_src="$repo/tests/fixtures/raind-probe.c"
for tool in "$busybox" gcc jq umoci skopeo tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "build-test-image: missing $tool (run scripts/bootstrap.sh)" >&2; exit 1; }
done
file "$busybox" 2>/dev/null | grep -q 'statically linked' || [ -n "$(ldd "$busybox" 2>&1 | grep 'not a dynamic')" ] || {
  echo "build-test-image: $busybox is not static: install busybox-static" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp_input=$( (sha256sum "$busybox" "$probe_src" "$0") | sha256sum | cut -d' ' -f1)
if [ -f "$out/STAMP" ] && [ "$(cat "$out/STAMP")" = "$stamp_input" ]; then
  echo "build-test-image: $out is up to date"
  exit 0
fi
rm -rf "$out/rootfs" "$out/bundle" "$out/oci-layout" "$out/busybox-oci.tar" \
  "$out/busybox-docker-archive.tar" "$out/STAMP" "$out/.work"
work="$out/.work"
mkdir -p "$work"

# --- rootfs -------------------------------------------------------------------------------
rootfs="$out/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,home/raind,var/www,run}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$rootfs/bin/$applet"
done
gcc -static -O2 -o "$rootfs/bin/raind-probe" "$probe_src"
strip "$rootfs/bin/raind-probe"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
raind:x:1000:1000:raind test user:/home/raind:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
raind:x:1000:
nogroup:x:65534:
GROUP
echo raind-test > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$rootfs/etc/hosts"
: > "$rootfs/etc/resolv.conf"
echo '<html><body>raind test image</body></html>' > "$rootfs/var/www/index.html"
chown -R 1000:1000 "$rootfs/home/raind"

# --- OCI runtime bundle ---------------------------------------------------------------------
mkdir -p "$out/bundle"
cp -a "$rootfs" "$out/bundle/rootfs"
jq -n '{
  ociVersion: "1.2.0",
  process: {
    terminal: false, user: {uid: 0, gid: 0}, args: ["sh"],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root"],
    cwd: "/",
    capabilities: (["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW",
                    "CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE",
                    "CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"] as $c
                   | {bounding: $c, effective: $c, permitted: $c, inheritable: [], ambient: []}),
    rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}],
    noNewPrivileges: true
  },
  root: {path: "rootfs", readonly: false},
  hostname: "raind-test",
  mounts: [
    {destination: "/proc", type: "proc", source: "proc"},
    {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid","strictatime","mode=755","size=65536k"]},
    {destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
    {destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid","noexec","nodev","mode=1777","size=65536k"]},
    {destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid","noexec","nodev"]},
    {destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid","noexec","nodev","ro"]},
    {destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid","noexec","nodev","relatime","ro"]}
  ],
  linux: {
    resources: {devices: [{allow: false, access: "rwm"}]},
    namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}],
    maskedPaths: ["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats",
                  "/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],
    readonlyPaths: ["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
  }
}' > "$out/bundle/config.json"

# --- OCI image layout (umoci), second arch, index ----------------------------------------------
layout="$out/oci-layout"
umoci init --layout "$layout"
umoci new --image "$layout:busybox"
umoci unpack --rootless --image "$layout:busybox" "$work/unpack" >/dev/null
cp -a "$rootfs/." "$work/unpack/rootfs/"
umoci repack --image "$layout:busybox" "$work/unpack" >/dev/null
umoci config --image "$layout:busybox" --tag latest --config.cmd /bin/sh \
  --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.workingdir / --os linux --architecture amd64 --author "raind test image"
umoci config --image "$layout:latest" --tag busybox-arm64 --architecture arm64
umoci rm --image "$layout:busybox"
# Hand-written OCI index (umoci has no index command): amd64 + arm64 manifests, same layer.
desc_for() { jq -c --arg ref "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $ref)' "$layout/index.json"; }
amd=$(desc_for latest); arm=$(desc_for busybox-arm64)
index=$(jq -cn --argjson a "$amd" --argjson b "$arm" '{
  schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    ($a | del(.annotations) | .platform = {architecture: "amd64", os: "linux"}),
    ($b | del(.annotations) | .platform = {architecture: "arm64", os: "linux", variant: "v8"})]}')
index_digest=$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
printf '%s' "$index" > "$layout/blobs/sha256/$index_digest"
jq --arg d "sha256:$index_digest" --argjson size "${#index}" \
  '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $size,
                   annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
  "$layout/index.json" > "$work/index.json"
mv "$work/index.json" "$layout/index.json"

tar -C "$layout" -cf "$out/busybox-oci.tar" .
skopeo --insecure-policy copy -q "oci:$layout:latest" "docker-archive:$out/busybox-docker-archive.tar:busybox:latest"

rm -rf "$work"
echo "$stamp_input" > "$out/STAMP"
echo "build-test-image: built $out"
