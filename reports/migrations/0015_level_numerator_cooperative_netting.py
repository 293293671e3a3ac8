"""The settlement rule says what the autoconsumption level counts (all member sources, the
seed's definition, or renewable only) and how the cooperative comparison nets its hourly
surplus: the netting period (month or year) and how many months unused surplus is carried.

Stored snapshots are brought to schema 4: a run computed before records that the renewable
level set its tier (the level counted renewable energy only then) and no cooperative netting
(it was settled hour by hour, nothing carried); its figures are not recomputed. A run whose
stored data cannot be read stops the migration with the run and the field named.
"""

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


def _fields(model_name: str) -> list:
    return [
        migrations.AddField(
            model_name=model_name,
            name="level_numerator",
            field=models.CharField(
                choices=[("all_sources", "wszystkie źródła członków"), ("renewable", "tylko OZE")],
                default="all_sources",
                help_text=(
                    "Co liczy poziom autokonsumpcji, od którego zależy próg upustu: pokrycie potrzeb członków energią "
                    "ze wszystkich ich źródeł wytwórczych (definicja klastra) albo tylko z OZE. Zwolnienia z opłat "
                    "zawsze liczone są od energii z OZE."
                ),
                max_length=16,
                verbose_name="licznik poziomu autokonsumpcji",
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="cooperative_netting_period",
            field=models.CharField(
                choices=[("month", "miesiąc"), ("year", "rok")],
                default="month",
                help_text="Okres, w którym nadwyżki godzinowe są rozliczane z niedoborami (art. 38e ustawy o OZE).",
                max_length=8,
                verbose_name="okres rozliczenia nadwyżek spółdzielni",
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="cooperative_carry_months",
            field=models.PositiveSmallIntegerField(
                default=12,
                help_text="Przez ile miesięcy niewykorzystana nadwyżka może być rozliczona w kolejnych okresach.",
                verbose_name="przenoszenie nadwyżek spółdzielni [miesiące]",
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0014_merge_eligibility_constraints"),
    ]

    operations = [
        *_fields("settlementrule"),
        *_fields("historicalsettlementrule"),
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]
