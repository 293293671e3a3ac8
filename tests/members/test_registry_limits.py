"""Registry input of every bad kind ends in a Polish problem naming the file and the limit, never a traceback."""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from members.forms import RegistryUploadForm
from members.models import Member, RegistryImport
from members.services.imports import registry_import
from members.services.imports.sources import Limits, csv_table, sources_read

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"
MEMBERS_CSV = (EXAMPLE / "members.csv").read_bytes()


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _patch_headers(data: bytes, *, local: tuple[int, str, int], central: tuple[int, str, int]) -> bytes:
    """Overwrite one field in every local and central directory header."""
    out = bytearray(data)
    for signature, (offset, fmt, value) in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        for match in re.finditer(re.escape(signature), bytes(out)):
            struct.pack_into(fmt, out, match.start() + offset, value)
    return bytes(out)


def _read(name: str, data: bytes):
    return sources_read(SimpleUploadedFile(name, data))


def _messages(read) -> list[str]:
    return [f"{p.file} | {p.row} | {p.message}" for p in read.problems]


# --- archives ----------------------------------------------------------------------


def test_it_names_a_corrupt_zip() -> None:
    read = _read("rejestr.zip", b"PK\x03\x04 to nie jest archiwum")
    [message] = _messages(read)
    assert message.startswith("rejestr.zip") and "archiwum ZIP" in message


def test_it_names_a_member_that_fails_its_crc() -> None:
    data = bytearray(_zip({"members.csv": MEMBERS_CSV}, zipfile.ZIP_STORED))
    at = data.index(b"gmina-wyry")
    data[at] = ord("G")
    [message] = _messages(_read("rejestr.zip", bytes(data)))
    assert "members.csv" in message and "uszkodzony" in message


def test_it_refuses_an_encrypted_member_before_reading_it() -> None:
    data = _patch_headers(_zip({"members.csv": MEMBERS_CSV}), local=(6, "<H", 0x1), central=(8, "<H", 0x1))
    [message] = _messages(_read("rejestr.zip", data))
    assert "members.csv" in message and "zaszyfrowany" in message


def test_it_refuses_a_deflate64_member() -> None:
    data = _patch_headers(_zip({"members.csv": MEMBERS_CSV}), local=(8, "<H", 9), central=(10, "<H", 9))
    [message] = _messages(_read("rejestr.zip", data))
    assert "members.csv" in message and "Deflate64" in message


def test_it_refuses_a_zip_bomb_by_its_compression_ratio() -> None:
    data = _zip({"members.csv": b"ref;name\n" + b"0" * (8 * 1024 * 1024)})
    [message] = _messages(_read("rejestr.zip", data))
    assert "members.csv" in message and "bombę ZIP" in message and "100" in message


def test_it_refuses_an_archive_that_unpacks_past_the_size_limit(settings) -> None:
    settings.OKE_REGISTRY_UNPACKED_MAX_MB = 1
    settings.OKE_REGISTRY_ZIP_MAX_RATIO = 10_000
    data = _zip({"members.csv": MEMBERS_CSV * 3000})
    [message] = _messages(_read("rejestr.zip", data))
    assert message.startswith("rejestr.zip") and "1 MB" in message and "OKE_REGISTRY_UNPACKED_MAX_MB" in message


def test_it_refuses_two_files_of_the_same_table_naming_both() -> None:
    data = _zip({"2024/members.csv": MEMBERS_CSV, "2025/Members.csv": MEMBERS_CSV})
    read = _read("rejestr.zip", data)
    assert "members" not in read.tables
    [message] = _messages(read)
    assert "2024/members.csv" in message and "2025/Members.csv" in message


# --- workbooks ---------------------------------------------------------------------


def _workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rewrite(xlsx: bytes, changes: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, changes.pop(info.filename, None) or source.read(info))
        for name, data in changes.items():
            target.writestr(name, data)
    return buffer.getvalue()


def test_it_refuses_two_sheets_of_the_same_table_naming_both() -> None:
    rows = [["ref", "name"], ["a", "A"]]
    read = _read("rejestr.xlsx", _workbook({"members": rows, "Members.csv": rows}))
    assert "members" not in read.tables
    [message] = _messages(read)
    assert "„members”" in message and "„Members.csv”" in message


def test_it_refuses_a_sheet_declaring_the_whole_grid_before_iterating() -> None:
    xlsx = _workbook({"members": [["ref", "name"], ["a", "A"]]})
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    grid = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', sheet)
    [message] = _messages(_read("rejestr.xlsx", _rewrite(xlsx, {"xl/worksheets/sheet1.xml": grid})))
    assert "A1:XFD1048576" in message and "1048576" in message and "50000" in message


def test_it_stops_a_sheet_at_the_row_limit_when_no_dimension_is_declared(settings) -> None:
    settings.OKE_REGISTRY_MAX_ROWS = 10
    xlsx = _workbook({"members": [["ref", "name"], *([f"m{i}", "X"] for i in range(30))]})
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    undeclared = re.sub(rb'<dimension ref="[^"]+" ?/>', b"", sheet)
    [problem] = _read("rejestr.xlsx", _rewrite(xlsx, {"xl/worksheets/sheet1.xml": undeclared})).problems
    assert problem.row == 12 and "10" in problem.message


def test_it_refuses_huge_shared_strings_from_the_directory(settings) -> None:
    settings.OKE_REGISTRY_XLSX_STRINGS_MAX_MB = 1
    xlsx = _workbook({"members": [["ref", "name"]]})
    strings = b"<sst>" + b"".join(b"<si><t>%08d-abcdefgh</t></si>" % i for i in range(80_000)) + b"</sst>"
    [message] = _messages(_read("rejestr.xlsx", _rewrite(xlsx, {"xl/sharedStrings.xml": strings})))
    assert "sharedStrings.xml" in message and "1 MB" in message


def test_it_names_an_xlsx_that_is_not_a_workbook() -> None:
    [message] = _messages(_read("rejestr.xlsx", b"\xd0\xcf\x11\xe0 zaszyfrowany skoroszyt"))
    assert message.startswith("rejestr.xlsx") and "Excel" in message


# --- CSV text ----------------------------------------------------------------------


def test_it_names_the_line_of_a_nul_byte() -> None:
    table, [problem] = csv_table(file="members.csv", data=MEMBERS_CSV.replace(b"pv-mikolow", b"pv-mik\x00olow"))
    assert table is None and problem.row == 3 and "NUL" in problem.message


def test_it_names_the_line_of_an_invalid_byte_in_a_utf8_file() -> None:
    data = MEMBERS_CSV + b"zly;Z\xff\xfe;jst\n"
    table, [problem] = csv_table(file="members.csv", data=data)
    assert table is None and problem.row == MEMBERS_CSV.count(b"\n") + 1 and "0xFF" in problem.message


def test_it_reads_a_windows_1250_file() -> None:
    data = "ref;name\nm1;Spółdzielnia Łąka\n".encode("cp1250")
    table, problems = csv_table(file="members.csv", data=data)
    assert not problems and table.rows[0][1]["name"] == "Spółdzielnia Łąka"


def test_it_names_a_byte_that_is_neither_utf8_nor_windows_1250() -> None:
    table, [problem] = csv_table(file="members.csv", data=b"ref;name\nm1;\x81\n")
    assert table is None and problem.row == 2 and "0x81" in problem.message


def test_it_names_the_line_of_a_stray_quote_before_a_long_text() -> None:
    data = b'ref;name\nm1;"' + b"x" * 200_000 + b"\n"
    table, [problem] = csv_table(file="members.csv", data=data)
    assert table is None and problem.row == 2 and "cudzysłowy" in problem.message


class _EndlessMembers(io.RawIOBase):
    """A members.csv that never ends: reading it whole would never return."""

    def __init__(self) -> None:
        self.n = 0
        self.pending = b"ref;name;legal_form;joined_on\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer):
            self.n += 1
            self.pending += b"m%d;Cz\xc5\x82onek %d;person;2024-01-01\n" % (self.n, self.n)
        size = len(buffer)
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def test_it_streams_rows_and_stops_at_the_row_limit() -> None:
    limits = Limits(unpacked_bytes=50 * 2**20, ratio=100, rows=1000, shared_strings_bytes=2**20)
    table, [problem] = csv_table(file="members.csv", opener=lambda: io.BufferedReader(_EndlessMembers()), limits=limits)
    assert table is None and problem.row == 1002 and "1000" in problem.message and "OKE_REGISTRY_MAX_ROWS" in problem.message


# --- upload form, error cap, the command ------------------------------------------------


def test_it_refuses_an_upload_over_the_size_limit_in_the_form(settings) -> None:
    settings.OKE_REGISTRY_UPLOAD_MAX_MB = 1
    form = RegistryUploadForm(files={"file": SimpleUploadedFile("rejestr.zip", b"0" * (1024 * 1024 + 1))})
    assert not form.is_valid()
    assert "rejestr.zip" in form.errors["file"][0] and "1 MB" in form.errors["file"][0]


@pytest.mark.django_db
def test_it_stores_the_first_errors_and_the_total(settings, cluster, tmp_path: Path) -> None:
    settings.OKE_REGISTRY_MAX_ERRORS = 5
    folder = tmp_path / "registry"
    folder.mkdir()
    rows = "".join(f"m{i};Członek {i};person;;;;;;;;;nie-data;\n" for i in range(40))
    (folder / "members.csv").write_text((EXAMPLE / "members.csv").read_text().splitlines()[0] + "\n" + rows)
    report = registry_import(cluster=cluster, source=folder)
    entry = RegistryImport.objects.get(pk=report.registry_import_id)
    assert report.error_count == 40
    assert entry.error_count == 40 and len(entry.errors) == 5 and entry.errors_hidden == 35
    assert not Member.objects.filter(cluster=cluster).exists()


@pytest.mark.django_db
def test_it_shows_how_many_errors_were_left_out(settings, client, coordinator, cluster) -> None:
    settings.OKE_REGISTRY_MAX_ERRORS = 2
    entry = RegistryImport.objects.create(
        cluster=cluster, file_name="rejestr.zip", status=RegistryImport.Status.FAILED, error_count=200_000,
        errors=[{"file": "members.csv", "row": n, "column": "nip", "message": "zły NIP"} for n in (2, 3)],
    )
    client.force_login(coordinator)
    html = client.get(f"/c/{cluster.slug}/registry/import/{entry.pk}/").content.decode()
    assert "pokazano 2 z 200000" in html and "import-errors-hidden" in html


@pytest.mark.django_db
def test_the_command_exits_non_zero_with_the_limit_in_the_message(cluster, tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    archive = tmp_path / "rejestr.zip"
    archive.write_bytes(_patch_headers(_zip({"members.csv": MEMBERS_CSV}), local=(8, "<H", 9), central=(10, "<H", 9)))
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_registry", cluster.slug, str(archive), stderr=errors)
    assert "members.csv" in errors.getvalue() and "Deflate64" in errors.getvalue()


def test_a_folder_with_two_spellings_of_one_table_is_refused(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "r")
    (tmp_path / "r" / "MEMBERS.csv").write_bytes(MEMBERS_CSV)
    read = sources_read(tmp_path / "r")
    assert any("MEMBERS.csv" in p.message and "members.csv" in p.message for p in read.problems)
