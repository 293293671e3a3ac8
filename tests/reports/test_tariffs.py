"""Tariff selection: the most specific rate in force wins, split by day, refuse gaps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from reports.models import DiscountTier, DistributionRate, ExemptFee, SettlementRule
from reports.settlement.selectors import tariff_plan
from tests.factories import DSOFactory, MeteringPointFactory

JAN1, JAN31 = dt.date(2025, 1, 1), dt.date(2025, 1, 31)


def rate(variable, *, dso=None, group="", since=dt.date(2024, 1, 1), until=None):
    return DistributionRate.objects.create(
        dso=dso, tariff_group=group, variable_rate=D(variable), quality_rate=D("24.21"), valid_from=since, valid_to=until
    )


def test_it_prefers_dso_and_group_over_dso_over_group_over_general(cluster):
    c11 = MeteringPointFactory(cluster=cluster, tariff_group="C11")
    g11 = MeteringPointFactory(cluster=cluster, tariff_group="G11")
    b21 = MeteringPointFactory(cluster=cluster, tariff_group="B21")
    c21 = MeteringPointFactory(cluster=cluster, tariff_group="C21")
    other = DSOFactory(slug="pge", name="PGE Dystrybucja", ppe_prefix="5905435")
    rate("300", dso=cluster.dso, group="C11")
    rate("200", dso=cluster.dso)
    rate("150", group="G11")
    rate("140", group="B21")
    rate("999", dso=other)  # another DSO's rate never applies
    rate("111", dso=cluster.dso, group="C11", since=dt.date(2023, 1, 1), until=dt.date(2023, 12, 31))  # older, equally specific
    plan = tariff_plan(ppes=[c11, g11, b21, c21], start=JAN1, end=JAN31)
    assert len(plan.segments) == 1
    rates = {pk: r[""].variable_rate for pk, r in plan.segments[0].rates.items()}
    # G11 and B21: the DSO-only row (200) beats group-only rows; C21 gets the DSO row too
    assert rates == {c11.pk: D("300"), g11.pk: D("200"), b21.pk: D("200"), c21.pk: D("200")}


def test_it_takes_the_later_valid_from_among_equals_and_splits_the_period_by_day(cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    rate("250", dso=cluster.dso, since=dt.date(2025, 1, 16))
    rate("240", dso=cluster.dso, since=dt.date(2024, 6, 1), until=dt.date(2025, 1, 15))
    plan = tariff_plan(ppes=[ppe], start=JAN1, end=JAN31)
    assert [(s.start, s.end, s.rates[ppe.pk][""].variable_rate) for s in plan.segments] == [
        (JAN1, dt.date(2025, 1, 15), D("240")),
        (dt.date(2025, 1, 16), JAN31, D("250")),
    ]
    assert {r["variable_rate"] for r in plan.snapshot()["rates"]} == {"240.0000", "250.0000"}


def test_it_refuses_days_no_rate_covers_naming_dso_and_group(cluster):
    ppe = MeteringPointFactory(cluster=cluster, tariff_group="C21")
    DistributionRate.objects.all().delete()
    rate("250", group="C21", since=dt.date(2025, 1, 10), until=dt.date(2025, 1, 20))
    with pytest.raises(ValidationError) as exc:
        tariff_plan(ppes=[ppe], start=JAN1, end=JAN31)
    message = " ".join(exc.value.messages)
    assert "Tauron Dystrybucja" in message and "C21" in message
    assert "2025-01-01–2025-01-09, 2025-01-21–2025-01-31" in message


def test_it_refuses_a_period_without_tiers_or_rule_and_tiers_changing_inside(cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    DiscountTier.objects.update(valid_to=dt.date(2024, 12, 31))
    SettlementRule.objects.update(valid_to=dt.date(2025, 1, 5))
    with pytest.raises(ValidationError) as exc:
        tariff_plan(ppes=[ppe], start=JAN1, end=JAN31)
    message = " ".join(exc.value.messages)
    assert "Brak progów upustu (DiscountTier) w dniach 2025-01-01–2025-01-31" in message
    assert "Brak zasad rozliczenia (SettlementRule) w dniach 2025-01-06–2025-01-31" in message

    SettlementRule.objects.update(valid_to=None)
    DiscountTier.objects.create(threshold_pct=D(60), discount_pct=D(5), valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 1, 15))
    DiscountTier.objects.create(threshold_pct=D(60), discount_pct=D(6), valid_from=dt.date(2025, 1, 16))
    with pytest.raises(ValidationError, match="Progi upustu zmieniają się"):
        tariff_plan(ppes=[ppe], start=JAN1, end=JAN31)


def test_it_uses_the_latest_fee_row_and_stops_exemptions_after_the_end_date(cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    ExemptFee.objects.filter(code="oze").update(valid_to=dt.date(2029, 12, 19))  # one row of a fee in force at a time
    ExemptFee.objects.create(code="oze", rate=D("7.30"), valid_from=dt.date(2029, 12, 20))
    plan = tariff_plan(ppes=[ppe], start=dt.date(2029, 12, 1), end=dt.date(2030, 1, 31))
    shape = [(s.start, s.end, s.exempt, {f.code: f.effective_rate for f in s.fees}["oze"]) for s in plan.segments]
    assert shape == [
        (dt.date(2029, 12, 1), dt.date(2029, 12, 19), True, D("0.00")),
        (dt.date(2029, 12, 20), dt.date(2029, 12, 31), True, D("7.30")),
        (dt.date(2030, 1, 1), dt.date(2030, 1, 31), False, D("7.30")),
    ]
