from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0010_dated_row_constraints"),
        ("reports", "0013_eligibility"),
    ]

    operations = []
