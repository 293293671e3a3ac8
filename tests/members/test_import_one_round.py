"""Registry imports report format and rule problems in one round, and the upload takes a single CSV."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members.models import Generator, Member, MeteringPoint, RegistryImport
from members.services.imports import registry_import
from okeportal.jobs import JobStatus
from okeportal.messages import msg_render

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"

HEADER = "code;member_ref;gmina_terc;dso;voltage_level;tariff_group;contracted_kw;annual_demand_kwh;joined_on;left_on;address;is_sample"
# Orzesze (powiat mikołowski) – Żory (city) – Rybnik (city): one chain of neighbouring gminas in three
# powiats, held together by the Żory PPE on line 3; Kraków on line 5 is far outside the area.
ROWS = [
    "590322402408000012;gmina-wyry;2408031;tauron;nN;C21;60;180000;2024-01-15;;Orzesze;",
    "590322402408000029;gmina-wyry;2479011;tauron;nN;C11;25,5;42000;2024-01-15;;Żory;",
    "590322402408000036;pv-mikolow;2473011;tauron;SN;B23;850;30000;2024-02-01;;Rybnik;",
    "590322402408000043;nowak;1261011;tauron;nN;G11;14;3800;2024-03-01;;Kraków;",
]


def _metering_points(*, line3: str | None = None, header: str = HEADER) -> str:
    rows = list(ROWS)
    if line3 is not None:
        rows[1] = line3
    return "\n".join([header, *rows]) + "\n"


def _folder(tmp_path: Path, metering_points: str, *, generators: bool = False) -> Path:
    folder = tmp_path / "registry"
    folder.mkdir()
    shutil.copy(EXAMPLE / "members.csv", folder / "members.csv")
    (folder / "metering_points.csv").write_text(metering_points, encoding="utf-8")
    if generators:
        shutil.copy(EXAMPLE / "generators.csv", folder / "generators.csv")
    return folder


def _where(report) -> list[tuple[str, int | None, str]]:
    return [(e.file, e.row, e.column) for e in report.errors]


def _nothing_saved() -> bool:
    return not Member.objects.exists() and not MeteringPoint.objects.exists() and not Generator.objects.exists()


def test_a_format_error_on_line_3_and_an_area_error_on_line_5_come_together(cluster, tmp_path: Path) -> None:
    line3 = ROWS[1].replace(";25,5;", ";2x5;")
    report = registry_import(cluster=cluster, source=_folder(tmp_path, _metering_points(line3=line3)))
    # Only these two: the Żory PPE still counts for the area rule (its gmina, DSO and voltage are right),
    # so Orzesze and Rybnik are not reported as cut off from each other.
    assert _where(report) == [("metering_points.csv", 3, "contracted_kw"), ("metering_points.csv", 5, "gmina_terc")]
    assert "2x5" in report.errors[0].message
    assert "590322402408000043" in report.errors[1].message and "Kraków [1261011]" in report.errors[1].message
    assert _nothing_saved()


def test_without_the_format_error_only_the_area_error_is_left(cluster, tmp_path: Path) -> None:
    report = registry_import(cluster=cluster, source=_folder(tmp_path, _metering_points()))
    assert _where(report) == [("metering_points.csv", 5, "gmina_terc")]
    assert _nothing_saved()


def test_a_row_that_does_not_split_into_columns_and_an_area_error_come_together(cluster, tmp_path: Path) -> None:
    # A decimal comma unquoted in a comma-separated file would do the same; here: values past the header.
    line3 = ROWS[1] + ";x;y"
    report = registry_import(cluster=cluster, source=_folder(tmp_path, _metering_points(line3=line3), generators=True))
    where = _where(report)
    assert ("metering_points.csv", 3, "") in where and ("metering_points.csv", 5, "gmina_terc") in where
    # generators.csv line 2 points at the PPE of the broken line: reported once, on its own line, not as unknown.
    assert not [e for e in report.errors if e.file == "generators.csv"], [str(e) for e in report.errors]
    assert _nothing_saved()


def test_an_unknown_column_does_not_hide_the_rows_problems(cluster, tmp_path: Path) -> None:
    header = HEADER + ";uwagi"
    rows = _metering_points(header=header).replace(";Orzesze;\n", ";Orzesze;;\n")
    report = registry_import(cluster=cluster, source=_folder(tmp_path, rows))
    assert _where(report) == [("metering_points.csv", 1, "uwagi"), ("metering_points.csv", 5, "gmina_terc")]
    assert _nothing_saved()


def test_a_missing_column_is_reported_once_and_the_other_cells_are_still_checked(cluster, tmp_path: Path) -> None:
    header = HEADER.replace("tariff_group;", "")
    rows = [";".join(v for i, v in enumerate(r.split(";")) if i != 5) for r in ROWS]
    rows[1] = rows[1].replace(";25,5;", ";2x5;")
    folder = _folder(tmp_path, "\n".join([header, *rows]) + "\n")
    report = registry_import(cluster=cluster, source=folder)
    assert _where(report) == [
        ("metering_points.csv", 1, "tariff_group"),
        ("metering_points.csv", 3, "contracted_kw"),
        ("metering_points.csv", 5, "gmina_terc"),
    ]
    assert _nothing_saved()


def test_a_file_that_cannot_be_read_does_not_stop_the_checks_of_the_others(cluster) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("members.csv", (EXAMPLE / "members.csv").read_bytes())
        archive.writestr("metering_points.csv", _metering_points().encode())
        generators = (EXAMPLE / "generators.csv").read_bytes().split(b"\n")
        generators[2] = generators[2] + b"\x00"  # line 3: not a text file
        archive.writestr("generators.csv", b"\n".join(generators))
    upload = SimpleUploadedFile("rejestr.zip", buffer.getvalue())
    report = registry_import(cluster=cluster, source=upload)
    assert _where(report) == [("metering_points.csv", 5, "gmina_terc"), ("generators.csv", 3, "")]
    assert "NUL" in report.errors[1].message
    assert _nothing_saved()


def test_a_reference_into_an_unreadable_file_is_not_called_unknown(cluster) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("members.csv", b"ref;name\n\x00\n")
        archive.writestr("metering_points.csv", _metering_points().encode())
    report = registry_import(cluster=cluster, source=SimpleUploadedFile("rejestr.zip", buffer.getvalue()))
    assert [(e.file, e.column) for e in report.errors] == [("members.csv", ""), ("metering_points.csv", "gmina_terc")]
    assert not [e for e in report.errors if e.column == "member_ref"]


# --- the upload page takes a single CSV, as the command does ---------------------------


def _upload(client, cluster, name: str, content: bytes, callbacks) -> RegistryImport:
    with callbacks(execute=True):
        response = client.post(
            reverse("members:registry-import", kwargs={"cluster_slug": cluster.slug}),
            {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        )
    assert response.status_code == 302
    entry = RegistryImport.objects.filter(cluster=cluster).latest("pk")
    assert response["Location"] == reverse(
        "members:registry-import-detail", kwargs={"cluster_slug": cluster.slug, "pk": entry.pk}
    )
    return entry


def test_the_upload_page_imports_a_single_csv(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    client.force_login(coordinator)
    entry = _upload(client, cluster, "members.csv", (EXAMPLE / "members.csv").read_bytes(), django_capture_on_commit_callbacks)
    assert entry.status == JobStatus.DONE, entry.errors
    assert entry.file_name == "members.csv" and entry.summary["created"]["members"] == 3
    assert set(Member.objects.filter(cluster=cluster).values_list("ref", flat=True)) == {"gmina-wyry", "pv-mikolow", "nowak"}

    line3 = ROWS[1].replace(";25,5;", ";2x5;")
    entry = _upload(
        client, cluster, "metering_points.csv", _metering_points(line3=line3).encode(), django_capture_on_commit_callbacks
    )
    assert entry.status == JobStatus.FAILED
    assert [(e["file"], e["row"], e["column"]) for e in entry.errors] == [
        ("metering_points.csv", 3, "contracted_kw"), ("metering_points.csv", 5, "gmina_terc"),
    ]
    assert not MeteringPoint.objects.filter(cluster=cluster).exists()
    page = client.get(reverse("members:registry-import-detail", kwargs={"cluster_slug": cluster.slug, "pk": entry.pk}))
    assert page.status_code == 200


def test_a_single_csv_not_named_after_its_table_is_recognised_by_its_header(
    client, coordinator, cluster, django_capture_on_commit_callbacks
) -> None:
    client.force_login(coordinator)
    content = (EXAMPLE / "members.csv").read_bytes()
    entry = _upload(client, cluster, "czlonkowie (1).csv", content, django_capture_on_commit_callbacks)
    assert entry.status == JobStatus.DONE, entry.errors
    assert entry.summary["created"]["members"] == 3

    entry = _upload(client, cluster, "rejestr.csv", b"nazwa;adres\nA;B\n", django_capture_on_commit_callbacks)
    assert entry.status == JobStatus.FAILED
    [error] = entry.errors
    assert error["file"] == "rejestr.csv" and "members.csv" in msg_render(error)
