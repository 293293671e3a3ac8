"""Tariff time zones: a zoned group (G12) is priced hour by hour at the rate of the hour's zone.

Hand-computed cases on the DST days of 2026 (23 hours on 29 March, 25 on 25 October), the zone
schedule's validation, the errors for a missing zone rate or schedule, and old runs' defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from reports.engine import Fee, HourlyInput, RateSegment, Tariff, Tier, hour_axis, hours_for_days, settle
from reports.models import DayKind, DistributionRate, JobStatus, RateUse, TariffZoneHours
from reports.settlement import settlement_request
from reports.settlement.results import run_snapshot_upgrade
from reports.settlement.selectors import row_label, tariff_plan
from reports.settlement.snapshot import run_snapshot_read
from reports.settlement.tariffs import tariff_row_guard_unused
from reports.settlement.zones import day_kind, zone_schedule_problems, zone_schedules_check
from reports.statements.cluster_report import cluster_report_pdf
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import store

MWH = 1_000_000
SPRING = dt.date(2026, 3, 29)  # 23 hours: the clock goes from 2:00 to 3:00
AUTUMN = dt.date(2026, 10, 25)  # 25 hours: 2:00–3:00 twice
DAY_HOURS = [(6, 13), (15, 22)]
NIGHT_HOURS = [(0, 6), (13, 15), (22, 24)]
# cluster-exempt example fees: 0.00 + 6.18 + 2.3515 + 1.50135 + 2.0753 = 12.10815 zł/MWh
FEES = (
    Fee("oze", D("0.00")), Fee("cogeneration", D("6.18")), Fee("green", D("2.3515")), Fee("blue", D("1.50135")),
    Fee("white", D("2.0753")), Fee("capacity", D("50.00"), cluster=False),
)
TIERS = tuple(Tier(D(t), D(d)) for t, d in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)])


def g12_rates(dso, *, zones=("day", "night")) -> None:
    values = {"day": ("284.10", "33.10"), "night": ("55.80", "33.10")}
    for zone in zones:
        DistributionRate.objects.create(
            dso=dso, tariff_group="G12", zone=zone, variable_rate=D(values[zone][0]), quality_rate=D(values[zone][1]),
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31), source="taryfa testowa",
        )


def g12_hours(dso, *, night=NIGHT_HOURS, kind=DayKind.ALL) -> None:
    for zone, ranges in (("day", DAY_HOURS), ("night", night)):
        for a, b in ranges:
            TariffZoneHours.objects.create(
                dso=dso, tariff_group="G12", zone=zone, day_kind=kind, hour_from=a, hour_to=b,
                valid_from=dt.date(2026, 1, 1), source="taryfa testowa", verified=True,
            )


def local_hours(day: dt.date) -> list[int]:
    hours = hours_for_days(start=day, end=day)
    return hour_axis(hours).local_hour.astype(int).tolist()


@pytest.fixture
def g12_cluster(cluster):
    """A G12 household member draws 1 MWh in every hour of 29 March 2026 (23 hours); a PV member
    feeds in 1 MWh in local hours 0, 1, 3, 4, 5, 13, 14 (night) and 6–12, 15–18 (day): 18 MWh shared,
    7 in the night zone and 11 in the day zone, 18 / 23 = 78.26 % → the 70 % tier, 10 %."""
    hours = hours_for_days(start=SPRING, end=SPRING)
    local = local_hours(SPRING)
    assert len(hours) == 23 and 2 not in local
    fed_hours = {0, 1, 3, 4, 5, 13, 14, *range(6, 13), *range(15, 19)}
    drawn = np.full(23, MWH, dtype=np.int64)
    fed = np.array([MWH if h in fed_hours else 0 for h in local], dtype=np.int64)
    home = MemberFactory(cluster=cluster, ref="dom", name="Gospodarstwo domowe")
    pv = MemberFactory(cluster=cluster, ref="pv", name="Farma PV")
    g12 = MeteringPointFactory(cluster=cluster, tariff_group="G12")
    plant = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=g12, member=home)
    PPEMembershipFactory(ppe=plant, member=pv)
    GeneratorFactory(ppe=plant, capacity_kw=D("5000"))
    store(g12, hours, drawn, 0 * drawn)
    store(plant, hours, 0 * drawn, fed)
    g12_rates(cluster.dso)
    g12_hours(cluster.dso)
    return {"g12": g12, "plant": plant}


def settle_day(cluster, captured):
    with captured(execute=True):
        run = settlement_request(cluster=cluster, period_start=SPRING, period_end=SPRING, period_kind="custom")
    run.refresh_from_db()
    return run


def test_a_g12_ppe_is_priced_at_each_zone_s_rate_on_the_23_hour_day(
    cluster, g12_cluster, django_capture_on_commit_callbacks
):
    run = settle_day(cluster, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.DONE, run.error
    t = run.totals
    assert (t["drawn_wh"], t["shared_wh"]) == (23 * MWH, 18 * MWH)
    assert t["tier"] == {"threshold_pct": "70.00", "discount_pct": "10.00"}
    # discount: day 11 MWh × 10 % × (284.10 + 33.10) = 348.92; night 7 MWh × 10 % × (55.80 + 33.10) = 62.23
    assert t["discount"] == "411.15"
    # exemptions on 18 MWh: cogeneration 111.24, green 42.327 → 42.33, blue 27.0243 → 27.02, white 37.3554 → 37.36
    assert t["exemptions"] == {"oze": "0.00", "cogeneration": "111.24", "green": "42.33", "blue": "27.02", "white": "37.36"}
    assert (t["exemptions_total"], t["total"]) == ("217.95", "629.10")
    line = run.lines.get(member_ref="dom")
    assert (line.shared_wh, line.discount, line.total) == (18 * MWH, D("411.15"), D("629.10"))
    # without the cluster: 11 × (317.20 + 12.10815) + 7 × (88.90 + 12.10815) = 3,622.38965 + 707.05705
    assert line.cost_without_cluster == D("4329.45")
    # the cooperative settles the same 18 MWh (no surplus hour): variable 11 × 284.10 + 7 × 55.80, quality 18 × 33.10
    assert run.cooperative["settled_wh"] == 18 * MWH
    assert (run.cooperative["discount_variable"], run.cooperative["discount_quality"]) == ("3515.70", "595.80")


def test_the_run_records_the_zone_rates_and_hours_and_lists_them(
    cluster, g12_cluster, coordinator, client, django_capture_on_commit_callbacks
):
    run = settle_day(cluster, django_capture_on_commit_callbacks)
    snapshot = run_snapshot_read(run)
    zoned = {r.zone: r for r in snapshot.rules.rates if r.tariff_group == "G12"}
    assert {z: r.variable_rate for z, r in zoned.items()} == {"day": D("284.1000"), "night": D("55.8000")}
    assert {r.zone for r in snapshot.rules.rates if r.tariff_group is None} == {""}
    assert sorted((z.zone, z.hour_from, z.hour_to) for z in snapshot.rules.zone_hours) == [
        ("day", 6, 13), ("day", 15, 22), ("night", 0, 6), ("night", 13, 15), ("night", 22, 24)]
    # the zone rates (source "taryfa testowa", not verified) are named with their zone; the hours are verified
    labels = [u.row for u in snapshot.rules.unverified if u.kind == "rate"]
    assert any("/ G12 strefa day: 284.1000 + 33.1000 zł/MWh" in label for label in labels)
    assert not [u for u in snapshot.rules.unverified if u.kind == "zone"]
    # used rows are locked, the zone hours included
    row = TariffZoneHours.objects.filter(zone="day").first()
    assert RateUse.objects.filter(run=run, kind=RateUse.Kind.ZONE).count() == 5
    with pytest.raises(ValidationError, match="został użyty w rozliczeniach"):
        tariff_row_guard_unused(row=row)

    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert "G12 strefa day" in page and "G12 strefa night" in page
    assert "Godziny strefy day" in page and "6:00–13:00" in page
    report = " ".join(pdf_text(cluster_report_pdf(run=run).content).replace("\xa0", " ").split())
    assert "strefa day" in report and "6–13, 15–22" in report


def test_unverified_zone_hours_appear_in_the_run_s_unverified_list(
    cluster, g12_cluster, django_capture_on_commit_callbacks
):
    TariffZoneHours.objects.update(verified=False)
    run = settle_day(cluster, django_capture_on_commit_callbacks)
    zone_rows = [u for u in run.snapshot["unverified"] if u["kind"] == "zone"]
    assert len(zone_rows) == 5
    assert any(u["row"].startswith("Godziny strefy night") and "22:00–24:00" in u["row"] for u in zone_rows)


def test_a_missing_zone_rate_fails_the_run_naming_the_group_zone_and_days(
    cluster, g12_cluster, django_capture_on_commit_callbacks
):
    DistributionRate.objects.filter(zone="night").delete()
    run = settle_day(cluster, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.FAILED
    assert "Brak stawki dystrybucyjnej strefy night" in run.error
    assert "grupa taryfowa G12" in run.error and "2026-03-29" in run.error
    assert run.lines.count() == 0 and not RateUse.objects.filter(run=run).exists()


def test_a_missing_schedule_or_an_uncovered_hour_is_refused_naming_the_day_kind_and_hour(cluster):
    g12 = MeteringPointFactory(cluster=cluster, tariff_group="G12")
    g12_rates(cluster.dso)
    with pytest.raises(ValidationError, match="Brak godzin stref czasowych .* grupa taryfowa G12 .* w dniach 2026-03-29"):
        tariff_plan(ppes=[g12], start=SPRING, end=SPRING)
    g12_hours(cluster.dso, night=[(0, 6), (22, 24)])  # 13:00–15:00 in no zone
    with pytest.raises(ValidationError) as caught:
        tariff_plan(ppes=[g12], start=SPRING, end=SPRING)
    assert "niedziela, godzina 13:00–14:00 nie należy do żadnej strefy" in " ".join(caught.value.messages)
    assert "w dniach 2026-03-29" in " ".join(caught.value.messages)


def test_the_schedule_validation_names_group_day_kind_and_hour(cluster):
    rows = [
        TariffZoneHours(tariff_group="G12", zone="day", day_kind=DayKind.ALL, hour_from=6, hour_to=22,
                        valid_from=dt.date(2026, 1, 1)),
        TariffZoneHours(tariff_group="G12", zone="night", day_kind=DayKind.WORKDAY, hour_from=0, hour_to=7,
                        valid_from=dt.date(2026, 1, 1)),
        TariffZoneHours(tariff_group="G12", zone="night", day_kind=DayKind.WORKDAY, hour_from=22, hour_to=24,
                        valid_from=dt.date(2026, 1, 1)),
    ]
    problems = zone_schedule_problems(rows, label="TAURON / G12", months=[1])
    # working days: 6:00–7:00 is in both zones; other days: 0–6 and 22–24 are in none
    assert ("Godziny stref TAURON / G12: dzień roboczy (pon.–pt.), styczeń — godzina 6:00–7:00 należy do kilku "
            "stref (day, night).") in problems
    assert any(p.startswith("Godziny stref TAURON / G12: sobota, styczeń — godziny 0:00–1:00") for p in problems)
    assert any(p.startswith("Godziny stref TAURON / G12: święto") for p in problems)
    whole = [TariffZoneHours(tariff_group="G12", zone=z, hour_from=a, hour_to=b, valid_from=dt.date(2026, 1, 1))
             for z, ranges in (("day", DAY_HOURS), ("night", NIGHT_HOURS)) for a, b in ranges]
    assert zone_schedule_problems(whole, label="G12") == []
    # a saved row that doubles an hour of the same schedule is refused on the field
    g12_hours(cluster.dso)
    double = TariffZoneHours(dso=cluster.dso, tariff_group="G12", zone="night", day_kind=DayKind.SUNDAY,
                             hour_from=12, hour_to=14, valid_from=dt.date(2026, 6, 1), source="x")
    with pytest.raises(ValidationError) as caught:
        double.full_clean()
    assert "Godzina 12:00 (niedziela) jest już w strefie „day”" in caught.value.message_dict["hour_from"][0]
    assert zone_schedules_check(list(TariffZoneHours.objects.select_related("dso"))) == []


def test_rows_refuse_broken_hours_and_zone_rates_beside_an_all_hours_rate(cluster):
    row = TariffZoneHours(tariff_group="G12", zone="day", hour_from=22, hour_to=6, valid_from=dt.date(2026, 1, 1))
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    assert "strefę przez północ wpisz jako dwa wiersze" in caught.value.message_dict["hour_to"][0]
    DistributionRate.objects.create(dso=cluster.dso, tariff_group="G12", variable_rate=D(1), quality_rate=D(1),
                                    valid_from=dt.date(2026, 1, 1))
    zoned = DistributionRate(dso=cluster.dso, tariff_group="G12", zone="day", variable_rate=D(1), quality_rate=D(1),
                             valid_from=dt.date(2026, 6, 1), source="x")
    with pytest.raises(ValidationError, match="Stawka całodobowa i stawki strefowe"):
        zoned.full_clean()
    general = DistributionRate(zone="day", variable_rate=D(1), quality_rate=D(1), valid_from=dt.date(2020, 1, 1),
                               valid_to=dt.date(2020, 12, 31))
    with pytest.raises(ValidationError, match="Stawka strefowa wymaga grupy taryfowej"):
        general.full_clean()


def test_holidays_are_their_own_day_kind():
    assert day_kind(dt.date(2026, 5, 1)) == DayKind.HOLIDAY  # Friday, Święto Pracy
    assert day_kind(dt.date(2026, 5, 2)) == DayKind.SATURDAY
    assert day_kind(dt.date(2026, 5, 3)) == DayKind.HOLIDAY  # Sunday, Święto Konstytucji
    assert day_kind(dt.date(2026, 5, 4)) == DayKind.WORKDAY
    assert day_kind(dt.date(2026, 3, 29)) == DayKind.SUNDAY


def test_the_engine_maps_the_repeated_october_hour_to_its_zone():
    """25 October 2026: local hours 0, 1, 2, 2, 3, …, 23. One PPE draws 1 MWh every hour and all of it
    is shared; zone 1 (night) 0–6, 13–15, 22–24 = 6 + 1 (the repeated 2:00) + 2 + 2 = 11 hours,
    zone 2 (day) 14 hours. The level is 100 %: the 25 % tier."""
    hours = hours_for_days(start=AUTUMN, end=AUTUMN)
    axis = hour_axis(hours)
    local = axis.local_hour.astype(int).tolist()
    assert len(hours) == 25 and local[:5] == [0, 1, 2, 2, 3]
    night = {h for a, b in NIGHT_HOURS for h in range(a, b)}
    zone_of_hour = np.array([[1 if h in night else 2 for h in local]], dtype=np.int8)
    drawn = np.full((2, 25), 0, dtype=np.int64)
    drawn[0] = MWH
    fed = np.zeros((2, 25), dtype=np.int64)
    fed[1] = MWH
    data = HourlyInput(
        hours_utc=hours, import_wh=drawn, export_wh=fed, renewable_share=np.array([0.0, 1.0]),
        membership=np.array([[0], [1]], dtype=np.int32), n_members=2,
        zone_scheme=np.array([0, -1]), zone_of_hour=zone_of_hour, n_zones=3,
    )
    tariffs = (Tariff(D("229.30"), D("24.21")), Tariff(D("55.80"), D("33.10")), Tariff(D("284.10"), D("33.10")))
    zone_tariffs = np.array([[-1, 1, 2], [-1, -1, -1]], dtype=np.int64)
    segment = RateSegment(0, 1, tariffs, np.array([-1, 0]), FEES, True, zone_tariffs=zone_tariffs)
    result = settle(data=data, tiers=TIERS, segments=[segment])
    assert (result.drawn_wh, result.shared_wh) == (25 * MWH, 25 * MWH)
    assert result.tier == TIERS[-1]
    # 25 % × (11 × 88.90 + 14 × 317.20) = 25 % × (977.90 + 4,440.80) = 1,354.675 → 1,354.68
    assert result.discount == D("1354.68")
    # 25 MWh × 12.10815: 154.50 + 58.79 (58.7875) + 37.53 (37.53375) + 51.88 (51.8825) = 302.70
    assert result.exemptions_total == D("302.70")
    assert result.cooperative.discount_variable == D("4591.20")  # 11 × 55.80 + 14 × 284.10 = 613.80 + 3,977.40
    # the same PPE without zones, at one rate: bit for bit what the engine gave before zones
    plain = settle(data=HourlyInput(
        hours_utc=hours, import_wh=drawn, export_wh=fed, renewable_share=np.array([0.0, 1.0]),
        membership=np.array([[0], [1]], dtype=np.int32), n_members=2,
    ), tiers=TIERS, segments=[RateSegment(0, 1, tariffs[:1], np.array([0, 0]), FEES, True)])
    assert plain.discount == D("1584.44")  # 25 % × 25 × 253.51 = 1,584.4375


def test_old_runs_read_with_zone_all_hours_and_no_zone_hours(cluster, g12_cluster, django_capture_on_commit_callbacks):
    run = settle_day(cluster, django_capture_on_commit_callbacks)
    old = dict(run.snapshot)
    old["schema"] = 5
    old["rates"] = [{k: v for k, v in r.items() if k != "zone"} for r in old["rates"]]
    del old["zone_hours"]
    run.snapshot = old
    upgraded = run_snapshot_upgrade(run)
    assert {r.zone for r in upgraded.rules.rates} == {""} and upgraded.rules.zone_hours == ()
    assert row_label("rate", {"dso": "TAURON", "tariff_group": "G12", "zone": "night", "variable_rate": "55.80",
                              "quality_rate": "33.10", "valid_from": "2026-01-01"}) == (
        "Stawka dystrybucyjna TAURON / G12 strefa night: 55.80 + 33.10 zł/MWh (od 2026-01-01)")


def test_the_rates_page_lists_zone_hours_and_a_broken_schedule(cluster, coordinator, client):
    g12_hours(cluster.dso, night=[(0, 6), (22, 24)])  # 13:00–15:00 in no zone
    client.force_login(coordinator)
    page = client.get(reverse("rates:list")).content.decode()
    assert 'id="rates-zone"' in page and "Godziny stref czasowych" in page
    assert "strefa night: każdy dzień, mies. 1–12, godz. 22–24" in page
    assert "data-zone-problems" in page
    assert "dzień roboczy (pon.–pt.), styczeń — godziny 13:00–14:00, 14:00–15:00 nie należą do żadnej strefy" in page
    TariffZoneHours.objects.create(dso=cluster.dso, tariff_group="G12", zone="night", hour_from=13, hour_to=15,
                                   valid_from=dt.date(2026, 1, 1), source="taryfa testowa")
    assert "data-zone-problems" not in client.get(reverse("rates:list")).content.decode()


def test_an_administrator_gives_zone_hours_a_new_value_from_a_date(cluster, client, django_user_model):
    g12_hours(cluster.dso)
    admin = django_user_model.objects.create_superuser("admin-strefy", "a@example.com", "x")
    client.force_login(admin)
    row = TariffZoneHours.objects.get(zone="night", hour_from=13)
    response = client.post(reverse("rates:new-value", args=["zone", row.pk]), {
        "valid_from": "01.07.2026", "dso": cluster.dso.pk, "tariff_group": "G12", "zone": "night", "month_from": 1,
        "month_to": 12, "day_kind": "all", "hour_from": 13, "hour_to": 15, "source": "taryfa po zmianie",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    row.refresh_from_db()
    assert row.valid_to == dt.date(2026, 6, 30)
    assert TariffZoneHours.objects.get(zone="night", hour_from=13, valid_from=dt.date(2026, 7, 1)).source == "taryfa po zmianie"


def test_the_member_s_own_rates_list_each_zone_of_its_g12_ppe(cluster, g12_cluster, django_capture_on_commit_callbacks):
    from reports.statements.member_terms import member_rate_notes, member_rate_rows, rate_row_label

    run = settle_day(cluster, django_capture_on_commit_callbacks)
    rows = member_rate_rows(snapshot=run_snapshot_read(run), member_ref="dom", period_start=SPRING, period_end=SPRING)
    assert [(r.ppe, r.rate.zone, r.rate.variable_rate, r.used_from, r.used_to) for r in rows] == [
        (g12_cluster["g12"].code, "day", D("284.1000"), SPRING, SPRING),
        (g12_cluster["g12"].code, "night", D("55.8000"), SPRING, SPRING),
    ]
    assert rate_row_label(rows[0]).endswith("G12")
    notes = " ".join(member_rate_notes(rows))
    assert "strefa day: zmienna 284,10 + jakościowa 33,10" in notes and "strefa night: zmienna 55,80" in notes
    # the PV member's PPE is priced all hours: no zone on its rows
    assert {r.rate.zone for r in member_rate_rows(snapshot=run_snapshot_read(run), member_ref="pv",
                                                  period_start=SPRING, period_end=SPRING)} == {""}
