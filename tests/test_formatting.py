"""okeportal.formatting: one way to print numbers, dates and periods per active language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from okeportal import formatting as f

NBSP = "\u00a0"


@pytest.fixture
def pl():
    with translation.override("pl"):
        yield


@pytest.fixture
def en():
    with translation.override("en"):
        yield


# --- numbers ---------------------------------------------------------------------


def test_polish_numbers_use_a_decimal_comma_and_nbsp_groups(pl) -> None:
    assert f.number(Decimal("1234567.891")) == f"1{NBSP}234{NBSP}567,89"
    assert f.zl(Decimal("1234.56")) == f"1{NBSP}234,56{NBSP}zł"
    assert f.zl_per_mwh("47.03") == f"47,03{NBSP}zł/MWh"
    assert f.mwh(68_734_000) == f"68,734{NBSP}MWh"
    assert f.kwh(1_234) == f"1,234{NBSP}kWh"
    assert f.pct(Decimal("6.655")) == f"6,66{NBSP}%"


def test_english_numbers_use_a_decimal_point_and_comma_groups(en) -> None:
    assert f.number(Decimal("1234567.891")) == "1,234,567.89"
    assert f.zl(Decimal("1234.56")) == f"1,234.56{NBSP}PLN"
    assert f.zl_per_mwh("47.03") == f"47.03{NBSP}PLN/MWh"
    assert f.mwh(68_734_000) == f"68.734{NBSP}MWh"
    assert f.mwh(1_400_000_000) == f"1,400.000{NBSP}MWh"
    assert f.kwh(1_234) == f"1.234{NBSP}kWh"
    assert f.pct(Decimal("6.655")) == "6.66%"
    assert f.tier_label({"threshold_pct": "70", "discount_pct": "10"}) == "≥ 70% → discount 10%"


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_numbers_round_half_up_in_both_languages(lang) -> None:
    with translation.override(lang):
        point = "," if lang == "pl" else "."
        assert f.number(Decimal("2.345")) == f"2{point}35"  # banker's rounding would give 2.34
        assert f.number(Decimal("0.125"), 2) == f"0{point}13"
        assert f.number(Decimal("-0.005")) == f"-0{point}01"
        assert f.number(Decimal("2.5"), 0) == "3"
        assert f.number(Decimal("-0.001")) == f"0{point}00"


def test_negative_places_drop_trailing_zeros_like_floatformat(pl) -> None:
    assert f.number(Decimal("229.3000"), -3) == "229,3"
    assert f.number(Decimal("12.000"), -3) == "12"
    assert f.number(Decimal("0.0004"), -3) == "0"
    assert f.number(Decimal("1234.5678"), -2) == f"1{NBSP}234,57"
    with translation.override("en"):
        assert f.number(Decimal("229.3000"), -3) == "229.3"


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_missing_values_print_a_dash(lang) -> None:
    with translation.override(lang):
        for fn in (f.number, f.zl, f.mwh, f.pct, f.day, f.when, f.month):
            assert fn(None) == "—", fn
        assert f.period(None, None) == "—"


# --- dates and times ------------------------------------------------------------------


def test_dates_are_day_first_in_polish_and_iso_in_english() -> None:
    day = dt.date(2026, 11, 1)
    with translation.override("pl"):
        assert f.day(day) == "01.11.2026"
        assert f.day("2026-11-01") == "01.11.2026"
    with translation.override("en"):
        assert f.day(day) == "2026-11-01"


def test_moments_are_shown_in_warsaw_local_time_never_as_utc_iso() -> None:
    utc = "2026-11-30T23:00:00+00:00"  # the first hour of December in Warsaw
    with translation.override("pl"):
        assert f.when(utc) == "01.12.2026 00:00"
        assert f.day(utc) == "01.12.2026"
        assert f.when(dt.datetime(2026, 7, 1, 10, 15, tzinfo=dt.UTC)) == "01.07.2026 12:15"  # CEST, +2
    with translation.override("en"):
        assert f.when(utc) == "2026-12-01 00:00"
        assert "+00:00" not in f.when(utc) and "T" not in f.when(utc)


def test_local_times_across_the_dst_changes(pl) -> None:
    # 25.10.2026: clocks go back at 03:00 CEST, so 02:30 happens twice.
    assert f.when(dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)) == "25.10.2026 02:30"  # CEST
    assert f.when(dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)) == "25.10.2026 02:30"  # CET
    assert f.when(dt.datetime(2026, 10, 25, 2, 30, tzinfo=dt.UTC)) == "25.10.2026 03:30"
    # 29.03.2026: clocks go forward at 02:00 CET, 02:xx never happens.
    assert f.when(dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC)) == "29.03.2026 01:59"
    assert f.when(dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)) == "29.03.2026 03:00"
    # The local day of a late-evening UTC moment is the next day.
    assert f.day(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)) == "29.03.2026"


def test_months_and_periods() -> None:
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    with translation.override("pl"):
        assert f.month(start) == "listopad 2026"
        assert f.month("2026-02") == "luty 2026"
        assert f.period(start, end) == "01.11.2026 – 30.11.2026"
        assert f.period(start, start) == "01.11.2026"
        assert f.period(start, None) == "01.11.2026 – …"
    with translation.override("en"):
        assert f.month(start) == "November 2026"
        assert f.period(start, end) == "2026-11-01 – 2026-11-30"

    class Run:
        period_start, period_end = start, end

    with translation.override("pl"):
        assert f.period_of(Run()) == "01.11.2026 – 30.11.2026"


def test_template_filters_follow_the_active_language() -> None:
    template = Template(
        "{% load oke_format %}{{ e|mwh }}|{{ a|zl }}|{{ p|pct }}|{{ d|day }}|{{ t|when }}|{{ d|month }}|{{ d|period:d2 }}|{{ n|number:-3 }}"
    )
    context = Context({
        "e": 68_734_000, "a": Decimal("1234.5"), "p": "6.655", "d": dt.date(2026, 11, 1), "d2": dt.date(2026, 11, 30),
        "t": dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC), "n": Decimal("229.3000"),
    })
    with translation.override("pl"):
        assert template.render(context) == (
            f"68,734{NBSP}MWh|1{NBSP}234,50{NBSP}zł|6,66{NBSP}%|01.11.2026|01.12.2026 00:00|listopad 2026|"
            "01.11.2026 – 30.11.2026|229,3"
        )
    with translation.override("en"):
        assert template.render(context) == (
            f"68.734{NBSP}MWh|1,234.50{NBSP}PLN|6.66%|2026-11-01|2026-12-01 00:00|November 2026|"
            "2026-11-01 – 2026-11-30|229.3"
        )


def test_django_date_formats_agree_with_the_layer() -> None:
    """Form widgets and ``|date`` use the same day-first / ISO style (no ``15-05-2024``)."""
    from django.utils.formats import date_format

    day = dt.date(2024, 5, 15)
    with translation.override("pl"):
        assert date_format(day, "SHORT_DATE_FORMAT") == "15.05.2024" == f.day(day)
    with translation.override("en"):
        assert date_format(day, "SHORT_DATE_FORMAT") == "2024-05-15" == f.day(day)


def test_pdfs_render_in_polish_whatever_language_the_caller_has(monkeypatch) -> None:
    """Statements are Polish documents: pdf_render renders its template under Polish."""
    from django.utils import timezone

    from reports.statements import pdf

    seen = []

    def template_seen(name, context):
        seen.append((translation.get_language(), f.zl(Decimal("1234.5")), f.day(dt.date(2026, 11, 1))))
        return '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>'

    monkeypatch.setattr(pdf, "render_to_string", template_seen)
    with translation.override("en"):
        rendered = pdf.pdf_render(template="statement.html", context={}, name="x.pdf", created=timezone.now())
        assert f.zl(Decimal("1234.5")) == f"1,234.50{NBSP}PLN"  # the caller's language is back
    assert seen == [("pl", f"1{NBSP}234,50{NBSP}zł", "01.11.2026")]
    assert rendered.content.startswith(b"%PDF")
