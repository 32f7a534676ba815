#!/usr/bin/env bash
# Installs into a DESTDIR with scripts/install.sh, then runs `systemd-analyze verify` on the
# installed unit (ExecStart pointed at the staged binary, since verify checks it exists).
set -euo pipefail
src=$1
bin=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage "$src/scripts/install.sh" --build-dir "$(dirname "$bin")" --prefix /usr/local
test -x "$stage/usr/local/bin/condenserd"
test -f "$stage/etc/raind/condenserd.yaml"
unit=$stage/etc/systemd/system/condenserd.service
test "$(stat -c %a "$unit")" = 644
for key in Type=notify KillMode=process Delegate=yes Restart=on-failure NotifyAccess=main; do
  grep -qx "$key" "$unit" || { echo "unit lacks $key"; exit 1; }
done
# Options that would break container management must not be there.
for bad in PrivateNetwork PrivateTmp PrivateDevices ProtectKernelTunables ProtectControlGroups \
           ProtectSystem RestrictNamespaces SystemCallFilter ProtectHome; do
  if grep -q "^$bad=" "$unit"; then echo "unit sets $bad, which breaks containers"; exit 1; fi
done
# A second install keeps an operator's config.
echo "log_level: debug" > "$stage/etc/raind/condenserd.yaml"
DESTDIR=$stage "$src/scripts/install.sh" --build-dir "$(dirname "$bin")" >/dev/null
grep -q "log_level: debug" "$stage/etc/raind/condenserd.yaml"
sed "s#^ExecStart=/usr/local/bin/condenserd#ExecStart=$stage/usr/local/bin/condenserd#" "$unit" \
  > "$stage/condenserd.service"
out=$(systemd-analyze verify "$stage/condenserd.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "systemd-analyze verify warnings:"; echo "$out"; exit 1; fi
echo "ok: unit verifies"
