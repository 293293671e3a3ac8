"""Condition rules cite the OZE act, not Prawo energetyczne (rows shipped before the correction)."""

from django.db import migrations

OLD = "art. 38a ustawy Prawo energetyczne (Dz.U. 2024 poz. 266 ze zm.)"
NEW = "art. 184k i nast. ustawy o OZE (Dz.U. 2024 poz. 1361 ze zm.)"


def forward(apps, schema_editor):
    apps.get_model("members", "ConditionRule").objects.filter(legal_basis=OLD).update(legal_basis=NEW)


def backward(apps, schema_editor):
    apps.get_model("members", "ConditionRule").objects.filter(legal_basis=NEW).update(legal_basis=OLD)


class Migration(migrations.Migration):
    dependencies = [("members", "0009_merge_register_validated")]

    operations = [migrations.RunPython(forward, backward)]
