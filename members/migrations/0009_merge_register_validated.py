from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_validated_values"),
        ("members", "0008_cluster_register"),
    ]

    operations = []
