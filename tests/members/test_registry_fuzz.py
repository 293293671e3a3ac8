"""Fuzzed registry input: parsed, or a clear problem naming the place — never another exception."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from members.services.imports import registry_import_run
from members.services.imports.cells import (
    CellError,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_percent_fraction,
)
from members.services.imports.checks import COLUMNS
from members.services.imports.sources import Limits, _cell, csv_table, sources_read

LIMITS = Limits(unpacked_bytes=2**20, ratio=100, rows=200, shared_strings_bytes=2**20)
FEW = settings(max_examples=150, deadline=None)

# Fragments that make CSV and numbers interesting: separators, quotes, decimal commas,
# exponents, NUL, Polish letters, odd whitespace and line ends.
PIECES = st.sampled_from([
    ";", ",", '"', "\n", "\r\n", "\r", "\x00", " ", "\u00a0", "0,512", "1e308", "1e1000000", "-", "%",
    "2024-01-31", "31.01.2024", "0001-01-01", "9999-12-31", "ąęłńóśźż", "Ł", "tak", "nie", "NaN", "Infinity",
    "\ufeff", "ref", "name", "590322402408000012", "12 500,5", "x" * 50,
])
TEXTISH = st.one_of(st.text(max_size=40), st.lists(PIECES, max_size=12).map("".join))


def _is_clear(problem) -> bool:
    return bool(problem.file) and bool(problem.message.strip())


@FEW
@given(TEXTISH)
def test_cells_parse_or_refuse_clearly(value: str) -> None:
    for parse in (
        parse_date,
        parse_bool,
        parse_percent_fraction,
        lambda v: parse_choice(v, choices=["nN", "SN"]),
        lambda v: parse_decimal(v, places=2, digits=10),
        lambda v: parse_decimal(v, places=0, digits=14),
    ):
        try:
            result = parse(value)
        except CellError as exc:
            assert str(exc).strip()
            continue
        assert isinstance(result, (dt.date, bool, str, Decimal))
        if isinstance(result, Decimal):
            assert result.is_finite()


EXCEL_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=True),
    TEXTISH,
)


@FEW
@given(EXCEL_VALUES)
def test_excel_cell_values_become_strings(value: object) -> None:
    assert isinstance(_cell(value), str)


@FEW
@given(st.binary(max_size=3000))
def test_csv_bytes_parse_or_name_a_problem(data: bytes) -> None:
    table, problems = csv_table(file="members.csv", data=data, limits=LIMITS)
    assert all(_is_clear(p) for p in problems)
    if table is not None:
        assert all(isinstance(line, int) and all(isinstance(v, str) for v in row.values()) for line, row in table.rows)


@FEW
@given(st.lists(st.lists(TEXTISH, max_size=6), max_size=30), st.sampled_from(["utf-8", "cp1250", "utf-16"]))
def test_csv_text_parses_or_names_a_problem(rows: list[list[str]], encoding: str) -> None:
    text = "ref;name;legal_form\n" + "\n".join(";".join(cells) for cells in rows)
    data = text.encode(encoding, errors="replace")
    table, problems = csv_table(file="members.csv", data=data, limits=LIMITS)
    assert all(_is_clear(p) for p in problems)
    assert table is not None or problems


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "members"
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**15), max_value=10**15), st.floats(allow_nan=False),
    st.dates(min_value=dt.date(1900, 3, 1)), TEXTISH,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(XLSX_VALUES, max_size=8), min_size=1, max_size=12))
def test_xlsx_sheets_parse_or_name_a_problem(rows: list[list[object]]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    read = sources_read(SimpleUploadedFile("rejestr.xlsx", _xlsx(rows)), limits=LIMITS)
    assert all(_is_clear(p) for p in read.problems)
    for table in read.tables.values():
        assert all(isinstance(v, str) for _line, row in table.rows for v in row.values())


PPE_COLUMNS = list(COLUMNS["metering_points"])


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.lists(TEXTISH, min_size=len(PPE_COLUMNS), max_size=len(PPE_COLUMNS)), min_size=1, max_size=5))
def test_a_fuzzed_registry_is_imported_or_refused_with_located_errors(cluster, tmp_path_factory, rows: list[list[str]]) -> None:
    folder = tmp_path_factory.mktemp("registry")
    body = "\n".join(";".join('"' + c.replace('"', '""') + '"' for c in cells) for cells in rows)
    (folder / "metering_points.csv").write_text(";".join(PPE_COLUMNS) + "\n" + body, encoding="utf-8", errors="replace")
    report = registry_import_run(cluster=cluster, source=folder)
    assert report.ok or report.errors
    assert all(e.file and e.message.strip() for e in report.errors)
