from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from members.models import Generator, Member, MeteringPoint, PPEMembership, RegistryImport, StorageUnit
from members.services.imports import registry_import
from tests.factories import MemberFactory, ppe_code

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(EXAMPLE, target)
    return target


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _errors(report) -> list[str]:
    return [str(e) for e in report.errors]


def test_it_imports_the_documented_example_cleanly(cluster) -> None:
    report = registry_import(cluster=cluster, source=EXAMPLE)
    assert report.ok, _errors(report)
    assert report.created == {
        "members": 3, "metering_points": 4, "memberships": 4, "generators": 3, "storage_units": 1,
    }
    school = MeteringPoint.objects.get(code="590322402408000029")
    assert school.contracted_kw == Decimal("25.50")  # decimal comma
    assert school.is_sample and school.gmina_id == "2408052"
    assert Member.objects.get(ref="nowak").joined_on == dt.date(2024, 3, 1)  # DD.MM.RRRR
    assert StorageUnit.objects.get().efficiency == Decimal("0.900")
    entry = RegistryImport.objects.get(pk=report.registry_import_id)
    assert entry.status == RegistryImport.Status.DONE


def test_it_updates_rather_than_duplicates_on_reimport(cluster, folder: Path) -> None:
    assert registry_import(cluster=cluster, source=folder).ok
    again = registry_import(cluster=cluster, source=folder)
    assert again.ok, _errors(again)
    assert sum(again.created.values()) == 0 and sum(again.updated.values()) == 0
    _edit(folder, "generators.csv", "Farma PV Mikołów;pv;800", "Farma PV Mikołów;pv;900")
    third = registry_import(cluster=cluster, source=folder)
    assert third.updated["generators"] == 1
    assert Generator.objects.count() == 3
    assert Generator.objects.get(name="Farma PV Mikołów").capacity_kw == Decimal("900")


def test_it_names_file_row_and_column_of_a_bad_nip(cluster, folder: Path) -> None:
    _edit(folder, "members.csv", "6350166135", "6350166136")
    report = registry_import(cluster=cluster, source=folder)
    assert not report.ok
    error = report.errors[0]
    assert (error.file, error.row, error.column) == ("members.csv", 3, "nip")
    assert "cyfra kontrolna" in error.message
    assert str(error).startswith("members.csv, wiersz 3, kolumna nip: NIP 6350166136")


def test_it_saves_nothing_when_one_row_is_wrong(cluster, folder: Path) -> None:
    _edit(folder, "storage_units.csv", ";20;40;0,9", ";20;40;1,5")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("storage_units.csv", 2, "efficiency")]
    assert not Member.objects.exists() and not MeteringPoint.objects.exists() and not Generator.objects.exists()
    assert RegistryImport.objects.get().status == RegistryImport.Status.FAILED


def test_it_refuses_an_unknown_member_ref(cluster, folder: Path) -> None:
    _edit(folder, "metering_points.csv", "0043;nowak;", "0043;kowalski;")
    report = registry_import(cluster=cluster, source=folder)
    assert ("metering_points.csv", 5, "member_ref") in [(e.file, e.row, e.column) for e in report.errors]
    assert "kowalski" in _errors(report)[0]


def test_it_accepts_a_member_ref_already_in_the_registry(cluster, folder: Path) -> None:
    MemberFactory(cluster=cluster, ref="kowalski")
    _edit(folder, "metering_points.csv", "0043;nowak;", "0043;kowalski;")
    assert registry_import(cluster=cluster, source=folder).ok


def test_it_refuses_a_ppe_outside_the_area(cluster, folder: Path) -> None:
    _edit(folder, "metering_points.csv", "0043;nowak;2408031", "0043;nowak;1261011")  # Kraków
    report = registry_import(cluster=cluster, source=folder)
    [error] = report.errors
    assert (error.file, error.row, error.column) == ("metering_points.csv", 5, "gmina_terc")
    assert "590322402408000043" in error.message and "Kraków [1261011]" in error.message
    assert "art. 38a" in error.message


def test_it_refuses_a_bad_date(cluster, folder: Path) -> None:
    _edit(folder, "members.csv", "2024-02-01", "2024-02-30")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.row, e.column) for e in report.errors] == [(3, "joined_on")]
    assert "2024-02-30" in report.errors[0].message


def test_it_refuses_an_unknown_legal_form(cluster, folder: Path) -> None:
    _edit(folder, "members.csv", ";person;", ";osoba;")
    report = registry_import(cluster=cluster, source=folder)
    assert (4, "legal_form") in [(e.row, e.column) for e in report.errors]
    assert "small_enterprise" in report.errors[0].message  # lists the allowed codes


def test_it_refuses_a_duplicate_ref(cluster, folder: Path) -> None:
    _edit(folder, "members.csv", "nowak;(przykład) Jan Nowak", "pv-mikolow;(przykład) Jan Nowak")
    report = registry_import(cluster=cluster, source=folder)
    assert (report.errors[0].file, report.errors[0].row, report.errors[0].column) == ("members.csv", 4, "ref")
    assert "wierszu 3" in report.errors[0].message


def test_it_refuses_a_ppe_code_with_a_bad_check_digit(cluster, folder: Path) -> None:
    _edit(folder, "metering_points.csv", "590322402408000012", "590322402408000019")
    report = registry_import(cluster=cluster, source=folder)
    assert any(e.column == "code" and "powinna być 2" in e.message for e in report.errors)


def test_it_reads_a_zip_with_comma_separated_files(cluster, folder: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            text = path.read_text(encoding="utf-8")
            if path.name == "members.csv":  # the same file with "," and a BOM
                text = "\ufeff" + text.replace(";", ",")
            archive.writestr(f"rejestr/{path.name}", text.encode("utf-8"))
    zip_path = folder.parent / "rejestr.zip"
    zip_path.write_bytes(buffer.getvalue())
    report = registry_import(cluster=cluster, source=zip_path)
    assert report.ok, _errors(report)
    assert Member.objects.get(ref="gmina-wyry").nip == "6355260181"


def _workbook(folder: Path) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for path in sorted(folder.glob("*.csv")):
        sheet = book.create_sheet(path.stem)
        for line in path.read_text(encoding="utf-8").splitlines():
            sheet.append(line.split(";"))
    sheet = book["metering_points"]
    sheet["G3"] = 25.5  # a real number cell, as Excel keeps it
    book.create_sheet("instrukcja")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_reads_an_xlsx_uploaded_as_a_file_object(cluster, folder: Path) -> None:
    upload = io.BytesIO(_workbook(folder))
    upload.name = "rejestr.xlsx"
    report = registry_import(cluster=cluster, source=upload)
    assert report.ok, _errors(report)
    assert MeteringPoint.objects.get(code="590322402408000029").contracted_kw == Decimal("25.50")
    assert report.ignored == ["rejestr.xlsx: instrukcja"]
    assert RegistryImport.objects.get().file_name == "rejestr.xlsx"


def test_it_names_the_sheet_of_an_xlsx_error(cluster, folder: Path) -> None:
    _edit(folder, "generators.csv", ";pv;800;", ";sun;800;")
    upload = io.BytesIO(_workbook(folder))
    upload.name = "rejestr.xlsx"
    [error] = registry_import(cluster=cluster, source=upload).errors
    assert (error.file, error.row, error.column) == ("rejestr.xlsx [generators]", 3, "source")


def test_it_moves_a_ppe_to_a_new_member_with_dates(cluster, folder: Path) -> None:
    assert registry_import(cluster=cluster, source=folder).ok
    _edit(folder, "metering_points.csv", "0043;nowak;2408031;tauron;nN;G11;14;3800;2024-03-01",
          "0043;pv-mikolow;2408031;tauron;nN;G11;14;3800;2025-07-01")
    report = registry_import(cluster=cluster, source=folder)
    assert report.ok, _errors(report)
    history = list(PPEMembership.objects.filter(ppe__code="590322402408000043").order_by("valid_from"))
    assert [(m.member.ref, m.valid_from, m.valid_to) for m in history] == [
        ("nowak", dt.date(2024, 3, 1), dt.date(2025, 6, 30)),
        ("pv-mikolow", dt.date(2025, 7, 1), None),
    ]


def test_it_refuses_unknown_and_missing_columns(cluster, folder: Path) -> None:
    _edit(folder, "storage_units.csv", "ppe_code;name;power_kw", "ppe_code;nazwa;power_kw")
    report = registry_import(cluster=cluster, source=folder)
    assert {(e.file, e.row, e.column) for e in report.errors} == {
        ("storage_units.csv", 1, "nazwa"), ("storage_units.csv", 1, "name"),
    }


def test_it_explains_a_wrong_separator(cluster, folder: Path) -> None:
    text = (folder / "storage_units.csv").read_text(encoding="utf-8").replace(";", ",")
    (folder / "storage_units.csv").write_text(text, encoding="utf-8")
    [error] = registry_import(cluster=cluster, source=folder).errors
    assert error.row == 2 and "cudzysłów" in error.message


def test_it_requires_nip_and_regon_of_a_company(cluster, folder: Path) -> None:
    _edit(folder, "members.csv", "6350166135;270497468", ";")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.row, e.column) for e in report.errors][:2] == [(3, "nip"), (3, "regon")]


def test_it_refuses_a_ppe_code_reference_to_a_wrong_row(cluster, folder: Path) -> None:
    _edit(folder, "generators.csv", "590322402408000043;", f"{ppe_code(7)};")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("generators.csv", 4, "ppe_code")]


def test_it_imports_an_optional_billing_regime_per_ppe(cluster, folder: Path) -> None:
    from members.models import PPEBillingRegime

    path = folder / "metering_points.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ";billing_regime;billing_regime_from"
    lines[1] += ";net-billing;2024-04-01"
    lines[2] += ";;"
    path.write_text("\n".join(lines[:3] + [line + ";;" for line in lines[3:]]) + "\n", encoding="utf-8")
    report = registry_import(cluster=cluster, source=folder)
    assert report.ok, _errors(report)
    assert list(PPEBillingRegime.objects.values_list("ppe__code", "regime", "valid_from", "valid_to")) == [
        ("590322402408000012", "net_billing", dt.date(2024, 4, 1), None)]
    # a second import of the same file changes nothing; an unknown regime is named by row and column
    assert registry_import(cluster=cluster, source=folder).ok and PPEBillingRegime.objects.count() == 1
    _edit(folder, "metering_points.csv", ";net-billing;2024-04-01", ";prosument;2024-04-01")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("metering_points.csv", 2, "billing_regime")]
    assert "nieznany sposób rozliczenia" in report.errors[0].message
