"""Stored snapshots of finished runs to the typed snapshot contract (schema 2).

Before the contract a run's snapshot was an untyped dict; statements and the cluster
report re-parsed it with fallbacks, re-ran the engine's scenarios and read the
cluster's status from the live registry. This migration converts each finished run
once: it decodes the old dict, fills the few values older runs never recorded the
way the old readers did (rate rows used over the run's whole period; a fee exempt in
a cluster unless it is the capacity fee, and in a cooperative; the rule's storage
spread from the run's storage), records the cluster's status and the cooperative's
coverage rule on the period's last day as evaluated now, and computes the report's
scenario tables with the engine (``reports.settlement.results.run_scenarios``). A run
whose stored data cannot be read stops the migration with the run and the field named.
"""

from django.db import migrations


def _fill_rows(old: dict, run) -> dict:
    start, end = run.period_start.isoformat(), run.period_end.isoformat()

    def used(row: dict) -> dict:
        valid_to = row.get("valid_to")
        return {
            "used_from": row.get("used_from") or max(str(row.get("valid_from") or start), start),
            "used_to": row.get("used_to") or (min(str(valid_to), end) if valid_to else end),
        }

    storage_spread = (run.storage or {}).get("price_spread")
    rule = dict(old["rule"]) if isinstance(old.get("rule"), dict) else old.get("rule")
    if isinstance(rule, dict):
        rule.setdefault("id", None)
        rule.setdefault("valid_to", None)
        rule.setdefault("storage_price_spread", old.get("price_spread") or storage_spread)
    return {
        "rates": [
            {"id": None, "valid_to": None, "source_note": ""} | r | used(r) for r in old.get("rates") or []
        ],
        "fees": [
            {"id": None, "valid_to": None, "rate": None, "obligation_pct": None, "price": None, "mode": "rate",
             "applies_to_cluster": f.get("code") != "capacity", "applies_to_cooperative": True} | f | used(f)
            for f in old.get("fees") or []
        ],
        "tiers": [{"id": None, "valid_to": None} | t for t in old.get("tiers") or []],
        "rule": rule,
        "segments": old.get("segments") or [],
        "allocation": run.allocation,
        "allocation_keys": old.get("allocation_keys"),
        "allocation_keys_valid_from": old.get("allocation_keys_valid_from"),
        "price_spread": old.get("price_spread") or storage_spread,
    }


def snapshot_upgrade(run):
    """A finished run's schema-1 snapshot and its JSON columns as a ``RunSnapshot`` (raises ``SnapshotError``)."""
    from members.models import Cluster
    from reports.engine import CooperativeScenario
    from reports.settlement.results import cooperative_coverage_threshold, run_cluster_status, run_scenarios
    from reports.settlement.snapshot import (
        MonthEnergy,
        RunSnapshot,
        SnapshotCluster,
        SnapshotMember,
        SnapshotMembership,
        SnapshotPPE,
        SnapshotRules,
        SnapshotStorage,
        SnapshotTotals,
        decode,
    )

    old = run.snapshot or {}
    cluster = Cluster.objects.select_related("dso").get(pk=run.cluster_id)
    recorded = old.get("cluster") or {}
    totals = decode(SnapshotTotals, run.totals, "totals")
    storage = decode(SnapshotStorage, run.storage, "storage")
    rules = decode(SnapshotRules, _fill_rows(old, run), "")
    return RunSnapshot(
        cluster=SnapshotCluster(
            name=recorded.get("name") or cluster.name,
            slug=recorded.get("slug") or cluster.slug,
            kind=recorded.get("kind") or cluster.kind,
            dso=recorded.get("dso") or cluster.dso.name,
            coordinator_name=recorded.get("coordinator_name", cluster.coordinator_name),
            coordinator_address=recorded.get("coordinator_address", cluster.coordinator_address),
        ),
        status=run_cluster_status(cluster=cluster, on=run.period_end),
        rules=rules,
        members=decode(tuple[SnapshotMember, ...], old.get("members") or [], "members"),
        memberships=decode(tuple[SnapshotMembership, ...], old.get("memberships") or [], "memberships"),
        ppes=decode(tuple[SnapshotPPE, ...], [
            p | {"renewable_share": str(p["renewable_share"])} if isinstance(p, dict) and "renewable_share" in p else p
            for p in old.get("ppes") or []
        ], "ppes"),
        totals=totals,
        cooperative=decode(
            CooperativeScenario, {"demand_wh": totals.drawn_wh, "unit_rate": "0.00"} | (run.cooperative or {}), "cooperative"
        ),
        storage=storage,
        monthly=decode(tuple[MonthEnergy, ...], run.monthly or [], "monthly"),
        scenarios=run_scenarios(
            rules=rules, totals=totals, price_spread=storage.price_spread,
            coverage_pct=cooperative_coverage_threshold(on=run.period_end),
        ),
    )


def convert(apps, schema_editor):
    from reports.settlement.snapshot import SCHEMA, SnapshotError, encode, snapshot_to_json

    SettlementRun = apps.get_model("reports", "SettlementRun")
    for run in SettlementRun.objects.filter(status="done").order_by("pk").iterator():
        if (run.snapshot or {}).get("schema") == SCHEMA:
            continue
        try:
            snapshot = snapshot_upgrade(run)
        except SnapshotError as exc:
            raise SnapshotError(f"rozliczenie {run.pk}: {exc.field}", exc.problem) from exc
        run.snapshot = snapshot_to_json(snapshot)
        run.cooperative = encode(snapshot.cooperative)
        run.save(update_fields=["snapshot", "cooperative"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_coordinator_pages"),
        # The status is evaluated by the registry's own services: its tables must be current.
        ("members", "__latest__"),
    ]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
