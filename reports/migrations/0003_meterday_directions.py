"""Per-direction quality on MeterDay: ``export_quality`` beside ``quality`` (now drawn energy only).

Existing rows were written with one quality for both directions, so the
fed-in quality starts as a copy of it (one UPDATE, no rows through Python).
"""

from django.db import migrations, models


def copy_quality(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("reports", "MeterDay")._meta.db_table)
    schema_editor.execute(f"UPDATE {table} SET export_quality = quality")


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0002_settlementrule_storage_price_spread"),
    ]

    operations = [
        migrations.AddField(
            model_name="meterday",
            name="export_quality",
            field=models.BinaryField(default=bytes),
        ),
        migrations.RunPython(copy_quality, migrations.RunPython.noop, elidable=True),
    ]
