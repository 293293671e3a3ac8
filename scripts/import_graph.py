"""Print the project's import graph checks: loops and imports that run back up.

    .venv/bin/python scripts/import_graph.py          # exit 1 on any finding

Every ``import`` / ``from … import`` in the project's modules counts, including the
ones inside functions (a lazy import hides a dependency, it does not remove it).
Layers, lowest first; a module may import only its own layer or lower ones:

    okeportal.jobs, okeportal.formatting,  shared infrastructure (job lifecycle, number formats,
    okeportal.textfiles,                   uploaded text encodings, stored messages)
    okeportal.messages
    members                                the registry (imports nothing from reports)
    reports.engine                         the pure engine (imports no Django)
    reports.models
    reports.metering                       meter store, parsers, imports
    reports.settlement                     gather, tariffs, runs, the snapshot
    reports.statements                     statements, cluster report, PDFs
    reports.portal                         the member portal, invitations, account
    views, forms, admin, commands, urls    the web and command layer

and within a package, services and selectors never import tasks (the caller queues
the task on commit) or views.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("members", "reports", "okeportal")

LAYERS: list[tuple[str, ...]] = [
    ("okeportal.jobs", "okeportal.formatting", "okeportal.formats", "okeportal.textfiles", "okeportal.messages"),
    ("members",),
    ("reports.engine",),
    ("reports.models",),
    ("reports.metering",),
    ("reports.settlement",),
    ("reports.statements",),
    ("reports.portal",),
]
TOP = ("reports.apps", "members.apps", "reports.views", "reports.forms", "reports.admin", "reports.management", "reports.urls", "reports.urls_portal",
       "reports.templatetags", "reports.tasks", "reports.receivers", "members.views", "members.forms", "members.admin",
       "members.management", "members.urls", "okeportal")
# Within members, the web/command layer sits above its services.
MEMBERS_TOP = ("members.apps", "members.views", "members.forms", "members.admin", "members.management", "members.urls", "members.filters")


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def layer_of(name: str) -> int:
    if name.startswith(TOP) and not name.startswith(LAYERS[0]):
        return len(LAYERS)
    if name.startswith(MEMBERS_TOP):
        return len(LAYERS)
    for i, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return len(LAYERS)


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    # A package's __init__ re-exporting its own modules is not a loop of the design.
    for name in graph:
        graph[name] = {t for t in graph[name] if not (known[t].name == "__init__.py" and name.startswith(t + "."))}
    findings = 0
    for comp in loops(graph):
        findings += 1
        print("loop:", " <-> ".join(comp))
    for name in sorted(graph):
        for target in sorted(graph[name]):
            up = layer_of(target) > layer_of(name)
            to_task = target.endswith(".tasks") or target == "reports.tasks"
            service = not name.startswith(TOP) and not name.startswith(MEMBERS_TOP) and not name.endswith(".tasks")
            if up or (service and (to_task or ".views" in target)):
                findings += 1
                print(f"up:   {name} -> {target}")
    engine_django = [n for n in graph if n.startswith("reports.engine") and "django" in known[n].read_text()]
    for n in engine_django:
        findings += 1
        print(f"engine imports django: {n}")
    print(f"{len(known)} modules, {sum(len(v) for v in graph.values())} imports, {findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
