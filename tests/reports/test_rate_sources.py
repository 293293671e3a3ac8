"""Rates with a source: every dated row names its source and whether it was verified; the shipped
defaults load the researched values of ``reports/data/rates_sourced.json``; a run that used a row
nobody verified says so on its result page and in the coordinator's report, not in a member's statement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from members.models import DSO
from reports.models import DiscountTier, DistributionRate, ExemptFee, RunOutdatedReason, SettlementRule, TariffZoneHours
from reports.settlement.results import run_snapshot_upgrade
from reports.settlement.snapshot import SnapshotError, run_snapshot_read, snapshot_from_json, snapshot_to_json
from reports.settlement.tariff_defaults import EXAMPLE, EXAMPLE_PGE, sourced_entries, tariff_defaults_load
from reports.settlement.tariffs import rate_uses_record
from reports.settlement.zones import zone_schedules_check
from reports.statements.cluster_report import cluster_report_pdf
from reports.statements.services import statements_generate
from tests.factories import UserFactory
from tests.reports.factories import march_run
from tests.reports.test_eligibility_runs import settled
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import END, START, seventy, store  # noqa: F401

TAURON_TARIFF = "Taryfa dla usług dystrybucji energii elektrycznej TAURON Dystrybucja S.A. na rok 2026"
URE_OZE_2025 = "Prezes URE opublikował wysokość stawki opłaty OZE na 2025 r."
WARNING = "Rozliczenie użyło wartości przykładowych albo niezweryfikowanych"
REPORT_NOTE = "Uwaga dla koordynatora: rozliczenie użyło wartości przykładowych albo niezweryfikowanych"


def _rows() -> list[tuple]:
    return [
        tuple(row.values())
        for model in (DistributionRate, ExemptFee, DiscountTier, SettlementRule, TariffZoneHours)
        for row in model.objects.order_by("pk").values()
    ]


def _text(content: bytes) -> str:
    return " ".join(pdf_text(content).replace("\xa0", " ").split())


def test_the_shipped_example_rows_name_the_presentation_and_are_not_verified(db) -> None:
    rate = DistributionRate.objects.get(dso=None, tariff_group="")
    assert (rate.variable_rate, rate.quality_rate, rate.valid_to) == (D("229.30"), D("24.21"), None)
    assert rate.source == EXAMPLE_PGE and rate.verified is False
    for model in (ExemptFee, DiscountTier, SettlementRule):
        assert set(model.objects.values_list("source", "verified")) == {(EXAMPLE, False)}


def test_the_defaults_load_the_sourced_rows_with_their_sources(db) -> None:
    tariff_defaults_load()
    oze = list(ExemptFee.objects.filter(code="oze").order_by("valid_from"))
    assert [(f.valid_from, f.valid_to, f.rate, f.verified) for f in oze] == [
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), D("0.00"), False),  # the example row, ended
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), D("3.50"), True),
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31), D("7.30"), False),
    ]
    assert oze[0].source == EXAMPLE
    assert URE_OZE_2025 in oze[1].source and "ure.gov.pl" in oze[1].source
    assert "dorzeczy.pl" in oze[2].source
    cogeneration = list(ExemptFee.objects.filter(code="cogeneration").order_by("valid_from"))
    assert [(f.valid_from, f.valid_to, f.rate, f.verified) for f in cogeneration] == [
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), D("6.18"), False),
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), D("3.00"), False),
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31), D("3.00"), False),
    ]
    assert all("businessinsider.com.pl" in f.source for f in cogeneration[1:])
    # the other fees keep their open-ended example rows
    assert ExemptFee.objects.get(code="white").valid_to is None

    tauron = DSO.objects.get(slug="tauron")
    g11 = DistributionRate.objects.get(dso=tauron, tariff_group="G11")
    assert (g11.variable_rate, g11.quality_rate) == (D("246.40"), D("33.10"))
    assert (g11.valid_from, g11.valid_to, g11.verified) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31), False)
    assert TAURON_TARIFF in g11.source and "tauron-dystrybucja.pl" in g11.source
    # G12 is priced by time zone: one row per zone, each with the group's quality rate, and its zone hours
    g12 = {r.zone: r for r in DistributionRate.objects.filter(dso=tauron, tariff_group="G12")}
    assert {z: (r.variable_rate, r.quality_rate, r.valid_from, r.valid_to, r.verified) for z, r in g12.items()} == {
        "day": (D("284.10"), D("33.10"), dt.date(2026, 1, 1), dt.date(2026, 12, 31), False),
        "night": (D("55.80"), D("33.10"), dt.date(2026, 1, 1), dt.date(2026, 12, 31), False),
    }
    assert all(TAURON_TARIFF in r.source for r in g12.values())
    hours = TariffZoneHours.objects.filter(dso=tauron, tariff_group="G12")
    assert not hours.filter(verified=True).exists() and all(TAURON_TARIFF in h.source for h in hours)
    day = sorted({(h.hour_from, h.hour_to) for h in hours.filter(zone="day", day_kind="workday")})
    night = sorted({(h.hour_from, h.hour_to) for h in hours.filter(zone="night", day_kind="holiday")})
    assert day == [(6, 13), (15, 22)] and night == [(0, 6), (13, 15), (22, 24)]
    # the Sunday/holiday reading is disputed among the sources: the rows say so
    assert all("odczyt sporny" in h.source for h in hours.filter(day_kind__in=["sunday", "holiday"]))
    assert not any("odczyt sporny" in h.source for h in hours.filter(day_kind__in=["workday", "saturday"]))
    assert zone_schedules_check(list(hours)) == []
    # no other group of the task (C11, C12a, C21, B21, B23) has a sourced value: none is entered
    assert not DistributionRate.objects.filter(tariff_group__in=["C11", "C12a", "C21", "B21", "B23"]).exists()
    # every loaded row carries the source and flag the data file records
    for entry in sourced_entries():
        if entry["kind"] == "fee" and entry["valid_from"] >= "2025":
            row = ExemptFee.objects.get(code=entry["code"], valid_from=entry["valid_from"])
            assert row.verified is entry["verified"] and entry["source_url"] in row.source


def test_loading_twice_changes_nothing(db) -> None:
    tariff_defaults_load()
    before = _rows()
    tariff_defaults_load()
    assert _rows() == before


def test_loading_ends_a_used_open_row_without_changing_it_and_outdates_the_run(cluster) -> None:
    run = march_run(cluster)  # March 2026 with the example fee rows, open-ended
    rate_uses_record(run=run)
    example = ExemptFee.objects.get(code="oze")
    tariff_defaults_load()
    example.refresh_from_db()
    assert (example.rate, example.valid_from, example.valid_to) == (D("0.00"), dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert RunOutdatedReason.objects.filter(run=run, code="rate").exists()


def test_a_run_on_an_unverified_row_warns_on_the_result_page_and_in_the_coordinators_report_only(
    client, cluster, seventy, coordinator, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    unverified = run_snapshot_read(run).rules.unverified
    rate = DistributionRate.objects.get(dso=None, tariff_group="")
    assert any(u.kind == "rate" and u.id == rate.pk and u.source == EXAMPLE_PGE for u in unverified)
    assert {u.kind for u in unverified} == {"rate", "fee", "tier", "rule"}

    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="run-unverified"' in page and WARNING in page
    assert EXAMPLE_PGE in page and "229.3000 + 24.2100 zł/MWh" in page

    report = _text(cluster_report_pdf(run=run).content)
    assert REPORT_NOTE in report and EXAMPLE_PGE in report

    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=coordinator)
    statements = list(run.statements.all())
    assert statements
    for statement in statements:
        text = _text(statement.file.read())
        assert "niezweryfikowan" not in text and "prezentacji koordynatora" not in text and "Uwaga dla koordynatora" not in text


def test_a_run_on_verified_rows_only_shows_no_warning(
    client, cluster, seventy, coordinator, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    for model in (DistributionRate, ExemptFee, DiscountTier, SettlementRule):
        model.objects.update(verified=True, source="dokument sprawdzony")
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    assert run.snapshot["unverified"] == []
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="run-unverified"' not in page
    assert REPORT_NOTE not in _text(cluster_report_pdf(run=run).content)


def test_an_older_run_lists_every_row_it_used_as_unverified_and_decoding_is_strict(cluster) -> None:
    run = march_run(cluster)  # recorded as before the contract (no schema)
    snapshot = run_snapshot_upgrade(run)
    kinds = [u.kind for u in snapshot.rules.unverified]
    assert kinds.count("rate") == 1 and kinds.count("rule") == 1 and kinds.count("tier") == 5
    assert next(u for u in snapshot.rules.unverified if u.kind == "rate").source == EXAMPLE_PGE
    data = snapshot_to_json(snapshot)
    data.pop("unverified")
    with pytest.raises(SnapshotError, match="unverified"):
        snapshot_from_json(data)


def test_the_rates_page_shows_source_and_verified(client, coordinator) -> None:
    tariff_defaults_load()
    client.force_login(coordinator)
    page = client.get("/rates/").content.decode()
    assert EXAMPLE_PGE in page and TAURON_TARIFF in page and URE_OZE_2025 in page
    assert "zweryfikowane" in page and "niezweryfikowane" in page


def test_the_admin_lists_source_and_verified(client, db) -> None:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for name in ("distributionrate", "exemptfee", "discounttier", "settlementrule"):
        page = client.get(f"/admin/reports/{name}/").content.decode()
        assert "column-source" in page and "column-verified" in page and EXAMPLE in page


def test_the_new_value_form_requires_a_source(client, db) -> None:
    rate = DistributionRate.objects.get(dso=None, tariff_group="")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = f"/rates/rate/{rate.pk}/new-value/"
    form = client.get(url).content.decode()
    assert 'name="source"' in form and 'name="verified"' in form and EXAMPLE_PGE not in form.split("<form", 1)[1]
    values = {"valid_from": "2026-01-01", "tariff_group": "", "variable_rate": "250,00", "quality_rate": "24,21"}
    page = client.post(url, values).content.decode()
    assert "Podaj źródło nowej wartości" in page
    assert not DistributionRate.objects.filter(valid_from=dt.date(2026, 1, 1)).exists()
    rate.refresh_from_db()
    assert rate.valid_to is None
    client.post(url, values | {"source": "Taryfa PGE Dystrybucja na 2026 r.", "verified": "on"})
    new = DistributionRate.objects.get(dso=None, tariff_group="", valid_from=dt.date(2026, 1, 1))
    assert (new.variable_rate, new.source, new.verified) == (D("250.00"), "Taryfa PGE Dystrybucja na 2026 r.", True)
