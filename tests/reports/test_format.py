from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from okeportal.formatting import format_by_key, kwh, mwh, pct, plnum, tier_label, zl

NBSP = "\u00a0"


def test_it_formats_money_with_nbsp_thousands_and_decimal_comma() -> None:
    assert zl(Decimal("31191.78")) == f"31{NBSP}191,78{NBSP}zł"
    assert zl("150971.3") == f"150{NBSP}971,30{NBSP}zł"
    assert zl(Decimal("1234567.891")) == f"1{NBSP}234{NBSP}567,89{NBSP}zł"
    assert zl(0) == f"0,00{NBSP}zł"
    assert zl(999) == f"999,00{NBSP}zł"


def test_it_rounds_half_up_to_the_grosz() -> None:
    assert zl(Decimal("0.005")) == f"0,01{NBSP}zł"
    assert zl("2.345") == f"2,35{NBSP}zł"  # banker's rounding would give 2,34
    assert zl(Decimal("0.004999")) == f"0,00{NBSP}zł"
    assert zl(Decimal("-0.005")) == f"-0,01{NBSP}zł"


def test_it_formats_negative_numbers_with_the_sign_before_the_groups() -> None:
    assert zl(Decimal("-1234.5")) == f"-1{NBSP}234,50{NBSP}zł"
    assert plnum(Decimal("-999.994"), 2) == "-999,99"
    assert plnum(Decimal("-0.001"), 2) == "0,00"  # no "-0,00"


@pytest.mark.parametrize("empty", [None, "", "nie-liczba", float("nan")])
def test_it_prints_a_dash_for_missing_values(empty) -> None:
    assert zl(empty) == "—"
    assert mwh(empty) == "—"
    assert pct(empty) == "—"


def test_it_formats_energy_given_in_wh() -> None:
    assert mwh(1_400_000_000) == f"1{NBSP}400,000{NBSP}MWh"
    assert mwh(1_234_567) == f"1,235{NBSP}MWh"
    assert mwh(1_400_000_000, 1) == f"1{NBSP}400,0{NBSP}MWh"
    assert kwh(1234) == f"1,234{NBSP}kWh"
    assert kwh(12_345_678, 0) == f"12{NBSP}346{NBSP}kWh"


def test_it_formats_percentages_and_generic_numbers() -> None:
    assert pct(Decimal("87.1234")) == f"87,12{NBSP}%"
    assert pct(70, 0) == f"70{NBSP}%"
    assert plnum("1234,5", 1) == f"1{NBSP}234,5"
    assert plnum(Decimal("2.3515"), 4) == "2,3515"
    assert plnum(1_000_000, 0) == f"1{NBSP}000{NBSP}000"


def test_it_names_the_tier_or_says_there_is_none() -> None:
    assert tier_label({"threshold_pct": "70.00", "discount_pct": "10.00"}) == f"≥ 70{NBSP}% → upust 10{NBSP}%"
    assert tier_label(None) == "brak progu"


def test_it_formats_values_by_their_json_key() -> None:
    assert format_by_key("shared_wh", 1_600_000_000) == f"1{NBSP}600,000{NBSP}MWh"
    assert format_by_key("autoconsumption_pct", "80") == f"80,00{NBSP}%"
    assert format_by_key("total", "80215.44") == f"80{NBSP}215,44{NBSP}zł"
    assert format_by_key("members", 12) == "12"


def test_it_works_as_template_filters() -> None:
    out = Template(
        "{% load oke_format %}{{ a|zl }}|{{ e|mwh }}|{{ p|pct:1 }}|{{ n|plnum:3 }}|{{ missing|zl }}"
    ).render(Context({"a": Decimal("29740.38"), "e": 2_000_000_000, "p": "24.78", "n": "1.50135"}))
    assert out == f"29{NBSP}740,38{NBSP}zł|2{NBSP}000,000{NBSP}MWh|24,8{NBSP}%|1,501|—"
