"""Renewable energy of a PPE with renewable and other generators, attributed from production data.

Hand-computed case: a PPE with PV 40 kW and a gas CHP 60 kW exports 10 kWh in one
hour; PV produced 6 kWh and the CHP 14 kWh, so 10 × 6 / 20 = 3 kWh is renewable
(by capacity it would be 10 × 40 / 100 = 4 kWh, and that hour is then estimated).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from members.models import Source
from reports.engine import HourlyInput, energy_flows, hours_for_days
from reports.metering.imports import reading_import_create
from reports.metering.production import generator_hourly, production_attribution
from reports.models import GeneratorDay, JobStatus, ReadingImport
from reports.settlement import settlement_request
from reports.settlement.snapshot import run_snapshot_read
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.test_settlement_service import store

START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 2)
MIXED, OTHER = "590322400000000100", "590322400000000117"
# hour h: 2025-01-01 11:00 local = 10:00 UTC
H_START = "2025-01-01T11:00+01:00"


@pytest.fixture
def mixed(cluster):
    """The mixed PPE (PV 40 kW + gas CHP 60 kW) exporting 10 kWh in hour h, and a member drawing 100 kWh every hour."""
    hours = hours_for_days(start=START, end=END)
    h = int(np.flatnonzero(hours == np.datetime64("2025-01-01T10:00:00"))[0])
    member = MemberFactory(cluster=cluster, ref="gmina")
    ppe = MeteringPointFactory(cluster=cluster, code=MIXED)
    PPEMembershipFactory(ppe=ppe, member=member, valid_from=START)
    pv = GeneratorFactory(ppe=ppe, name="PV dach", source=Source.PV, capacity_kw=D("40"))
    chp = GeneratorFactory(ppe=ppe, name="Kogeneracja", source=Source.CHP_GAS, capacity_kw=D("60"))
    export = np.zeros(len(hours), dtype=np.int64)
    export[h] = 10_000
    store(ppe, hours, np.zeros(len(hours), dtype=np.int64), export)
    consumer = MeteringPointFactory(cluster=cluster, code=OTHER)
    PPEMembershipFactory(ppe=consumer, member=member, valid_from=START)
    store(consumer, hours, np.full(len(hours), 100_000, dtype=np.int64), np.zeros(len(hours), dtype=np.int64))
    return {"ppe": ppe, "pv": pv, "chp": chp, "hours": hours, "h": h, "consumer": consumer}


@pytest.fixture
def run_import(cluster, django_capture_on_commit_callbacks):
    def run(content: str, *, name: str = "produkcja.csv") -> ReadingImport:
        with django_capture_on_commit_callbacks(execute=True):
            created = reading_import_create(cluster=cluster, file=ContentFile(content.encode()), name=name,
                                            format="production")
        return ReadingImport.objects.get(id=created.id)

    return run


def settled(cluster, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    return run


def errors(result: ReadingImport) -> list[tuple]:
    return [(e["line"], e["field"]) for e in result.error_rows]


# --- the engine, pure ------------------------------------------------------------------------


def test_the_engine_uses_the_metered_share_in_the_overridden_hours_and_counts_the_rest():
    hours = hours_for_days(start=START, end=START)
    n = len(hours)
    export = np.zeros((2, n), dtype=np.int64)
    export[0, 3] = export[0, 5] = 10_000
    data = HourlyInput(
        hours_utc=hours, import_wh=np.full((2, n), 100_000, dtype=np.int64), export_wh=export,
        renewable_share=np.array([0.4, 1.0]), membership=np.zeros((2, 1), dtype=np.int32), n_members=1,
        share_override={0: (np.array([3]), np.array([6 / 20]))}, estimated_rows=(0,),
    )
    flows = energy_flows(data=data)
    assert round(flows.renewable_h[3]) == 3_000  # 10 kWh × 6 / 20, not 4 kWh by capacity
    assert round(flows.renewable_h[5]) == 4_000  # no production data: 10 kWh × 40 / 100, estimated
    assert flows.estimated_hours == {0: 1}


# --- the settlement ---------------------------------------------------------------------------


def test_a_mixed_ppe_with_production_data_counts_the_metered_renewable_part(cluster, mixed, run_import,
                                                                            django_capture_on_commit_callbacks):
    result = run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
                        f"{MIXED},Kogeneracja,{H_START},14\n")
    assert result.status == JobStatus.DONE, result.errors
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.totals["fed_in_wh"] == 10_000
    assert run.totals["renewable_fed_in_wh"] == 3_000
    assert run.totals["shared_wh"] == 3_000
    assert run.totals["estimated"] == {"hours": 0, "ppes": []}
    assert run_snapshot_read(run).totals.estimated.hours == 0


def test_without_production_data_the_capacity_split_is_used_and_the_hour_flagged(cluster, mixed,
                                                                                 django_capture_on_commit_callbacks):
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.totals["renewable_fed_in_wh"] == 4_000
    assert run.totals["estimated"] == {"hours": 1, "ppes": [{"code": MIXED, "hours": 1}]}
    estimated = run_snapshot_read(run).totals.estimated
    assert (estimated.hours, estimated.ppes[0].code) == (1, MIXED)


def test_production_of_only_one_of_two_generators_leaves_the_hour_estimated(cluster, mixed, run_import,
                                                                           django_capture_on_commit_callbacks):
    assert run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n").status == JobStatus.DONE
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.totals["renewable_fed_in_wh"] == 4_000
    assert run.totals["estimated"]["hours"] == 1


def test_zero_total_production_with_export_falls_back_to_the_estimate(cluster, mixed, run_import,
                                                                      django_capture_on_commit_callbacks):
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},0\n{MIXED},Kogeneracja,{H_START},0\n")
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.totals["renewable_fed_in_wh"] == 4_000
    assert run.totals["estimated"]["hours"] == 1


def test_a_ppe_whose_generators_are_all_renewable_is_never_estimated(cluster, mixed, django_capture_on_commit_callbacks):
    mixed["chp"].source = Source.BIOGAS
    mixed["chp"].save()
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.totals["renewable_fed_in_wh"] == 10_000
    assert run.totals["estimated"] == {"hours": 0, "ppes": []}


def test_settle_json_includes_the_estimated_ppe_hours(cluster, mixed):
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["totals"]["estimated"] == {"hours": 1, "ppes": [{"code": MIXED, "hours": 1}]}


def test_the_attribution_keeps_only_the_mixed_ppes_metered_hours(cluster, mixed, run_import):
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
               f"{MIXED},Kogeneracja,{H_START},14\n")
    ppes = [mixed["ppe"], mixed["consumer"]]
    attribution = production_attribution(ppes=ppes, hours=mixed["hours"])
    assert attribution.mixed == (0,)
    hours, shares = attribution.override[0]
    assert hours.tolist() == [mixed["h"]] and shares.tolist() == [0.3]


# --- the import -------------------------------------------------------------------------------


def test_quarter_hour_production_is_summed_to_hours(cluster, mixed, run_import):
    lines = "".join(f"{MIXED};PV dach;2025-01-01T11:{m:02d}+01:00;1,5\n" for m in (0, 15, 30, 45))
    result = run_import("ppe_code;generator;start;production_kwh\n" + lines)
    assert result.status == JobStatus.DONE, result.errors
    start = dt.datetime(2025, 1, 1, 10, tzinfo=dt.UTC)
    wh, present = generator_hourly(generator_ids=[mixed["pv"].pk], start_utc=start, n_hours=2)[mixed["pv"].pk]
    assert wh.tolist() == [6_000, 0] and present.tolist() == [True, False]


def test_a_re_import_replaces_the_same_intervals(cluster, mixed, run_import):
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
               f"{MIXED},PV dach,2025-01-01T12:00+01:00,7\n")
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},2.5\n")
    start = dt.datetime(2025, 1, 1, 10, tzinfo=dt.UTC)
    wh, _ = generator_hourly(generator_ids=[mixed["pv"].pk], start_utc=start, n_hours=2)[mixed["pv"].pk]
    assert wh.tolist() == [2_500, 7_000]
    assert GeneratorDay.objects.count() == 1


@pytest.mark.parametrize(("row", "field", "words"), [
    (f"{MIXED},Wiatrak,{H_START},1", "generator", "Wiatrak"),  # not registered on any PPE
    (f"{MIXED},PV sąsiada,{H_START},1", "generator", "PV sąsiada"),  # registered on another PPE
    (f"590322400000009999,PV dach,{H_START},1", "ppe_code", "590322400000009999"),  # unknown PPE
    (f"590322400000000200,PV dach,{H_START},1", "ppe_code", "590322400000000200"),  # another cluster
    (f"{MIXED},PV dach,{H_START},-2", "production_kwh", "-2"),
    (f"{MIXED},PV dach,2024-12-31T11:00+01:00,1", "start", MIXED),  # before the membership
])
def test_bad_production_lines_name_line_and_field_and_save_nothing(cluster, other_cluster, mixed, run_import,
                                                                  row, field, words):
    neighbour = MeteringPointFactory(cluster=cluster, code="590322400000000124")
    GeneratorFactory(ppe=neighbour, name="PV sąsiada")
    foreign = MeteringPointFactory(cluster=other_cluster, code="590322400000000200")
    GeneratorFactory(ppe=foreign, name="PV dach")
    result = run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n{row}\n")
    assert result.status == JobStatus.FAILED
    assert errors(result) == [(3, field)]
    assert words in result.error_rows[0]["message"]
    assert GeneratorDay.objects.count() == 0  # the good line 2 is not saved either


def test_the_command_accepts_the_production_format(cluster, mixed, tmp_path):
    path = tmp_path / "produkcja.csv"
    path.write_text(f"ppe_code,generator,start,production_kwh\n{MIXED},Kogeneracja,{H_START},14\n")
    out = StringIO()
    call_command("import_readings", "oke", str(path), "--format", "production", stdout=out)
    assert "Zapisano 1 odczyt produkcji" in out.getvalue()
    assert GeneratorDay.objects.get().generator == mixed["chp"]


def test_the_upload_page_offers_and_accepts_the_production_format(client, coordinator, cluster, mixed,
                                                                  django_capture_on_commit_callbacks):
    from django.urls import reverse

    client.force_login(coordinator)
    page = client.get(reverse("reports:import-list", args=[cluster.slug])).content.decode()
    assert 'value="production"' in page
    upload = ContentFile(f"ppe_code;generator;start;production_kwh\n{MIXED};PV dach;{H_START};6,25\n".encode(),
                         name="produkcja.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:import-list", args=[cluster.slug]),
                               {"file": upload, "format": "production"})
    imp = ReadingImport.objects.get()
    assert response.status_code == 302 and imp.status == JobStatus.DONE, imp.errors
    detail = client.get(response["Location"]).content.decode()
    assert "Zapisano 1 odczyt produkcji" in detail and "6,25" in detail


def test_the_result_page_says_szacunek_for_the_estimated_ppe_hours(client, coordinator, cluster, mixed,
                                                                   django_capture_on_commit_callbacks):
    from django.urls import reverse

    run = settled(cluster, django_capture_on_commit_callbacks)
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="estimated-hours"' in page and "szacunek" in page and f"{MIXED}: 1 h" in page


def test_the_result_page_has_no_estimate_note_when_production_is_metered(client, coordinator, cluster, mixed, run_import,
                                                                        django_capture_on_commit_callbacks):
    from django.urls import reverse

    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
               f"{MIXED},Kogeneracja,{H_START},14\n")
    run = settled(cluster, django_capture_on_commit_callbacks)
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="estimated-hours"' not in page


def test_the_member_statement_names_its_estimated_ppe(cluster, mixed, django_capture_on_commit_callbacks):
    from django.template.loader import render_to_string

    from reports.statements.services import statement_data, statements_prepare

    run = settled(cluster, django_capture_on_commit_callbacks)
    statements_prepare(run=run)
    data = statement_data(statement=run.statements.get())
    assert data["estimated"].hours == 1 and data["estimated_own"] == [{"code": MIXED, "hours": 1}]
    html = render_to_string("reports/pdf/statement.html", {**data, "pdf_created": "2025-01-03T10:00:00+01:00"})
    assert 'id="estimated-note"' in html and f"{MIXED} (1 godz.)" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_screenshot_of_a_run_with_estimated_hours(page, live_server, coordinator, cluster, mixed):
    from pathlib import Path

    from tests.browser import login

    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), stdout=out)
    assert "szacunek" in out.getvalue()
    from reports.models import SettlementRun

    run = SettlementRun.objects.get()
    login(page, live_server, "koordynator")
    page.goto(f"{live_server.url}/c/{cluster.slug}/settlements/{run.pk}/")
    assert page.locator("#estimated-hours").is_visible()
    shots = Path("/work/shots")
    if shots.is_dir():
        page.screenshot(path=str(shots / "h10_estimated_run.png"), full_page=True)


def test_the_res_share_condition_reads_the_same_attribution(cluster, run_import):
    from reports.metering.selectors import measured_energy

    year = hours_for_days(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    ppe = MeteringPointFactory(cluster=cluster, code=MIXED)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2025, 1, 1))
    GeneratorFactory(ppe=ppe, name="PV dach", source=Source.PV, capacity_kw=D("40"))
    GeneratorFactory(ppe=ppe, name="Kogeneracja", source=Source.CHP_GAS, capacity_kw=D("60"))
    export = np.zeros(len(year), dtype=np.int64)
    export[int(np.flatnonzero(year == np.datetime64("2025-01-01T10:00:00"))[0])] = 10_000
    export[-1] = 5_000  # no production data in this hour: 5 kWh × 40 / 100 by capacity
    store(ppe, year, np.full(len(year), 1_000, dtype=np.int64), export)
    assert measured_energy(cluster=cluster, year=2025).renewable_fed_in_wh == 4_000 + 2_000
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
               f"{MIXED},Kogeneracja,{H_START},14\n")
    assert measured_energy(cluster=cluster, year=2025).renewable_fed_in_wh == 3_000 + 2_000


def test_a_new_version_after_importing_production_shows_the_estimated_hours_change(
    client, coordinator, cluster, mixed, run_import, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    settled(cluster, django_capture_on_commit_callbacks)
    run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
               f"{MIXED},Kogeneracja,{H_START},14\n")
    run = settled(cluster, django_capture_on_commit_callbacks)
    assert run.version == 2
    assert run.diff["totals"]["estimated"][0]["hours"] == 1 and run.diff["totals"]["estimated"][1]["hours"] == 0
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert "godziny-PPE z udziałem OZE szacowanym z mocy zainstalowanej" in page


def test_an_import_cancelled_while_it_saves_keeps_nothing(cluster, mixed):
    from okeportal.jobs import JobCancelledError
    from reports.metering.production import production_import_run

    created = reading_import_create(
        cluster=cluster, file=ContentFile(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n".encode()),
        name="produkcja.csv", format="production", enqueue=False,
    )
    ReadingImport.objects.filter(id=created.id).update(status=JobStatus.CANCELLED)
    with pytest.raises(JobCancelledError):
        production_import_run(reading_import=ReadingImport.objects.get(id=created.id))
    assert GeneratorDay.objects.count() == 0
    assert ReadingImport.objects.get(id=created.id).status == JobStatus.CANCELLED


def test_the_portal_day_chart_attributes_as_the_settlement_does(cluster, mixed, run_import):
    """The member's day chart: 4 kWh shared by capacity (labelled estimate), 3 kWh from production data."""
    from reports.portal.services import portal_day_shared

    member = mixed["ppe"].memberships.get().member
    estimate = portal_day_shared(member=member, day=START)
    assert (estimate.total_wh, estimate.estimated_hours) == (4_000, 1)
    result = run_import(f"ppe_code,generator,start,production_kwh\n{MIXED},PV dach,{H_START},6\n"
                        f"{MIXED},Kogeneracja,{H_START},14\n")
    assert result.status == JobStatus.DONE, result.errors
    metered = portal_day_shared(member=member, day=START)
    assert (metered.total_wh, metered.estimated_hours) == (3_000, 0)
