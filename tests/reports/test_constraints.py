"""The dated tariff rows' rules are database constraints: refused from any writer, and shown by the
forms as a Polish message on the field (not an IntegrityError)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from reports.admin import AllocationKeyForm, DiscountTierForm, DistributionRateForm, ExemptFeeForm, SettlementRuleForm
from reports.models import AllocationKey, DiscountTier, DistributionRate, ExemptFee, SettlementRule
from reports.settlement.tariff_defaults import tariff_defaults_load
from tests.factories import DSOFactory, MemberFactory

pytestmark = pytest.mark.django_db

# reference_data (conftest) loads the shipped defaults: every kind valid from 2024-01-01, open-ended.
BEFORE = {"valid_from": dt.date(2023, 1, 1), "valid_to": dt.date(2023, 12, 31)}
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraints are PostgreSQL's")


def _rate(**values):
    return {"variable_rate": Decimal("229.30"), "quality_rate": Decimal("24.21"), **BEFORE, **values}


def _fee(**values):
    return {"code": "blue", "mode": "rate", "rate": Decimal("1.5"), **BEFORE, **values}


def _tier(**values):
    return {"threshold_pct": Decimal("50"), "discount_pct": Decimal("3"), **BEFORE, **values}


def _rule(**values):
    return {"exemption_end_date": dt.date(2029, 12, 31), **BEFORE, **values}


BAD_ROWS = [
    pytest.param(DistributionRate, _rate(variable_rate=Decimal("-0.01")), id="rate-variable-negative"),
    pytest.param(DistributionRate, _rate(quality_rate=Decimal("-1")), id="rate-quality-negative"),
    pytest.param(DistributionRate, _rate(valid_to=dt.date(2022, 12, 31)), id="rate-ends-before-start"),
    pytest.param(ExemptFee, _fee(rate=Decimal("-1")), id="fee-rate-negative"),
    pytest.param(ExemptFee, _fee(rate=None), id="fee-rate-mode-without-rate"),
    pytest.param(ExemptFee, _fee(mode="obligation", rate=None, obligation_pct=Decimal("100.01"), price=Decimal("300")), id="fee-obligation-over-100"),
    pytest.param(ExemptFee, _fee(mode="obligation", rate=None, obligation_pct=Decimal("-1"), price=Decimal("300")), id="fee-obligation-negative"),
    pytest.param(ExemptFee, _fee(mode="obligation", rate=None, obligation_pct=Decimal("5"), price=Decimal("-1")), id="fee-price-negative"),
    pytest.param(ExemptFee, _fee(mode="obligation", rate=None, obligation_pct=None, price=Decimal("300")), id="fee-obligation-missing"),
    pytest.param(ExemptFee, _fee(mode="obligation", rate=None, obligation_pct=Decimal("5"), price=None), id="fee-price-missing"),
    pytest.param(ExemptFee, _fee(valid_to=dt.date(2022, 1, 1)), id="fee-ends-before-start"),
    pytest.param(DiscountTier, _tier(threshold_pct=Decimal("100.01")), id="tier-threshold-over-100"),
    pytest.param(DiscountTier, _tier(threshold_pct=Decimal("-1")), id="tier-threshold-negative"),
    pytest.param(DiscountTier, _tier(discount_pct=Decimal("101")), id="tier-discount-over-100"),
    pytest.param(DiscountTier, _tier(discount_pct=Decimal("-0.5")), id="tier-discount-negative"),
    pytest.param(DiscountTier, _tier(valid_to=dt.date(2022, 1, 1)), id="tier-ends-before-start"),
    pytest.param(SettlementRule, _rule(cooperative_coefficient=Decimal("0")), id="rule-coefficient-zero"),
    pytest.param(SettlementRule, _rule(cooperative_coefficient=Decimal("1.001")), id="rule-coefficient-over-1"),
    pytest.param(SettlementRule, _rule(completeness_gate_pct=Decimal("100.5")), id="rule-gate-over-100"),
    pytest.param(SettlementRule, _rule(completeness_gate_pct=Decimal("-1")), id="rule-gate-negative"),
    pytest.param(SettlementRule, _rule(storage_price_spread=Decimal("-1")), id="rule-spread-negative"),
    pytest.param(SettlementRule, _rule(valid_to=dt.date(2022, 1, 1)), id="rule-ends-before-start"),
]


@pytest.mark.parametrize(("model", "values"), BAD_ROWS)
def test_the_database_refuses_a_bad_row_written_past_the_forms(model, values) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**values)


@pytest.mark.parametrize(("model", "values"), BAD_ROWS)
def test_the_database_refuses_an_update_that_breaks_a_rule(model, values) -> None:
    good = {DistributionRate: _rate(), ExemptFee: _fee(), DiscountTier: _tier(), SettlementRule: _rule()}[model]
    row = model.objects.create(**good)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**values)


def test_the_database_refuses_a_negative_allocation_key(cluster) -> None:
    member = MemberFactory(cluster=cluster)
    key = AllocationKey.objects.create(cluster=cluster, member=member, share=Decimal("0.5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationKey.objects.filter(pk=key.pk).update(share=Decimal("-0.1"))


def test_good_rows_at_the_edges_of_the_ranges_are_accepted() -> None:
    DistributionRate.objects.create(**_rate(variable_rate=Decimal("0"), quality_rate=Decimal("0")))
    ExemptFee.objects.create(**_fee(mode="obligation", rate=None, obligation_pct=Decimal("100"), price=Decimal("0")))
    DiscountTier.objects.create(**_tier(threshold_pct=Decimal("0"), discount_pct=Decimal("100")))
    SettlementRule.objects.create(**_rule(cooperative_coefficient=Decimal("1"), completeness_gate_pct=Decimal("0")))
    DistributionRate.objects.create(**_rate(valid_from=dt.date(2022, 5, 1), valid_to=dt.date(2022, 5, 1)))  # one day


# --- overlapping validity (PostgreSQL's exclusion constraints) ----------------------------------------


OVERLAPPING = [
    pytest.param(DistributionRate, {"variable_rate": Decimal("1"), "quality_rate": Decimal("1")}, id="general-rate"),
    pytest.param(ExemptFee, {"code": "oze", "mode": "rate", "rate": Decimal("0")}, id="fee-same-code"),
    pytest.param(DiscountTier, {"threshold_pct": Decimal("60"), "discount_pct": Decimal("6")}, id="tier-same-threshold"),
    pytest.param(SettlementRule, {"exemption_end_date": dt.date(2029, 12, 31)}, id="rule"),
]


@postgres_only
@pytest.mark.parametrize(("model", "values"), OVERLAPPING)
def test_postgresql_refuses_a_row_in_force_on_a_day_another_row_of_its_key_covers(model, values) -> None:
    # The default of the same key runs from 2024-01-01 without an end: 2025 overlaps it.
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(valid_from=dt.date(2025, 1, 1), **values)
    # Ending on the day before the default starts is fine; ending on its first day is not.
    model.objects.create(valid_from=dt.date(2023, 1, 1), valid_to=dt.date(2023, 12, 31), **values)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(valid_from=dt.date(2022, 1, 1), valid_to=dt.date(2024, 1, 1), **values)


@postgres_only
def test_postgresql_refuses_an_update_that_makes_two_rows_overlap() -> None:
    closed = DistributionRate.objects.create(**_rate())
    with pytest.raises(IntegrityError), transaction.atomic():
        DistributionRate.objects.filter(pk=closed.pk).update(valid_to=dt.date(2024, 1, 1))


@postgres_only
def test_postgresql_lets_rows_of_other_keys_overlap() -> None:
    dso = DSOFactory()
    DistributionRate.objects.create(variable_rate=1, quality_rate=1, dso=dso, valid_from=dt.date(2025, 1, 1))
    DistributionRate.objects.create(variable_rate=1, quality_rate=1, tariff_group="G11", valid_from=dt.date(2025, 1, 1))
    DistributionRate.objects.create(variable_rate=1, quality_rate=1, dso=dso, tariff_group="G11", valid_from=dt.date(2025, 1, 1))
    DiscountTier.objects.create(threshold_pct=Decimal("65"), discount_pct=Decimal("7"), valid_from=dt.date(2025, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        DistributionRate.objects.create(variable_rate=2, quality_rate=2, dso=dso, tariff_group="G11", valid_from=dt.date(2026, 1, 1))


@postgres_only
def test_the_exclusion_constraints_are_in_the_postgresql_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conname LIKE %s ORDER BY conname",
            ["%_no_overlapping_validity"],
        )
        names = [name for (name,) in cursor.fetchall()]
    assert names == [
        "conditionrule_no_overlapping_validity",
        "discounttier_no_overlapping_validity",
        "distributionrate_no_overlapping_validity",
        "exemptfee_no_overlapping_validity",
        "fullloadhours_no_overlapping_validity",
        "ppebillingregime_no_overlapping_validity",
        "settlementrule_no_overlapping_validity",
    ]


# --- the forms show the rule on the field ----------------------------------------------------------


def _form_data(values: dict) -> dict:
    return {k: ("" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in values.items()}


@pytest.mark.parametrize(
    ("form_class", "values", "field", "message"),
    [
        (DistributionRateForm, _rate(variable_rate="-1"), "variable_rate", "Stawka zmienna sieciowa nie może być ujemna (co najmniej 0 zł/MWh)."),
        (DistributionRateForm, _rate(quality_rate="-1"), "quality_rate", "Stawka jakościowa nie może być ujemna (co najmniej 0 zł/MWh)."),
        (DistributionRateForm, _rate(valid_to=dt.date(2022, 12, 31)), "valid_to", "Data końca obowiązywania nie może być wcześniejsza niż data początku."),
        (ExemptFeeForm, _fee(rate="-1"), "rate", "Stawka opłaty nie może być ujemna (co najmniej 0 zł/MWh)."),
        (ExemptFeeForm, _fee(rate=None), "rate", "Opłata ustalana stawką wymaga stawki [zł/MWh]."),
        (ExemptFeeForm, _fee(mode="obligation", rate=None, obligation_pct="120", price="3"), "obligation_pct", "Obowiązek to procent: od 0 do 100 %."),
        (ExemptFeeForm, _fee(mode="obligation", rate=None, obligation_pct=None, price="3"), "obligation_pct", "Opłata „obowiązek × cena” wymaga obowiązku [%]."),
        (ExemptFeeForm, _fee(mode="obligation", rate=None, obligation_pct="5", price=None), "price", "Opłata „obowiązek × cena” wymaga ceny [zł/MWh]."),
        (DiscountTierForm, _tier(threshold_pct="101"), "threshold_pct", "Próg autokonsumpcji to procent: od 0 do 100 %."),
        (DiscountTierForm, _tier(discount_pct="-1"), "discount_pct", "Upust to procent: od 0 do 100 %."),
        (SettlementRuleForm, _rule(cooperative_coefficient="1.5", completeness_gate_pct="99", storage_price_spread="180"), "cooperative_coefficient", "Współczynnik musi być większy od 0 i nie większy niż 1."),
        (SettlementRuleForm, _rule(cooperative_coefficient="0.6", completeness_gate_pct="101", storage_price_spread="180"), "completeness_gate_pct", "Wymagana kompletność danych to procent: od 0 do 100 %."),
        (SettlementRuleForm, _rule(cooperative_coefficient="0.6", completeness_gate_pct="99", storage_price_spread="-5"), "storage_price_spread", "Różnica cen energii nie może być ujemna (co najmniej 0 zł/MWh)."),
    ],
)
def test_the_form_names_the_field_and_the_rule(form_class, values, field, message) -> None:
    form = form_class(_form_data(values))
    assert not form.is_valid()
    assert form.errors[field] == [message]
    assert not form.non_field_errors()


def test_the_allocation_key_form_names_the_share_rule(cluster) -> None:
    member = MemberFactory(cluster=cluster)
    form = AllocationKeyForm({"cluster": cluster.pk, "member": member.pk, "share": "-0.2", "valid_from": "2025-01-01"})
    assert not form.is_valid()
    assert form.errors["share"] == ["Udział nie może być ujemny."]


def test_the_form_names_the_row_an_overlap_runs_into_on_every_database() -> None:
    existing = DiscountTier.objects.get(threshold_pct=60)
    form = DiscountTierForm(_form_data(_tier(threshold_pct="60", valid_from=dt.date(2023, 6, 1), valid_to=dt.date(2024, 2, 1))))
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert f"„{existing}” (id {existing.pk}, 2024-01-01 – …)" in message and "nakłada się" in message


def test_the_shipped_defaults_keep_every_rule() -> None:
    tariff_defaults_load()  # idempotent; the reference data loaded them already
    for model in (DistributionRate, ExemptFee, DiscountTier, SettlementRule):
        assert model.objects.exists(), model
    rows = [*DistributionRate.objects.all(), *ExemptFee.objects.all(), *DiscountTier.objects.all(), *SettlementRule.objects.all()]
    for row in rows:
        row.full_clean()  # constraints included: ranges, modes, dates, no overlap
