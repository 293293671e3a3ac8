"""A registry import's outcome as a code with parameters (okeportal.messages) beside its Polish text."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_polish_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="registryimport", name="message_data", field=models.JSONField(blank=True, null=True),
        ),
    ]
