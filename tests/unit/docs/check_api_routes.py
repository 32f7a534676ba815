#!/usr/bin/env python3
"""Every route condenserd registers must be documented in docs/api.md.

Reads the route registrations (`<router>.add("METHOD", "/path/{param}", "audit.action", ...)`)
from condenser/handlers/*.cpp and condenser/api/*.cpp and fails, naming each one, when
docs/api.md lacks "METHOD /path" or the route's audit action. Also fails when the source yields
no routes at all (the pattern no longer matches the code) and when api.md documents a route the
daemon does not register.

usage: check_api_routes.py SOURCE_DIR
"""
import pathlib
import re
import sys

ROUTE = re.compile(
    r'(\w+)\s*\.\s*add\(\s*"(GET|POST|PUT|PATCH|DELETE|HEAD)"\s*,\s*"(/[^"]*)"\s*,\s*"([^"]+)"',
    re.S)
# A documented route: `METHOD /v1/...` in backquotes.
DOCUMENTED = re.compile(r'`(GET|POST|PUT|PATCH|DELETE|HEAD) (/v1/[^`?\s]*)')


def registered_routes(source):
    routes = []
    for folder in ("condenser/handlers", "condenser/api"):
        for path in sorted((source / folder).glob("*.cpp")):
            text = path.read_text(encoding="utf-8")
            for router, method, pattern, action in ROUTE.findall(text):
                routes.append((router, method, pattern, action, path.relative_to(source)))
    return routes


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = pathlib.Path(sys.argv[1])
    doc_path = source / "docs" / "api.md"
    doc = doc_path.read_text(encoding="utf-8")
    routes = registered_routes(source)
    if len(routes) < 10:
        print(f"found only {len(routes)} route registrations in the source: "
              "has the registration pattern changed? update this check", file=sys.stderr)
        return 1
    problems = []
    for router, method, pattern, action, origin in routes:
        # "`POST /v1/x`" or "`POST /v1/x?query…`", not a longer path that starts the same.
        needle = re.compile(re.escape(f"`{method} {pattern}") + r"[`?]")
        if not needle.search(doc):
            problems.append(f"{method} {pattern} ({router} router, {origin}) is not in {doc_path}")
        if f"`{action}`" not in doc:
            problems.append(f"audit action `{action}` of {method} {pattern} is not in {doc_path}")
    registered = {(m, p) for _, m, p, _, _ in routes}
    for method, pattern in sorted(set(DOCUMENTED.findall(doc))):
        if (method, pattern) not in registered:
            problems.append(f"{doc_path} documents {method} {pattern}, which no handler registers")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); {len(routes)} routes registered", file=sys.stderr)
        return 1
    print(f"all {len(routes)} registered routes are documented with their audit actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
