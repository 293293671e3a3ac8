"""``manage.py settle``: prints totals, lines and rates; non-zero exit with the message."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401


def test_it_prints_the_settlement_as_json(cluster, seventy):  # noqa: F811
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["totals"]["total"] == "52442.81"
    lines = {line["ref"]: line for line in report["lines"]}
    assert lines["gmina"]["shared_wh"] == 875_000_000
    assert lines["gmina"]["exemptions"]["cogeneration"] == "5407.50"
    assert sum(float(line["total"]) for line in lines.values()) == pytest.approx(52442.81)
    assert report["rates"]["rates"][0]["quality_rate"] == "24.2100"
    assert {t["threshold_pct"] for t in report["rates"]["tiers"]} == {"60.00", "70.00", "80.00", "90.00", "100.00"}
    assert report["evaluation"] == {"period": "month", "provisional": False}


def test_a_yearly_rule_makes_a_shorter_run_provisional(cluster, seventy):  # noqa: F811
    from reports.models import SettlementRule

    SettlementRule.objects.update(evaluation_period="year")
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--json", stdout=out)
    assert json.loads(out.getvalue())["evaluation"] == {"period": "year", "provisional": True}
    text = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), stdout=text)
    assert "kwoty wstępne, korekta w zestawieniu rocznym" in text.getvalue()


def test_it_exits_non_zero_with_the_reason(cluster, seventy):  # noqa: F811
    seventy["ppes"][0].meter_days.all().delete()
    with pytest.raises(CommandError, match="Niekompletne dane") as exc:
        call_command("settle", "oke", "--start", str(START), "--end", str(END))
    assert seventy["ppes"][0].code in str(exc.value)
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--override-completeness", stdout=out)
    assert "razem" in out.getvalue()


def test_it_refuses_an_unknown_cluster(db):
    with pytest.raises(CommandError, match="Nie ma klastra"):
        call_command("settle", "nie-ma", "--start", "2025-01-01", "--end", "2025-01-31")
