#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine with no internet:
#   sudo scripts/demo.sh
# Installs the dependencies (Debian packages only), builds Raind, builds the busybox test image
# from Debian's busybox-static, and tells the story inside a throwaway sandbox (its own network
# and mount namespaces, temporary state, a nested cgroup), cleaning everything up at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (sudo scripts/demo.sh): containers need namespaces and cgroups" >&2
  exit 1
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "installing dependencies from Debian's archive (scripts/bootstrap.sh)"
bash scripts/bootstrap.sh

step "building Raind (scripts/build.sh)"
build_dir=$(bash scripts/build.sh release | tail -n 1)
export RAIND_BIN_DIR="$PWD/$build_dir/bin"

image_dir=$(mktemp -d /tmp/raind-demo-image.XXXXXX)
trap 'rm -rf "$image_dir"' EXIT
step "building the busybox test image with no network (scripts/build-test-image.sh)"
bash scripts/build-test-image.sh "$image_dir" >/dev/null
echo "rootfs, OCI bundle, OCI image layout and docker-archive in $image_dir"

step "entering a sandbox: fresh network + mount namespaces, temporary roots, nested cgroup"
bash scripts/sandbox.sh -- bash scripts/demo-steps.sh "$image_dir"
step "done: the sandbox and everything in it are gone"
