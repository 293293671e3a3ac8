"""Registry list exports: XLSX and CSV with the page's filters, typed cells, Polish headers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import RegistryImport
from members.services.exports import Column, Kind, Table, name_slug, table_csv_lines, table_xlsx_file
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)

pytestmark = pytest.mark.django_db


def url(cluster, name: str, fmt: str, **kwargs) -> str:
    return reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, "fmt": fmt, **kwargs})


def workbook_rows(response) -> list[tuple]:
    body = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    width = len(rows[0])
    return [row + (None,) * (width - len(row)) for row in rows]  # read-only mode drops empty trailing cells


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def registry(cluster):
    """Three members: two with a PV PPE in Orzesze, one who has left; one PPE with storage."""
    piekarnia = MemberFactory(cluster=cluster, ref="piek", name="Piekarnia Orzeska", joined_on=dt.date(2024, 3, 1))
    gmina = MemberFactory(cluster=cluster, ref="gm", name="Gmina Orzesze", legal_form="jst")
    MemberFactory(cluster=cluster, ref="old", name="Zielona Łąka sp. z o.o.", left_on=dt.date(2025, 1, 31))
    p1 = MeteringPointFactory(cluster=cluster, contracted_kw=Decimal("40.50"))
    p2 = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=p1, member=piekarnia)
    PPEMembershipFactory(ppe=p2, member=gmina)
    GeneratorFactory(ppe=p1, name="PV dach", capacity_kw=Decimal("49.500"), commissioned_on=dt.date(2024, 5, 6))
    GeneratorFactory(ppe=p2, name="PV szkoła")
    StorageUnitFactory(ppe=p2, name="Magazyn szkoła")
    MemberFactory(cluster=MeteringPointFactory().cluster, name="Obcy członek")  # another cluster
    return piekarnia, gmina, p1, p2


def test_it_exports_the_member_list_as_xlsx_with_typed_cells(client, coordinator, cluster, registry):
    client.force_login(coordinator)
    response = client.get(url(cluster, "member-export", "xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "oke-czlonkowie-" in response["Content-Disposition"]
    rows = workbook_rows(response)
    header, *data = rows
    assert header[:2] == ("Symbol", "Nazwa")
    assert "Moc zainstalowana [kW]" in header and "Data przystąpienia" in header
    assert [r[1] for r in data] == ["Gmina Orzesze", "Piekarnia Orzeska", "Zielona Łąka sp. z o.o."]
    piekarnia = dict(zip(header, data[1], strict=True))
    assert piekarnia["Liczba PPE"] == 1 and isinstance(piekarnia["Liczba PPE"], int)
    assert piekarnia["Moc zainstalowana [kW]"] == pytest.approx(49.5)
    assert isinstance(piekarnia["Data przystąpienia"], dt.datetime)
    assert piekarnia["Data przystąpienia"].date() == dt.date(2024, 3, 1)


def test_it_applies_the_list_filters_to_every_row_not_one_page(client, coordinator, cluster, registry):
    for n in range(30):  # more than a page of 25
        MemberFactory(cluster=cluster, ref=f"x{n}", name=f"Spółdzielnia {n}", legal_form="cooperative")
    client.force_login(coordinator)
    rows = workbook_rows(client.get(url(cluster, "member-export", "xlsx"), {"legal_form": "cooperative"}))
    assert len(rows) == 1 + 30
    rows = csv_rows(client.get(url(cluster, "member-export", "csv"), {"status": "active", "q": "orze"}))
    assert [r[1] for r in rows[1:]] == ["Gmina Orzesze", "Piekarnia Orzeska"]


def test_it_writes_csv_with_semicolons_and_decimal_commas(client, coordinator, cluster, registry):
    client.force_login(coordinator)
    rows = csv_rows(client.get(url(cluster, "ppe-export", "csv")))
    header, *data = rows
    assert header[0] == "Kod PPE" and "Moc umowna [kW]" in header
    first = dict(zip(header, data[0], strict=True))
    assert first["Moc umowna [kW]"] == "40,50"
    assert first["Członek"] == "Piekarnia Orzeska"
    assert first["Moc wytwórcza [kW]"] == "49,500"


def test_it_exports_generators_and_storage_behind_the_filtered_ppes(client, coordinator, cluster, registry):
    piekarnia, gmina, p1, p2 = registry
    client.force_login(coordinator)
    rows = workbook_rows(client.get(url(cluster, "generator-export", "xlsx")))
    assert [r[3] for r in rows[1:]] == ["PV dach", "PV szkoła"]
    rows = workbook_rows(client.get(url(cluster, "generator-export", "xlsx"), {"member": gmina.pk}))
    header, *data = rows
    assert [r[3] for r in data] == ["PV szkoła"]
    assert dict(zip(header, data[0], strict=True))["Członek"] == "Gmina Orzesze"
    rows = workbook_rows(client.get(url(cluster, "storage-export", "xlsx")))
    header, *data = rows
    storage = dict(zip(header, data[0], strict=True))
    assert storage["Nazwa"] == "Magazyn szkoła" and storage["Pojemność [kWh]"] == pytest.approx(20.0)
    assert isinstance(storage["Sprawność cyklu"], float)


def test_it_exports_the_errors_of_a_registry_import(client, coordinator, cluster):
    entry = RegistryImport.objects.create(
        cluster=cluster, file_name="rejestr.zip", status=RegistryImport.Status.FAILED, error_count=2,
        errors=[{"file": "members.csv", "row": 4, "column": "nip", "message": "NIP 123 ma złą sumę kontrolną."},
                {"file": "ppe.csv", "row": 9, "column": "gmina", "message": "Nieznana gmina 9999999."}],
    )
    client.force_login(coordinator)
    rows = workbook_rows(client.get(url(cluster, "registry-import-errors-export", "xlsx", pk=entry.pk)))
    assert rows == [("Plik", "Wiersz", "Kolumna", "Błąd"),
                    ("members.csv", 4, "nip", "NIP 123 ma złą sumę kontrolną."),
                    ("ppe.csv", 9, "gmina", "Nieznana gmina 9999999.")]
    rows = csv_rows(client.get(url(cluster, "registry-import-errors-export", "csv", pk=entry.pk)))
    assert rows[1] == ["members.csv", "4", "nip", "NIP 123 ma złą sumę kontrolną."]


def test_it_answers_404_to_an_unknown_format(client, coordinator, cluster):
    client.force_login(coordinator)
    assert client.get(url(cluster, "member-export", "pdf")).status_code == 404


def test_it_writes_english_headers_when_the_interface_is_english(client, coordinator, cluster, registry):
    client.force_login(coordinator)
    client.cookies["django_language"] = "en"
    header, *data = workbook_rows(client.get(url(cluster, "member-export", "xlsx")))
    assert header[:3] == ("Symbol", "Name", "Legal form")
    assert len(data) == 3


def test_it_keeps_a_text_that_looks_like_a_formula_as_text():
    table = Table(title="T", columns=[Column("Nazwa", lambda r: r)], rows=["=HYPERLINK(\"x\")", "-5", "zwykła"])
    sheet = openpyxl.load_workbook(table_xlsx_file(table=table)).active
    assert [c.value for c in sheet["A"]][1:] == ["=HYPERLINK(\"x\")", "-5", "zwykła"]
    assert sheet["A2"].data_type == "s"
    table.rows = ["=1+1", "zwykła"]
    assert list(table_csv_lines(table=table))[1:] == ["'=1+1\r\n", "zwykła\r\n"]


def test_it_writes_money_with_two_decimals_and_empty_cells_for_none():
    table = Table(title="T", columns=[Column("Kwota [zł]", lambda r: r, Kind.MONEY)], rows=[Decimal("1234.5"), None])
    sheet = openpyxl.load_workbook(table_xlsx_file(table=table)).active
    assert sheet["A2"].value == pytest.approx(1234.5) and sheet["A2"].number_format == "#,##0.00"
    assert sheet["A3"].value is None
    table.rows = [Decimal("1234.5"), None]
    parsed = list(csv.reader(io.StringIO("".join(table_csv_lines(table=table)).removeprefix("\ufeff")), delimiter=";"))
    assert parsed == [["Kwota [zł]"], ["1234,50"], [""]]


def test_it_slugs_polish_names_without_losing_letters():
    assert name_slug("Łąka Żółć „Piekarnia” s.c.") == "laka-zolc-piekarnia-sc"


@pytest.mark.parametrize("name", ["member-export", "ppe-export", "generator-export", "storage-export"])
def test_it_reads_the_list_in_a_fixed_number_of_queries(client, coordinator, cluster, name):
    client.force_login(coordinator)
    client.get(url(cluster, name, "csv"))  # warm the session

    def grow(n: int) -> None:
        for _ in range(n):
            member = MemberFactory(cluster=cluster)
            ppe = MeteringPointFactory(cluster=cluster)
            PPEMembershipFactory(ppe=ppe, member=member)
            GeneratorFactory(ppe=ppe)
            StorageUnitFactory(ppe=ppe)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(cluster, name, "csv"))
            b"".join(response.streaming_content)
        return len(queries)

    grow(3)
    few = count()
    grow(30)
    assert count() == few


def test_it_offers_downloads_that_keep_the_lists_filters(client, coordinator, cluster, registry):
    client.force_login(coordinator)
    page = client.get(reverse("members:member-list", args=[cluster.slug]), {"legal_form": "jst", "page": "1"})
    html = page.content.decode()
    assert url(cluster, "member-export", "xlsx") + "?legal_form=jst" in html
    assert url(cluster, "member-export", "csv") + "?legal_form=jst" in html
    html = client.get(reverse("members:ppe-list", args=[cluster.slug]), {"q": "5903"}).content.decode()
    for name in ("ppe-export", "generator-export", "storage-export"):
        assert url(cluster, name, "xlsx") + "?q=5903" in html, name


def test_it_answers_404_for_another_clusters_registry_import(client, coordinator, cluster, other_cluster):
    foreign = RegistryImport.objects.create(cluster=other_cluster, file_name="x.zip", status="failed",
                                            errors=[{"file": "a.csv", "row": 1, "message": "x"}])
    client.force_login(coordinator)
    assert client.get(url(cluster, "registry-import-errors-export", "xlsx", pk=foreign.pk)).status_code == 404
