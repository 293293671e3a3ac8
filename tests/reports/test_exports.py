"""Money exports: settlement lines, version differences, completeness per day, import errors,
a month's statements as one ZIP, and statement file names that carry number and member."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.metering.store import meter_days_upsert
from reports.models import ReadingImport, Statement, StatementDownload
from reports.statements.archive import statement_archive_entry
from reports.statements.services import statement_filename
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, StorageUnitFactory
from tests.reports.factories import MWH, SettlementLineFactory, march_run

pytestmark = pytest.mark.django_db


def url(cluster, name: str, **kwargs) -> str:
    return reverse(f"reports:{name}", kwargs={"cluster_slug": cluster.slug, **kwargs})


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def workbook_rows(response) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(content(response)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return [row + (None,) * (len(rows[0]) - len(row)) for row in rows]  # read-only drops empty trailing cells


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content(response).decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def run(cluster):
    run = march_run(cluster)
    SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster, ref="piek", name="Piekarnia Orzeska"))
    SettlementLineFactory(
        run=run, member=MemberFactory(cluster=cluster, ref="gm", name="Gmina Orzesze"),
        drawn_wh=1_234_567, shared_wh=0, discount=Decimal("0.10"),
    )
    return run


def test_it_exports_the_settlement_lines_with_numbers_as_numbers(client, coordinator, cluster, run):
    client.force_login(coordinator)
    response = client.get(url(cluster, "settlement-lines-export", run_id=run.pk, fmt="xlsx"))
    assert response.status_code == 200
    assert "oke-rozliczenie-2026-03-v1-" in response["Content-Disposition"]
    header, *data = workbook_rows(response)
    assert header[:3] == ("Symbol", "Członek", "Energia pobrana [kWh]")
    assert "Korzyść razem [zł]" in header and "Upust [zł]" in header
    assert [r[1] for r in data] == ["Gmina Orzesze", "Piekarnia Orzeska"]
    gmina = dict(zip(header, data[0], strict=True))
    assert gmina["Energia pobrana [kWh]"] == pytest.approx(1234.567)
    assert gmina["Upust [zł]"] == pytest.approx(0.10)
    piekarnia = dict(zip(header, data[1], strict=True))
    assert piekarnia["Energia współdzielona [kWh]"] == pytest.approx(560 * MWH / 1000)
    assert isinstance(piekarnia["Korzyść razem [zł]"], float)
    assert any(h.endswith("[zł]") and piekarnia[h] == pytest.approx(3460.80) for h in header)  # an exemption column


def test_it_writes_the_settlement_lines_as_polish_csv(client, coordinator, cluster, run):
    client.force_login(coordinator)
    header, *data = csv_rows(client.get(url(cluster, "settlement-lines-export", run_id=run.pk, fmt="csv")))
    gmina = dict(zip(header, data[0], strict=True))
    assert gmina["Energia pobrana [kWh]"] == "1234,567"
    assert gmina["Korzyść razem [zł]"] == "20977,13"


def test_it_reads_settlement_lines_in_a_fixed_number_of_queries(client, coordinator, cluster, run):
    client.force_login(coordinator)
    address = url(cluster, "settlement-lines-export", run_id=run.pk, fmt="csv")
    content(client.get(address))  # warm the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            content(client.get(address))
        return len(queries)

    few = count()
    for _ in range(20):
        SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster))
    assert count() == few


def test_it_refuses_lines_of_an_unfinished_run(client, coordinator, cluster):
    queued = march_run(cluster, status="queued")
    client.force_login(coordinator)
    assert client.get(url(cluster, "settlement-lines-export", run_id=queued.pk, fmt="xlsx")).status_code == 404


def test_it_exports_every_difference_of_a_version_with_units(client, coordinator, cluster):
    changes = [{"ref": f"m{n}", "field": "drawn_wh", "old": 1000 * n, "new": 1000 * n + 500} for n in range(150)]
    run = march_run(cluster, version=2, diff={
        "previous_version": 1,
        "totals": {"total": ["100.00", "112.50"], "shared_wh": [2_000_000, 2_500_000],
                   "exemptions": [{"green": "1.00", "blue": "2.00"}, {"green": "1.50", "blue": "2.00"}]},
        "members": changes,
    })
    client.force_login(coordinator)
    header, *data = workbook_rows(client.get(url(cluster, "settlement-diff-export", run_id=run.pk, fmt="xlsx")))
    assert header == ("Dotyczy (klaster lub symbol członka)", "Pozycja", "Jednostka", "Wersja 1", "Wersja 2", "Zmiana")
    assert len(data) == 3 + 150  # all members, not the page's first 100
    by_label = {r[1]: r for r in data[:3]}
    assert by_label["korzyść razem"][2:] == ("zł", 100, 112.5, 12.5)
    assert by_label["energia współdzielona"][2:] == ("kWh", 2000, 2500, 500)
    assert [r for r in data[:3] if r[2] == "zł" and r[5] == pytest.approx(0.5)]  # the green-certificate fee
    assert data[3][0] == "m0" and data[3][2:] == ("kWh", 0, 0.5, 0.5)


def test_it_exports_completeness_per_ppe_and_day_of_the_month_shown(client, coordinator, cluster):
    member = MemberFactory(cluster=cluster, ref="piek", name="Piekarnia Orzeska")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2026, 3, 2))
    StorageUnitFactory(ppe=ppe)  # fed-in energy required
    # 48 UTC hours from 1 March 00:00 UTC = 01:00 local: 23 h on 1 March, 24 h on the 2nd, 1 h on the 3rd
    meter_days_upsert(ppe_id=ppe.id, start_utc=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), resolution_min=60,
                      import_wh=[1] * 48, export_wh=[0] * 48, quality=[1] * 48)
    client.force_login(coordinator)
    response = client.get(url(cluster, "completeness-export", fmt="xlsx"), {"month": "2026-03"})
    assert "oke-kompletnosc-2026-03-" in response["Content-Disposition"]
    header, *data = workbook_rows(response)
    assert header[:6] == ("Kod PPE", "Grupa taryfowa", "Symbol członka", "Członek", "Dzień", "Godziny oczekiwane")
    assert len(data) == 30  # a member from 2 March: 2nd … 31st
    rows = {r[4].date(): dict(zip(header, r, strict=True)) for r in data}
    second, third = rows[dt.date(2026, 3, 2)], rows[dt.date(2026, 3, 3)]
    assert (second["Godziny oczekiwane"], second["Godziny kompletne"], second["Godziny brakujące"]) == (24, 24, 0)
    assert (third["Godziny kompletne"], third["Brak poboru [h]"]) == (1, 23)
    assert rows[dt.date(2026, 3, 29)]["Godziny oczekiwane"] == 23  # the spring DST day
    assert second["Członek"] == "Piekarnia Orzeska" and second["Kompletność [%]"] == 100
    csv_data = csv_rows(client.get(url(cluster, "completeness-export", fmt="csv"), {"month": "2026-03"}))
    assert csv_data[2][4] == "2026-03-03" and csv_data[2][-1] == "4,2"  # 1 of 24 hours


def test_it_exports_the_errors_of_a_meter_import(client, coordinator, cluster):
    imp = ReadingImport.objects.create(
        cluster=cluster, original_name="dane.csv", status="failed",
        errors=[{"line": 12, "field": "start", "message": "Data 2026-02-30 nie istnieje."},
                {"line": None, "field": "PPE", "message": "Plik nie zawiera kodu PPE."}],
    )
    client.force_login(coordinator)
    rows = workbook_rows(client.get(url(cluster, "import-errors-export", pk=imp.pk, fmt="xlsx")))
    assert rows == [("Wiersz", "Pole", "Błąd"), (12, "start", "Data 2026-02-30 nie istnieje."),
                    (None, "PPE", "Plik nie zawiera kodu PPE.")]


def _statement(run, line, number: str, *, pdf: bytes | None = b"%PDF-1.7 test") -> Statement:
    statement = Statement.objects.create(run=run, line=line, member=line.member, number=number,
                                         status=Statement.Status.READY if pdf else Statement.Status.PENDING)
    if pdf:
        statement.file.save(number.replace("/", "-") + ".pdf", ContentFile(pdf))
    return statement


def test_it_names_each_members_statement_by_number_and_member(cluster, run):
    line = run.lines.get(member_ref="piek")
    statement = _statement(run, line, "OKE/2026/03/0007-v1")
    assert statement_filename(run=run, statement=statement) == "zestawienie-OKE-2026-03-0007-v1-piekarnia-orzeska.pdf"
    assert statement_filename(run=run) == "zestawienie-OKE-2026-03-v1.pdf"
    assert statement_archive_entry(statement=statement) == "OKE-2026-03-0007-v1_piekarnia-orzeska.pdf"


def test_it_downloads_a_statement_under_its_own_name(client, coordinator, cluster, run):
    line = run.lines.get(member_ref="piek")
    line.member_name = "Łódzka Piekarnia Żółć"
    line.save()
    statement = _statement(run, line, "OKE/2026/03/0007-v1")
    client.force_login(coordinator)
    response = client.get(url(cluster, "statement-download", statement_id=statement.pk))
    assert response.status_code == 200
    assert 'filename="zestawienie-OKE-2026-03-0007-v1-lodzka-piekarnia-zolc.pdf"' in response["Content-Disposition"]


def test_it_zips_every_rendered_statement_of_the_run(client, coordinator, cluster, run):
    piek, gmina = run.lines.get(member_ref="piek"), run.lines.get(member_ref="gm")
    _statement(run, piek, "OKE/2026/03/0007-v1", pdf=b"%PDF piekarnia")
    _statement(run, gmina, "OKE/2026/03/0008-v1", pdf=b"%PDF gmina")
    other = SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster, name="Jeszcze nie gotowy"))
    _statement(run, other, "OKE/2026/03/0009-v1", pdf=None)
    client.force_login(coordinator)
    response = client.get(url(cluster, "statements-zip", run_id=run.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="zestawienia-OKE-2026-03-v1.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert archive.namelist() == ["OKE-2026-03-0007-v1_piekarnia-orzeska.pdf", "OKE-2026-03-0008-v1_gmina-orzesze.pdf"]
    assert archive.read("OKE-2026-03-0008-v1_gmina-orzesze.pdf") == b"%PDF gmina"
    assert StatementDownload.objects.filter(user=coordinator).count() == 2


def test_it_sends_back_to_the_statements_when_none_is_rendered(client, coordinator, cluster, run):
    client.force_login(coordinator)
    response = client.get(url(cluster, "statements-zip", run_id=run.pk))
    assert response.status_code == 302
    assert response["Location"] == url(cluster, "statement-list", run_id=run.pk)


@pytest.mark.parametrize("name,key", [
    ("settlement-lines-export", "run_id"), ("settlement-diff-export", "run_id"), ("import-errors-export", "pk"),
])
def test_it_answers_404_for_another_clusters_objects_under_my_slug(client, coordinator, cluster, other_cluster, name, key):
    foreign_run = march_run(other_cluster)
    foreign_import = ReadingImport.objects.create(cluster=other_cluster, original_name="x.csv", errors=[{"line": 1}])
    client.force_login(coordinator)
    pk = foreign_run.pk if key == "run_id" else foreign_import.pk
    assert client.get(url(cluster, name, fmt="xlsx", **{key: pk})).status_code == 404
    assert client.get(url(cluster, "statements-zip", run_id=foreign_run.pk)).status_code == 404


def test_it_reads_completeness_in_a_fixed_number_of_queries(client, coordinator, cluster):
    client.force_login(coordinator)
    address = url(cluster, "completeness-export", fmt="csv") + "?month=2026-03"
    content(client.get(address))  # warm the session

    def grow(n: int) -> None:
        for _ in range(n):
            ppe = MeteringPointFactory(cluster=cluster)
            PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
            meter_days_upsert(ppe_id=ppe.id, start_utc=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), resolution_min=60,
                              import_wh=[1] * 24, export_wh=[0] * 24, quality=[1] * 24)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            rows = content(client.get(address)).count(b"\r\n")
        return len(queries), rows

    grow(2)
    few, rows = count()
    grow(10)
    assert count() == (few, rows + 10 * 31)


def test_it_offers_the_downloads_on_the_pages(client, coordinator, cluster, run):
    piek = run.lines.get(member_ref="piek")
    _statement(run, piek, "OKE/2026/03/0007-v1")
    client.force_login(coordinator)
    html = client.get(url(cluster, "settlement-detail", run_id=run.pk)).content.decode()
    assert url(cluster, "settlement-lines-export", run_id=run.pk, fmt="xlsx") in html
    html = client.get(url(cluster, "statement-list", run_id=run.pk)).content.decode()
    assert url(cluster, "statements-zip", run_id=run.pk) in html
    html = client.get(url(cluster, "completeness"), {"month": "2026-02"}).content.decode()
    assert url(cluster, "completeness-export", fmt="csv") + "?month=2026-02" in html


def test_it_offers_csv_when_the_completeness_workbook_would_be_too_big(client, coordinator, cluster, settings):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
    settings.OKE_EXPORT_XLSX_MAX_CELLS = 31 * 13 - 1  # one PPE for a March is 31 rows of 13 cells
    client.force_login(coordinator)
    response = client.get(url(cluster, "completeness-export", fmt="xlsx"), {"month": "2026-03"})
    assert response.status_code == 302 and response["Location"].endswith("?month=2026-03")
    page = client.get(response["Location"]).content.decode()
    assert "pobierz plik CSV" in page and "OKE_EXPORT_XLSX_MAX_CELLS" in page
    assert len(csv_rows(client.get(url(cluster, "completeness-export", fmt="csv"), {"month": "2026-03"}))) == 1 + 31
    settings.OKE_EXPORT_XLSX_MAX_CELLS = 31 * 13
    assert len(workbook_rows(client.get(url(cluster, "completeness-export", fmt="xlsx"), {"month": "2026-03"}))) == 1 + 31


def test_it_states_the_completeness_column_count_the_size_check_uses(cluster):
    from reports.views.exports import COMPLETENESS_COLUMNS, completeness_table

    assert len(completeness_table(rows=[]).columns) == COMPLETENESS_COLUMNS
