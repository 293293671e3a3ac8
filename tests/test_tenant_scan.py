"""Tenant isolation, statically: every registry lookup by code or id in a service or selector is scoped.

A lookup of a Member, MeteringPoint, PPEMembership, Generator or StorageUnit by its
code or id must name the cluster in the same query chain (``cluster=``,
``member__cluster=``, ``ppe__cluster=`` …) or go through a related manager of an
already scoped object. The few lookups that are deliberately unscoped are listed in
REVIEWED with the reason; a new unscoped lookup fails this test until it is scoped
or reviewed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACES = ["members/services", "members/selectors.py", "reports/services", "reports/selectors"]
REGISTRY_MODELS = {"Member", "MeteringPoint", "PPEMembership", "Generator", "StorageUnit"}
# Lookups by something that can come from outside (a code in a file, an id in a URL). Sets of
# ids (``pk__in=``) computed from an already scoped query are not listed: they cannot leave it.
IDENTIFYING = {"code", "code__iexact", "code__in", "ppe_code", "ppe_code__in", "ppe__code", "ppe__code__in",
               "pk", "id", "ppe_id", "member_id", "ref", "ref__in"}
CHAIN_METHODS = {"filter", "get", "exclude", "select_for_update", "select_related", "prefetch_related", "only",
                 "order_by", "first", "exists", "values", "values_list", "annotate", "get_or_create", "update_or_create"}

# (file, model, reason): unscoped on purpose.
REVIEWED = {
    ("reports/portal/invitations.py", "Member"):
        "re-reads, to lock it, the member the caller already took from the request's cluster",
    ("members/services/memberships.py", "PPEMembership"):
        "a PPE code may be active in one cluster at a time: the check must see every cluster; it returns only "
        "whether an overlap exists, never the other cluster's data",
}


def _files() -> list[Path]:
    out: list[Path] = []
    for place in PLACES:
        path = ROOT / place
        if path.is_dir():
            out.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            out.append(path)
    return out


def _chain(node: ast.AST) -> tuple[str | None, list[ast.Call]]:
    """For ``Model.objects.a(..).b(..)`` return ("Model", [calls]); otherwise (None, [])."""
    calls: list[ast.Call] = []
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHAIN_METHODS:
        calls.append(node)
        node = node.func.value
    if isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager") and isinstance(node.value, ast.Name):
        return node.value.id, calls
    return None, []


def _keywords(calls: list[ast.Call]) -> set[str]:
    names: set[str] = set()
    for call in calls:
        names.update(k.arg for k in call.keywords if k.arg)
    return names


def unscoped_lookups() -> list[str]:
    found: list[str] = []
    for path in _files():
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        seen: set[int] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in seen:
                continue
            model, calls = _chain(node)
            if model not in REGISTRY_MODELS:
                continue
            seen.update(id(c) for c in calls)
            keys = _keywords(calls)
            by_identity = bool(keys & IDENTIFYING)
            scoped = any("cluster" in k for k in keys)
            if by_identity and not scoped and (rel, model) not in REVIEWED:
                found.append(f"{rel}:{node.lineno} {model} by {sorted(keys)}")
    return found


def test_every_registry_lookup_by_code_or_id_names_the_cluster() -> None:
    assert unscoped_lookups() == []


def test_the_scan_finds_an_unscoped_lookup(tmp_path) -> None:
    """The scan itself works: an unscoped lookup in a service file is reported, a scoped one is not."""
    services = tmp_path / "members" / "services"
    services.mkdir(parents=True)
    (services / "bad.py").write_text(
        "def f(code, cluster):\n"
        "    a = MeteringPoint.objects.filter(code=code).first()\n"
        "    b = MeteringPoint.objects.filter(cluster=cluster).get(code=code)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert unscoped_lookups() == ["members/services/bad.py:2 MeteringPoint by ['code']"]
    finally:
        ROOT = saved
