#!/usr/bin/env bash
# Installs every build, runtime and test dependency of Raind from Debian's archive.
# Idempotent: packages already present are skipped by apt; safe to run repeatedly.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap.sh: must run as root (try: sudo $0)" >&2
  exit 1
fi

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev libboost-program-options-dev
  libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libnl-3-dev libnl-route-3-dev libseccomp-dev libapparmor-dev libcap-dev
  libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev libarchive-dev libldns-dev
  libsystemd-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-16 libclang-rt-16-dev clang-format clang-tidy
)
RUNTIME_PACKAGES=(
  iptables iproute2 ulogd2 ulogd2-json util-linux procps kmod
)
TEST_PACKAGES=(
  docker-registry skopeo umoci busybox-static jq podman runc crun
  iputils-ping curl openssl apache2-utils tmux dnsmasq-base dnsperf dnsutils
  python3 python3-jwt python3-cryptography python3-jsonschema conntrack hyperfine systemd
)

missing=()
for p in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all dependencies already installed"
  exit 0
fi

echo "bootstrap: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package postinst scripts must not start services (registry, ulogd) on the host.
policy_rc_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  policy_rc_created=1
fi
cleanup() { if [ "$policy_rc_created" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
