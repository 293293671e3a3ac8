"""The member portal's own-data pages: year-to-date totals, help and contact, the day chart, the hourly CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import ConsentText
from reports.metering.store import meter_days_upsert
from reports.models import Quality, Statement
from reports.portal.services import portal_hourly_csv_rows, portal_year_totals
from tests.factories import MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

UTC = dt.UTC
M, E = Quality.MEASURED, Quality.ESTIMATED


def _published(cluster, member, *, start: dt.date, end: dt.date, version: int = 1, **line) -> Statement:
    now = timezone.now()
    run = SettlementRunFactory(cluster=cluster, period_kind="month", period_start=start, period_end=end,
                               version=version, statements_published_at=now)
    line = SettlementLineFactory(run=run, member=member, member_name=member.name, **line)
    return Statement.objects.create(run=run, line=line, member=member, number=f"S/{run.pk}",
                                    status=Statement.Status.PUBLISHED, published_at=now)


def _day(ppe, day: dt.date, *, drawn: int, fed: int = 0, quality: int = M) -> None:
    """One local (Warsaw) day of hourly readings, every hour the same values."""
    import zoneinfo

    warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
    start = dt.datetime.combine(day, dt.time(), warsaw).astimezone(UTC)
    hours = int((dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), warsaw).astimezone(UTC) - start)
                .total_seconds() // 3600)
    meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=[drawn] * hours,
                      export_wh=[fed] * hours, quality=[quality] * hours)


@pytest.fixture
def ppes(cluster, alice, bob):
    """Alice's PPE (member since 10 March 2026) and Bob's PPE, both with readings 9–11 March 2026."""
    mine = MeteringPointFactory(cluster=cluster, code="590000000000000001")
    theirs = MeteringPointFactory(cluster=cluster, code="590000000000000002")
    PPEMembershipFactory(ppe=mine, member=alice.member, valid_from=dt.date(2026, 3, 10))
    PPEMembershipFactory(ppe=theirs, member=bob.member, valid_from=dt.date(2025, 1, 1))
    for day in (dt.date(2026, 3, 9), dt.date(2026, 3, 10), dt.date(2026, 3, 11)):
        _day(mine, day, drawn=1234, fed=500)
        _day(theirs, day, drawn=777_000, fed=0)
    return mine, theirs


# --- year to date ---------------------------------------------------------------


def test_it_totals_the_current_year_from_the_newest_version_of_each_period(client, cluster, alice, bob) -> None:
    year = timezone.localdate().year
    jan, jan_end = dt.date(year, 1, 1), dt.date(year, 1, 31)
    _published(cluster, alice.member, start=jan, end=jan_end, version=1, total="100.00", shared_wh=1_000, drawn_wh=5_000)
    _published(cluster, alice.member, start=jan, end=jan_end, version=2, total="120.50", shared_wh=1_500, drawn_wh=5_000)
    _published(cluster, alice.member, start=dt.date(year, 2, 1), end=dt.date(year, 2, 28), total="10.00",
               shared_wh=500, drawn_wh=2_000)
    _published(cluster, alice.member, start=dt.date(year - 1, 12, 1), end=dt.date(year - 1, 12, 31), total="999.00",
               shared_wh=9, drawn_wh=9)
    _published(cluster, bob.member, start=jan, end=jan_end, version=3, total="5000.00", shared_wh=7, drawn_wh=7)
    client.force_login(alice)
    totals = client.get(reverse("portal:home")).context["totals"]
    assert totals == {"year": year, "periods": 2, "benefit": Decimal("130.50"), "shared_wh": 2_000, "drawn_wh": 7_000}


def test_year_totals_of_no_settlements_are_zero() -> None:
    assert portal_year_totals(settlements=[], year=2026) == {
        "year": 2026, "periods": 0, "benefit": Decimal("0"), "shared_wh": 0, "drawn_wh": 0}


# --- help and contact -------------------------------------------------------------


def test_it_explains_the_statement_terms_and_gives_the_coordinators_contact(client, cluster, coordinator, alice) -> None:
    cluster.coordinator_name, cluster.coordinator_address = "Gmina Orzesze", "ul. Gliwicka 1, 43-180 Orzesze"
    cluster.save()
    coordinator.email = "klaster@orzesze.example"
    coordinator.save()
    client.force_login(alice)
    html = client.get(reverse("portal:help")).content.decode()
    for term in ("Energia współdzielona", "Poziom autokonsumpcji", "Próg upustu", "Zwolnienia z opłat", "Korekta", "Wersja"):
        assert f"<dt>{term}</dt>" in html
    assert "Gmina Orzesze" in html and "ul. Gliwicka 1" in html and "mailto:klaster@orzesze.example" in html


# --- day chart --------------------------------------------------------------------


def test_the_day_chart_shows_only_my_ppes_hours(client, alice, ppes) -> None:
    client.force_login(alice)
    chart = client.get(reverse("portal:data"), {"day": "2026-03-10"}).context["chart"]
    assert len(chart["labels"]) == 24 and chart["labels"][0] == "00:00"
    assert chart["drawn_kwh"] == [1.234] * 24 and chart["fed_kwh"] == [0.5] * 24
    assert chart["drawn_wh"] == 24 * 1234  # Bob's 777 kWh per hour never appear


def test_the_day_chart_has_nothing_before_my_membership_began(client, alice, ppes) -> None:
    client.force_login(alice)
    response = client.get(reverse("portal:data"), {"day": "2026-03-09"})
    assert response.context["chart"]["has_data"] is False and 'id="portal-day-empty"' in response.content.decode()


def test_the_day_chart_links_the_neighbouring_days_and_has_25_hours_when_clocks_go_back(client, cluster, alice) -> None:
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=alice.member, valid_from=dt.date(2026, 1, 1))
    _day(ppe, dt.date(2026, 10, 25), drawn=1000)
    client.force_login(alice)
    response = client.get(reverse("portal:data"), {"day": "2026-10-25"})
    chart = response.context["chart"]
    assert len(chart["labels"]) == 25 and chart["labels"][2:4] == ["02:00", "02:00"]
    html = response.content.decode()
    assert "?day=2026-10-24" in html and "?day=2026-10-26" in html
    assert 'src="/static/js/portal-day-chart.js"' in html
    assert 'name="start" value="2026-10-01"' in html and 'name="end" value="2026-10-25"' in html  # the month so far


def test_the_day_chart_answers_404_to_a_malformed_date(client, alice) -> None:
    client.force_login(alice)
    assert client.get(reverse("portal:data"), {"day": "2026-13-40"}).status_code == 404


# --- hourly CSV -------------------------------------------------------------------


def _csv(client, **params) -> list[list[str]]:
    response = client.get(reverse("portal:data-csv"), params)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return [line.split(";") for line in text[1:].strip().split("\r\n")]


def test_the_csv_holds_my_ppes_hours_in_local_time_with_a_decimal_comma(client, alice, ppes) -> None:
    client.force_login(alice)
    rows = _csv(client, start="2026-03-01", end="2026-03-31")
    assert rows[0] == ["PPE", "data", "godzina od", "strefa czasowa", "pobór [kWh]", "oddanie [kWh]", "szacowane"]
    assert rows[1] == ["590000000000000001", "10.03.2026", "00:00", "UTC+01:00", "1,234", "0,500", "nie"]
    assert len(rows) == 1 + 2 * 24  # 10 and 11 March: the 9th precedes the membership
    assert {r[0] for r in rows[1:]} == {"590000000000000001"}


def test_the_csv_never_reaches_another_members_ppe_whatever_the_url_says(client, alice, bob, ppes) -> None:
    client.force_login(alice)
    _, theirs = ppes
    rows = _csv(client, start="2026-03-09", end="2026-03-11", ppe=str(theirs.pk), member=str(bob.member.pk))
    assert all(r[0] != theirs.code for r in rows[1:]) and "777" not in repr(rows)
    client.force_login(bob)
    bob_rows = _csv(client, start="2026-03-09", end="2026-03-11")
    assert {r[0] for r in bob_rows[1:]} == {theirs.code}


def test_the_csv_marks_estimated_hours(cluster, alice) -> None:
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=alice.member, valid_from=dt.date(2026, 1, 1))
    _day(ppe, dt.date(2026, 7, 1), drawn=2, quality=E)
    rows = list(portal_hourly_csv_rows(member=alice.member, start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 1)))
    assert rows[1][2:] == ["00:00", "UTC+02:00", "0,002", "0,000", "tak"]


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2025-01-01", "2026-01-02", "najwyżej 366 dni"),
    ("2026-03-10", "2026-03-01", "data końcowa jest wcześniejsza"),
])
def test_the_csv_refuses_a_range_over_a_year_or_backwards(client, alice, start, end, message) -> None:
    client.force_login(alice)
    response = client.get(reverse("portal:data-csv"), {"start": start, "end": end})
    assert response.status_code == 400 and message in response.content.decode()


# --- boundaries -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["help", "data", "data-csv"])
def test_the_own_data_pages_send_anonymous_visitors_to_login(client, name) -> None:
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["help", "data", "data-csv"])
def test_the_own_data_pages_answer_404_to_accounts_without_a_member(client, coordinator, name) -> None:
    client.force_login(coordinator)
    assert client.get(reverse(f"portal:{name}"), {"start": "2026-03-01", "end": "2026-03-02"}).status_code == 404


@pytest.mark.parametrize("name", ["home", "help", "data", "data-csv"])
def test_the_own_data_pages_wait_for_the_consents(client, alice, name) -> None:
    ConsentText.objects.create(kind="privacy", version="9.0", title="Nowa", text="…",
                               valid_from=timezone.now() - dt.timedelta(seconds=1))
    client.force_login(alice)
    response = client.get(reverse(f"portal:{name}"), {"start": "2026-03-01", "end": "2026-03-02"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:consents"))


def test_hourly_values_are_integers_in_wh(cluster, alice, ppes) -> None:
    from reports.portal.services import portal_hourly

    data = portal_hourly(member=alice.member, start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 10))
    assert data.import_wh.dtype == np.int64 and int(data.import_wh.sum()) == 24 * 1234


def test_the_data_page_opens_on_the_last_day_with_the_members_meter_data(client, alice, cluster) -> None:
    import datetime as dt

    import numpy as np

    from reports.engine import hours_for_days
    from tests.factories import MeteringPointFactory, PPEMembershipFactory
    from tests.reports.test_settlement_service import store

    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=alice.member, valid_from=dt.date(2025, 1, 1))
    hours = hours_for_days(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 3))
    store(ppe, hours, np.full(len(hours), 500), np.zeros(len(hours), dtype=np.int64))
    client.force_login(alice)
    response = client.get(reverse("portal:data"))
    assert response.status_code == 200
    assert response.context["next_day"] - dt.timedelta(days=1) in (dt.date(2025, 6, 3), dt.date(2025, 6, 2))
    assert any(response.context["chart"]["drawn_kwh"])
