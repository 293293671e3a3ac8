"""Production data per generator (``GeneratorDay``), the production format of meter-data
imports, and the estimated PPE-hours in the totals of stored runs.

Runs computed before this change split every mixed PPE's export by installed
capacity and did not count the hours: their ``totals.estimated`` is recorded as
null ("not recorded"), in the snapshot and in ``SettlementRun.totals``.
"""

import django.db.models.deletion
from django.db import migrations, models


def totals_estimated(apps, schema_editor):
    SettlementRun = apps.get_model("reports", "SettlementRun")
    for run in SettlementRun.objects.filter(status="done").order_by("pk").iterator():
        changed = False
        snapshot = run.snapshot or {}
        if isinstance(snapshot.get("totals"), dict) and "estimated" not in snapshot["totals"]:
            snapshot["totals"]["estimated"] = None
            changed = True
        if isinstance(run.totals, dict) and run.totals and "estimated" not in run.totals:
            run.totals["estimated"] = None
            changed = True
        if changed:
            run.save(update_fields=["snapshot", "totals"])


def totals_estimated_back(apps, schema_editor):
    SettlementRun = apps.get_model("reports", "SettlementRun")
    for run in SettlementRun.objects.filter(status="done").order_by("pk").iterator():
        snapshot = run.snapshot or {}
        if isinstance(snapshot.get("totals"), dict):
            snapshot["totals"].pop("estimated", None)
        if isinstance(run.totals, dict):
            run.totals.pop("estimated", None)
        run.save(update_fields=["snapshot", "totals"])


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0007_registry_import_message_data"),
        ("reports", "0011_stored_messages"),
    ]

    operations = [
        migrations.AlterField(
            model_name="readingimport",
            name="format",
            field=models.CharField(
                choices=[
                    ("generic", "CSV ogólny (ppe_code, start, import_kwh, export_kwh)"),
                    ("tauron", "Tauron eLicznik"),
                    ("production", "Produkcja jednostek wytwórczych (ppe_code, generator, start, production_kwh)"),
                ],
                default="generic",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="GeneratorDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="dzień (UTC)")),
                ("resolution_min", models.PositiveSmallIntegerField(
                    choices=[(15, "15 min"), (60, "60 min")], verbose_name="rozdzielczość [min]")),
                ("production_wh", models.BinaryField()),
                ("present", models.BinaryField()),
                ("generator", models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="production_days",
                    to="members.generator")),
            ],
            options={
                "verbose_name": "produkcja jednostki wytwórczej (dzień)",
                "verbose_name_plural": "produkcja jednostek wytwórczych (dni)",
                "indexes": [models.Index(fields=["day", "generator"], name="generatorday_day_gen_idx")],
                "constraints": [models.UniqueConstraint(
                    fields=("generator", "day"), name="generatorday_unique_generator_day")],
            },
        ),
        migrations.RunPython(totals_estimated, totals_estimated_back),
    ]
