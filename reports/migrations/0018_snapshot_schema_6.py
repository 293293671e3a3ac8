"""Stored snapshots brought to schema 6, which records the rule's evaluation period (runs computed
before it was rule data evaluated the level per run: ``month``), each PPE's billing regime and the
series it was settled on (before: ordinary, raw), the VAT rate and each member's VAT deduction, and
the tariff zones (before: none; ``run_snapshot_upgrade``)."""

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
        ("reports", "0017_evaluation_period_annual_statements"),
        ("reports", "0017_tariff_zones"),
        ("reports", "0017_settlementrule_vat"),
        ("reports", "0017_prosumer_balanced_series"),
        ("members", "0012_merge_vat_billing_regime"),
    ]

    operations = [
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]
