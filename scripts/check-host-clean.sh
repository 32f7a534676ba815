#!/usr/bin/env bash
# Snapshots what tests could leak into the host and compares two snapshots:
#   scripts/check-host-clean.sh snapshot FILE
#   scripts/check-host-clean.sh compare FILE     # exit 1 and list anything new
# Covered: network namespaces, interfaces and RAIND iptables rules in the root namespace, mounts,
# cgroups named raind-*/droplet*, and processes of the programs the tests start.
set -euo pipefail

snapshot() {
  echo "# netns"
  ip netns list 2>/dev/null | awk '{print "netns " $1}' | sort
  echo "# links"
  ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}' | sed 's/@.*//' | sort
  echo "# iptables"
  for tool in iptables-nft-save iptables-legacy-save; do
    command -v "$tool" >/dev/null || continue
    "$tool" 2>/dev/null | grep -i 'raind' | sed "s/^/$tool /" || true
  done | sort
  echo "# mounts"
  awk '{print "mount " $5}' /proc/self/mountinfo | sort
  echo "# cgroups"
  for h in /sys/fs/cgroup/*/; do
    find "$h" -maxdepth 6 -type d \( -name 'raind-*' -o -name 'droplet*' -o -name 'libpod*' \) 2>/dev/null \
      | sed 's/^/cgroup /'
  done | sort
  echo "# processes"
  ps -eo pid=,comm= | awk '$2 ~ /^(droplet|condenserd|raind|ulogd|dnsmasq|docker-registr|conmon|raind-probe)$/ {print "proc " $1 " " $2}' | sort
}

case "${1:-}" in
  snapshot) snapshot > "$2" ;;
  compare)
    after=$(mktemp)
    trap 'rm -f "$after"' EXIT
    snapshot > "$after"
    leaked=$(comm -13 <(grep -v '^#' "$2" | sort) <(grep -v '^#' "$after" | sort) || true)
    if [ -n "$leaked" ]; then
      echo "host-clean: the test run left these behind:" >&2
      echo "$leaked" | sed 's/^/  /' >&2
      exit 1
    fi
    echo "host-clean: no namespaces, interfaces, rules, mounts, cgroups or processes left behind"
    ;;
  *) echo "usage: $0 snapshot|compare FILE" >&2; exit 2 ;;
esac
