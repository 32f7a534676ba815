#!/usr/bin/env python3
"""Walks the --help of raind, droplet and condenserd (CLI11) through every subcommand.

  command_list.py generate --bin-dir build/bin > docs/command_list.md
  command_list.py check    --bin-dir build/bin --doc docs/command_list.md

`generate` writes the command reference. `check` fails, naming each one, when a command, an
option or a positional argument that a binary's --help shows is missing from its section of the
document (the section under the heading "### `<command path>`"), and when the document has a
section for a command that no longer exists. scripts/gen-command-list.sh regenerates the file.
"""
import argparse
import pathlib
import re
import subprocess
import sys

PROGRAMS = ("raind", "droplet", "condenserd")
COLUMN = 30  # CLI11's default description column
FLAGS = re.compile(r"(?:-{1,2}[A-Za-z0-9][\w-]*,)*-{1,2}[A-Za-z0-9][\w-]*")
HELP_FLAGS = {"-h", "--help"}


class Command:
    def __init__(self, path):
        self.path = path  # ["raind", "container", "run"]
        self.description = ""
        self.usage = ""
        self.positionals = []  # (name, detail, description)
        self.options = []  # ([flags], detail, description)
        self.subcommands = []  # (name, description)
        self.children = []

    @property
    def name(self):
        return " ".join(self.path)


def split_entry(line):
    """An entry line of a CLI11 help section: (name part, description on this line)."""
    body = line[2:]
    if len(line) > COLUMN and line[COLUMN - 1] == " " and line[2:COLUMN].strip():
        return line[2:COLUMN].strip(), line[COLUMN:].strip()
    return body.strip(), ""


def parse_help(path, text):
    cmd = Command(path)
    section = "description"
    description = []
    entries = []  # [section, name, [description parts]]
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("Usage:"):
            cmd.usage = line
            section = None
            continue
        if section == "description":
            if line:
                description.append(line.strip())
            continue
        if line in ("Positionals:", "Options:", "Subcommands:"):
            section = line[:-1].lower()
            continue
        if not line or section is None:
            continue
        if line.startswith("  ") and not line.startswith("   "):
            name, desc = split_entry(line)
            entries.append([section, name, [desc] if desc else []])
        elif line.startswith("   ") and entries:
            entries[-1][2].append(line.strip())
    cmd.description = " ".join(description)
    for section, name, parts in entries:
        desc = " ".join(parts)
        if section == "subcommands":
            cmd.subcommands.append((name.split()[0], desc))
        elif section == "positionals":
            token, _, detail = name.partition(" ")
            cmd.positionals.append((token, detail.strip(), desc))
        else:
            match = FLAGS.match(name)
            if not match:
                raise SystemExit(f"{cmd.name}: cannot read option line {name!r}")
            flags = match.group(0).split(",")
            cmd.options.append((flags, name[match.end():].strip(), desc))
    return cmd


def run_help(bin_dir, path):
    binary = bin_dir / path[0]
    if not binary.exists():
        raise SystemExit(f"{binary} is not built (build raind, droplet and condenserd first)")
    result = subprocess.run([str(binary), *path[1:], "--help"], capture_output=True, text=True,
                            timeout=30)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(path)} --help exited {result.returncode}: {result.stderr}")
    return result.stdout


def walk(bin_dir, path):
    text = run_help(bin_dir, path)
    # CLI11 prints argv[0]: show the program's name, not the build tree's path.
    text = text.replace(f"Usage: {bin_dir / path[0]}", f"Usage: {path[0]}")
    cmd = parse_help(path, text)
    for name, _ in cmd.subcommands:
        cmd.children.append(walk(bin_dir, path + [name]))
    return cmd


def flatten(cmd):
    yield cmd
    for child in cmd.children:
        yield from flatten(child)


def cell(text):
    """Markdown table cell: pipes escaped, <placeholders> kept visible."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


INTRO = """\
# Command reference

Every command of the three programs with every option, generated from their `--help` by
`scripts/gen-command-list.sh` (do not edit by hand: regenerate after changing a command).
The CTest `docs_command_list` walks every command's `--help` of the built binaries and fails when
a command, an option or an argument is missing here.

- `raind` is the operator's CLI. It talks to condenserd's management API over HTTPS with the
  client certificate in `--pki-dir` (env `RAIND_PKI_DIR`, default `/etc/raind/pki`: `cli.crt`,
  `cli.key`, `ca.crt`) at `--host` (env `RAIND_HOST`, default `https://127.0.0.1:7755`). It exits
  non-zero on any failure and prints the daemon's message. Listings take `--json`. The API behind
  each command is in [api.md](api.md).
- `droplet` is the OCI runtime, with runc's command line (`podman --runtime droplet` works); see
  [droplet.md](droplet.md). condenserd runs it as `droplet --root <run_dir>/droplet --audit-log
  <log_dir>/droplet_audit.jsonl …`.
- `condenserd` is the daemon (normally started by systemd, see [install.md](install.md));
  `condenserd hook` is the OCI hook client droplet runs for containers condenserd creates.

Every command also accepts `-h`/`--help`. In the tables, an argument such as `TEXT`, `INT` or
`UINT` is the value an option takes, `=x` its default, `...` means it may be repeated, and
`REQUIRED` that it must be given.
"""


def render(roots):
    out = [INTRO]
    for root in roots:
        out.append(f"\n## {root.path[0]}\n")
        for cmd in flatten(root):
            out.append(f"\n### `{cmd.name}`\n")
            if cmd.description:
                out.append(f"\n{cell(cmd.description)}\n")
            out.append(f"\n```text\n{cmd.usage}\n```\n")
            rows = []
            for name, detail, desc in cmd.positionals:
                rows.append(f"| `{name}` (argument) | {cell(detail)} | {cell(desc)} |")
            for flags, detail, desc in cmd.options:
                if set(flags) <= HELP_FLAGS:
                    continue
                shown = ", ".join(f"`{f}`" for f in flags)
                rows.append(f"| {shown} | {cell(detail)} | {cell(desc)} |")
            if rows:
                out.append("\n| option or argument | value | description |\n|---|---|---|\n")
                out.append("\n".join(rows) + "\n")
            if cmd.subcommands:
                out.append("\n| subcommand | description |\n|---|---|\n")
                for name, desc in cmd.subcommands:
                    out.append(f"| `{cmd.name} {name}` | {cell(desc)} |\n")
    return "".join(out)


def sections(doc):
    """heading name -> section text, for '### `name`' headings."""
    found = {}
    current = None
    for line in doc.splitlines():
        m = re.match(r"^### `([^`]+)`\s*$", line)
        if m:
            current = m.group(1)
            found[current] = []
        elif line.startswith("## "):
            current = None
        elif current is not None:
            found[current].append(line)
    return {k: "\n".join(v) for k, v in found.items()}


def check(roots, doc_path):
    doc = doc_path.read_text(encoding="utf-8")
    have = sections(doc)
    problems = []
    names = set()
    count = 0
    for root in roots:
        for cmd in flatten(root):
            names.add(cmd.name)
            count += 1
            text = have.get(cmd.name)
            if text is None:
                problems.append(f"command `{cmd.name}` has no section (### `{cmd.name}`)")
                continue
            for flags, _, _ in cmd.options:
                for flag in flags:
                    if flag not in HELP_FLAGS and f"`{flag}`" not in text:
                        problems.append(f"`{cmd.name}`: option {flag} is not documented")
            for name, _, _ in cmd.positionals:
                if f"`{name}`" not in text:
                    problems.append(f"`{cmd.name}`: argument {name} is not documented")
            for name, _ in cmd.subcommands:
                if f"`{cmd.name} {name}`" not in text:
                    problems.append(f"`{cmd.name}`: subcommand {name} is not listed")
    for name in sorted(set(have) - names):
        problems.append(f"{doc_path} documents `{name}`, which is not a command any more")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {doc_path}; regenerate it with "
              "scripts/gen-command-list.sh", file=sys.stderr)
        return 1
    print(f"all {count} commands with their options are documented in {doc_path}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("generate", "check"))
    parser.add_argument("--bin-dir", required=True, type=pathlib.Path)
    parser.add_argument("--doc", type=pathlib.Path, help="check: the document to check")
    args = parser.parse_args()
    roots = [walk(args.bin_dir, [p]) for p in PROGRAMS]
    if args.mode == "generate":
        sys.stdout.write(render(roots))
        return 0
    if not args.doc:
        parser.error("check needs --doc")
    return check(roots, args.doc)


if __name__ == "__main__":
    sys.exit(main())
