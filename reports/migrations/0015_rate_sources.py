"""Every dated tariff row names its source and whether it was verified.

The distribution rate's ``source_note`` becomes ``source`` (a text); exempt fees,
discount tiers and settlement rules get one too, and every row a ``verified`` flag
(False: nothing was verified before). The rows shipped by ``load_reference_data``
from the coordinator's presentation, recognised by their values and start date, are
marked as its examples.
"""

import datetime
from decimal import Decimal

from django.db import migrations, models

EXAMPLE = "przykład z prezentacji koordynatora"
EXAMPLE_PGE = "przykład z prezentacji koordynatora (PGE Dystrybucja)"
START = datetime.date(2024, 1, 1)
SEED_FEES = [
    {"code": "oze", "mode": "rate", "rate": Decimal("0.00")},
    {"code": "cogeneration", "mode": "rate", "rate": Decimal("6.18")},
    {"code": "green", "mode": "obligation", "obligation_pct": Decimal("5"), "price": Decimal("47.03")},
    {"code": "blue", "mode": "obligation", "obligation_pct": Decimal("0.5"), "price": Decimal("300.27")},
    {"code": "white", "mode": "rate", "rate": Decimal("2.0753")},
    {"code": "capacity", "mode": "rate", "rate": Decimal("50.00")},
]
SEED_TIERS = [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)]


def mark_examples(apps, schema_editor):
    DistributionRate = apps.get_model("reports", "DistributionRate")
    ExemptFee = apps.get_model("reports", "ExemptFee")
    DiscountTier = apps.get_model("reports", "DiscountTier")
    SettlementRule = apps.get_model("reports", "SettlementRule")
    DistributionRate.objects.filter(
        dso__isnull=True, tariff_group="", variable_rate=Decimal("229.30"), quality_rate=Decimal("24.21"), valid_from=START
    ).update(source=EXAMPLE_PGE, verified=False)
    for fee in SEED_FEES:
        ExemptFee.objects.filter(valid_from=START, **fee).update(source=EXAMPLE, verified=False)
    for threshold, discount in SEED_TIERS:
        DiscountTier.objects.filter(
            valid_from=START, threshold_pct=Decimal(threshold), discount_pct=Decimal(discount)
        ).update(source=EXAMPLE, verified=False)
    SettlementRule.objects.filter(
        valid_from=START, exemption_end_date=datetime.date(2029, 12, 31), cooperative_coefficient=Decimal("0.600"),
        completeness_gate_pct=Decimal("99.00"),
    ).update(source=EXAMPLE, verified=False)


def _source() -> models.TextField:
    return models.TextField(
        blank=True, verbose_name="źródło",
        help_text="Tytuł dokumentu, adres URL albo „przykład z prezentacji koordynatora”.",
    )


def _verified() -> models.BooleanField:
    return models.BooleanField(
        default=False, verbose_name="zweryfikowane",
        help_text="Wartość sprawdzona w publikacji organu, który ją ustala (URE, minister, OSD).",
    )


MODELS = ["distributionrate", "exemptfee", "discounttier", "settlementrule"]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0014_merge_eligibility_constraints"),
    ]

    operations = [
        migrations.RenameField(model_name="distributionrate", old_name="source_note", new_name="source"),
        migrations.RenameField(model_name="historicaldistributionrate", old_name="source_note", new_name="source"),
        migrations.AlterField(model_name="distributionrate", name="source", field=_source()),
        migrations.AlterField(model_name="historicaldistributionrate", name="source", field=_source()),
        *[
            migrations.AddField(model_name=prefix + name, name="source", field=_source())
            for name in MODELS[1:] for prefix in ("", "historical")
        ],
        *[
            migrations.AddField(model_name=prefix + name, name="verified", field=_verified())
            for name in MODELS for prefix in ("", "historical")
        ],
        migrations.RunPython(mark_examples, migrations.RunPython.noop),
    ]
