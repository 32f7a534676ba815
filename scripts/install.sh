#!/usr/bin/env bash
# Installs Raind from a build tree, `make install` style:
#   scripts/install.sh [--build-dir DIR] [--prefix /usr/local] [--no-systemd-reload]
# Honours DESTDIR (staged installs and tests). Installs
#   $PREFIX/bin/{condenserd,raind,droplet}           (those that were built), mode 0755
#   $PREFIX/share/raind/policies/                     seccomp, capabilities, AppArmor profile
#   /etc/systemd/system/condenserd.service            mode 0644
#   /etc/raind/condenserd.yaml                        only if absent, mode 0644
# Binaries outside /usr/local/bin get ExecStart rewritten in the installed unit.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$here/build"
prefix=/usr/local
reload=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --no-systemd-reload) reload=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
destdir=${DESTDIR:-}
bindir="$destdir$prefix/bin"
unitdir="$destdir/etc/systemd/system"
confdir="$destdir/etc/raind"

[ -x "$build_dir/bin/condenserd" ] || { echo "install.sh: $build_dir/bin/condenserd not built" >&2; exit 1; }
install -d -m 0755 "$bindir" "$unitdir"
install -d -m 0755 "$confdir"
for b in condenserd raind droplet; do
  if [ -x "$build_dir/bin/$b" ]; then
    install -m 0755 "$build_dir/bin/$b" "$bindir/$b"
    echo "installed $prefix/bin/$b"
  fi
done
# The default security profile condenserd puts into every container's config.json.
sharedir="$destdir$prefix/share/raind"
install -d -m 0755 "$sharedir/policies/apparmor"
install -m 0644 "$here/policies/seccomp-default.json" "$here/policies/capabilities.json" \
  "$sharedir/policies/"
install -m 0644 "$here/policies/apparmor/raind-default" "$sharedir/policies/apparmor/"
echo "installed $prefix/share/raind/policies"
# Load (or replace) the profile in the running kernel so containers can switch to it at once;
# condenserd leaves AppArmor out with a warning on hosts without it.
if [ -z "$destdir" ] && [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
  if command -v apparmor_parser >/dev/null; then
    apparmor_parser -r -W "$sharedir/policies/apparmor/raind-default"
    echo "loaded the AppArmor profile raind-default"
  else
    echo "warning: AppArmor is enabled but apparmor_parser is missing (apt install apparmor);" \
      "load $prefix/share/raind/policies/apparmor/raind-default before creating containers" >&2
  fi
fi
sed "s#/usr/local/bin/condenserd#$prefix/bin/condenserd#" "$here/systemd/condenserd.service" \
  > "$unitdir/condenserd.service.tmp"
chmod 0644 "$unitdir/condenserd.service.tmp"
mv -f "$unitdir/condenserd.service.tmp" "$unitdir/condenserd.service"
echo "installed /etc/systemd/system/condenserd.service"
if [ ! -e "$confdir/condenserd.yaml" ]; then
  install -m 0644 "$here/systemd/condenserd.yaml" "$confdir/condenserd.yaml"
  echo "installed /etc/raind/condenserd.yaml"
else
  echo "kept existing /etc/raind/condenserd.yaml"
fi
if [ -z "$destdir" ] && [ "$reload" = 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "run: systemctl enable --now condenserd"
fi
