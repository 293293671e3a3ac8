"""Stored messages as codes with parameters (okeportal.messages) beside their Polish text."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_snapshot_schema"),
    ]

    operations = [
        migrations.AddField(
            model_name="readingimport", name="message_data", field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="settlementrun", name="message_data", field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="settlementrun", name="error_data", field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statement", name="error_data", field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="clusterreport", name="error_data", field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="runoutdatedreason", name="detail_data", field=models.JSONField(blank=True, null=True),
        ),
    ]
