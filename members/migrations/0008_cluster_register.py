import django.db.models
from django.db import migrations


def _fields(prefix: str = "") -> list:
    return [
        migrations.AddField(
            model_name=f"{prefix}cluster",
            name="ure_register_number",
            field=django.db.models.CharField(blank=True, max_length=60, verbose_name="numer wpisu do rejestru URE"),
        ),
        migrations.AddField(
            model_name=f"{prefix}cluster",
            name="ure_register_date",
            field=django.db.models.DateField(blank=True, null=True, verbose_name="data wpisu do rejestru URE"),
        ),
        migrations.AddField(
            model_name=f"{prefix}cluster",
            name="support_start",
            field=django.db.models.DateField(
                blank=True, null=True, verbose_name="początek wsparcia",
                help_text="Pierwszy dzień wsparcia, jeśli późniejszy niż wpis do rejestru (nie wcześniej niż 2 lipca 2024 r.).",
            ),
        ),
    ]


class Migration(migrations.Migration):
    """The cluster's URE register entry and the day its support starts."""

    dependencies = [
        ("members", "0007_registry_import_message_data"),
    ]

    operations = [*_fields(), *_fields("historical")]
