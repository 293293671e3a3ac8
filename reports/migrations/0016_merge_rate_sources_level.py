"""Merge of the rate sources and the level rule / cooperative netting; stored snapshots
brought to schema 5, which records the rows a run used that were not verified (for a run
computed before the flag existed: every row it used; ``run_snapshot_upgrade``)."""

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
        ("reports", "0015_level_numerator_cooperative_netting"),
        ("reports", "0015_rate_sources"),
    ]

    operations = [
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]
