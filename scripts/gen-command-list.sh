#!/usr/bin/env bash
# Regenerates docs/command_list.md from the --help of the built binaries:
#   scripts/gen-command-list.sh [BIN_DIR]      (default build/bin)
# The CTest docs_command_list checks the file against the binaries (scripts/command_list.py check).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${1:-$here/build/bin}
tmp=$(mktemp "$here/docs/.command_list.md.XXXXXX")
trap 'rm -f "$tmp"' EXIT
python3 "$here/scripts/command_list.py" generate --bin-dir "$bin_dir" > "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$here/docs/command_list.md"
trap - EXIT
echo "wrote docs/command_list.md"
