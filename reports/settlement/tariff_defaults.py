"""Initial tariff data: the seed's values (domain.md), valid from 2024-01-01,
applying to every DSO and tariff group until the administrator enters more
specific rates. The seed took them from PGE Dystrybucja's tariff.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from reports.models import DiscountTier, DistributionRate, ExemptFee, FeeCode, SettlementRule

START = dt.date(2024, 1, 1)
SEED_NOTE = "Prezentacja koordynatora OKE (taryfa PGE Dystrybucja)"


@transaction.atomic
def tariff_defaults_load() -> None:
    if not DistributionRate.objects.exists():
        # The seed's Table 1 prints a quality rate of 24.20, but all of its totals
        # (Tables 2, 3, 6, 8) are computed with 24.21 zł/MWh; the totals are the record.
        DistributionRate.objects.create(
            variable_rate=Decimal("229.30"), quality_rate=Decimal("24.21"), valid_from=START, source_note=SEED_NOTE
        )
    if not ExemptFee.objects.exists():
        RATE, OBLIGATION = ExemptFee.Mode.RATE, ExemptFee.Mode.OBLIGATION
        fees = [
            (FeeCode.OZE, RATE, "0.00", None, None, True),
            (FeeCode.COGENERATION, RATE, "6.18", None, None, True),
            # Seed prints "5 % × 47,07" but its totals use 2.3515 zł/MWh = 5 % × 47.03.
            (FeeCode.GREEN, OBLIGATION, None, "5", "47.03", True),
            # Seed prints "0,05 %": a typo; 0.5 % × 300.27 = 1.50135 is what its totals use.
            (FeeCode.BLUE, OBLIGATION, None, "0.5", "300.27", True),
            (FeeCode.WHITE, RATE, "2.0753", None, None, True),
            # The capacity fee is exempt only in an energy cooperative (seed: about 50 zł/MWh).
            (FeeCode.CAPACITY, RATE, "50.00", None, None, False),
        ]
        for code, mode, rate, obligation, price, in_cluster in fees:
            ExemptFee.objects.create(
                code=code,
                mode=mode,
                rate=Decimal(rate) if rate is not None else None,
                obligation_pct=Decimal(obligation) if obligation is not None else None,
                price=Decimal(price) if price is not None else None,
                applies_to_cluster=in_cluster,
                applies_to_cooperative=True,
                valid_from=START,
            )
    if not DiscountTier.objects.exists():
        for threshold, discount in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)]:
            DiscountTier.objects.create(
                threshold_pct=Decimal(threshold), discount_pct=Decimal(discount), valid_from=START
            )
    if not SettlementRule.objects.exists():
        SettlementRule.objects.create(
            valid_from=START,
            exemption_end_date=dt.date(2029, 12, 31),
            cooperative_coefficient=Decimal("0.600"),
            # The cooperative nets hourly surplus against deficit per month and carries it 12 months.
            cooperative_netting_period="month",
            cooperative_carry_months=12,
            completeness_gate_pct=Decimal("99.00"),
            # The level counts all member sources (the seed's definition); exemptions stay on renewable energy.
            level_numerator="all_sources",
            # The support mechanism of art. 184k ustawy o OZE runs from 2 July 2024.
            support_earliest=dt.date(2024, 7, 2),
        )
