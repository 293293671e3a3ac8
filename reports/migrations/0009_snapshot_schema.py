"""Stored snapshots of finished runs to the typed snapshot contract (schema 2).

Before the contract a run's snapshot was an untyped dict; statements and the cluster
report re-parsed it with fallbacks, re-ran the engine's scenarios and read the
cluster's status from the live registry. This migration converts each finished run
once: it decodes the old dict, fills the few values older runs never recorded the
way the old readers did (rate rows used over the run's whole period; a fee exempt in
a cluster unless it is the capacity fee, and in a cooperative; the rule's storage
spread from the run's storage), records the cluster's status and the cooperative's
coverage rule on the period's last day as evaluated now, and computes the report's
scenario tables with the engine (``reports.settlement.results.run_snapshot_upgrade``). A
run whose stored data cannot be read stops the migration with the run and the field named.
"""

from django.db import migrations


def convert(apps, schema_editor):
    from reports.settlement.results import run_snapshot_upgrade_store
    from reports.settlement.snapshot import SCHEMA, SnapshotError

    SettlementRun = apps.get_model("reports", "SettlementRun")
    for run in SettlementRun.objects.filter(status="done").order_by("pk").iterator():
        if (run.snapshot or {}).get("schema") == SCHEMA:
            continue
        try:
            run_snapshot_upgrade_store(run)
        except SnapshotError as exc:
            raise SnapshotError(f"rozliczenie {run.pk}: {exc.field}", exc.problem) from exc


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_coordinator_pages"),
        # The status is evaluated by the registry's own services: its tables must be current.
        ("members", "0005_polish_search"),  # pinned: "__latest__" broke databases on every new members migration
    ]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
