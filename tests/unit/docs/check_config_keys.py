#!/usr/bin/env python3
"""Every key condenserd's configuration parser accepts must be documented in docs/install.md.

condenser/config/config.cpp declares one `std::map<std::string, Setter> <section>{...}` per
section (`top` is the file's top level); each entry starts with {"<key>", …}. The documented name
is `<section>.<key>` (`<key>` at the top level), in backquotes. Fails naming every key missing
from install.md, and when the source yields too few keys (the declaration style changed).

usage: check_config_keys.py SOURCE_DIR
"""
import pathlib
import re
import sys

SECTION = re.compile(r'std::map<std::string,\s*Setter>\s+(\w+)\s*\{(.*?)\n\s*\};', re.S)
KEY = re.compile(r'^\s*\{"([a-z0-9_]+)"\s*,', re.M)


def config_keys(text):
    keys = []
    for section, body in SECTION.findall(text):
        for key in KEY.findall(body):
            keys.append(key if section == "top" else f"{section}.{key}")
    return keys


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = pathlib.Path(sys.argv[1])
    keys = config_keys((source / "condenser/config/config.cpp").read_text(encoding="utf-8"))
    if len(keys) < 20:
        print(f"found only {len(keys)} configuration keys in config.cpp: has the declaration "
              "style changed? update this check", file=sys.stderr)
        return 1
    doc_path = source / "docs" / "install.md"
    doc = doc_path.read_text(encoding="utf-8")
    missing = [k for k in keys if f"`{k}`" not in doc]
    for k in missing:
        print(f"configuration key `{k}` (condenser/config/config.cpp) is not documented in "
              f"{doc_path}", file=sys.stderr)
    if missing:
        return 1
    print(f"all {len(keys)} configuration keys are documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
