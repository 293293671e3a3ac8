"""Eligibility for support: the rule's earliest support day, a coordinator's override of an
ineligible run's publication, and stored snapshots brought to schema 3.

Schema 3 records the eligibility verdict in the snapshot's cluster status. A finished run
computed before it gets a verdict evaluated from the registry as it is when this migration
runs, marked ``evaluated: "conversion"`` (``reports.settlement.results.run_snapshot_upgrade``);
its figures are not recomputed. A run whose stored data cannot be read stops the migration
with the run and the field named.
"""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


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


def _support_earliest(model_name: str):
    return migrations.AddField(
        model_name=model_name,
        name="support_earliest",
        field=models.DateField(
            default=datetime.date(2024, 7, 2),
            help_text="Wsparcie klastrów energii (art. 184k ustawy o OZE) przysługuje najwcześniej od tego dnia.",
            verbose_name="najwcześniejszy początek wsparcia",
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0008_cluster_register"),
        ("reports", "0012_generator_production"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        _support_earliest("settlementrule"),
        _support_earliest("historicalsettlementrule"),
        migrations.AddField(
            model_name="settlementrun",
            name="eligibility_override_reason",
            field=models.TextField(blank=True, verbose_name="powód publikacji mimo niespełnienia warunków"),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="eligibility_override_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                to=settings.AUTH_USER_MODEL, verbose_name="publikację mimo niespełnienia warunków zatwierdził",
            ),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="eligibility_override_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="publikacja mimo niespełnienia warunków"),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]
