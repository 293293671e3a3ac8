"""Merge of the members' VAT deduction and the PPEs' billing regimes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0011_member_deducts_vat"),
        ("members", "0011_prosumer_billing_regime"),
    ]

    operations = []
