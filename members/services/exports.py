"""The one table-export writer: rows and typed columns → XLSX or CSV.

Every coordinator list (members, PPEs, installations, settlement lines,
completeness, version differences, import errors) describes itself as
``Column`` objects and an iterable of rows; this module writes them.

- XLSX: openpyxl in write-only mode (rows streamed to a temporary file, never
  the whole workbook in memory); numbers are numeric cells with a number
  format (money ``0.00``), dates are date cells, the header row is bold.
- CSV: UTF-8 with a byte-order mark, ``;`` as separator and a decimal comma,
  which is what Excel in Polish opens correctly by double-click; dates are
  ISO ``RRRR-MM-DD`` (Excel reads them as dates). Streamed line by line.

Text that starts like a formula (``= + - @``) is written as text: in XLSX as a
string cell, in CSV with a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"  # ``decimals`` places
    NUMBER = "number"  # a number as it is (mixed units in one column), general format
    MONEY = "money"  # zł, 2 places
    DATE = "date"
    DATETIME = "datetime"  # shown in local time


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


CONTENT_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_SEPARATOR = ";"
SHEET_TITLE_MAX = 31  # Excel's limit


@dataclass(frozen=True)
class Column:
    """One column: its (translated) header, how to get the value from a row, and its type."""

    header: str
    value: Callable[[Any], Any]
    kind: Kind = Kind.TEXT
    decimals: int = 0

    def number_format(self, *, date_format: str) -> str | None:
        if self.kind == Kind.MONEY:
            return "#,##0.00"
        if self.kind == Kind.DECIMAL:
            return "#,##0." + "0" * self.decimals if self.decimals else "#,##0"
        if self.kind == Kind.INT:
            return "0"
        if self.kind == Kind.DATE:
            return date_format
        if self.kind == Kind.DATETIME:
            return date_format + " hh:mm"
        return None


@dataclass
class Table:
    """What an export writes: a sheet title, the columns and the rows (any iterable, consumed once)."""

    title: str
    columns: list[Column]
    rows: Iterable[Any]


def export_filename(*, cluster_slug: str, what: str, fmt: ExportFormat, on: dt.date | None = None) -> str:
    """``oke-czlonkowie-2026-12-03.xlsx``: cluster, what, the day of the export."""
    on = on or timezone.localdate()
    return f"{slugify(cluster_slug)}-{slugify(ascii_fold(what))}-{on:%Y-%m-%d}.{fmt}"


# ł and Ł do not decompose under NFKD, so slugify would drop them ("Łąka" → "aka").
_POLISH_ASCII = str.maketrans({"ł": "l", "Ł": "L"})


def ascii_fold(text: str) -> str:
    """Text ready for ``slugify``: Polish letters that Unicode does not decompose replaced first."""
    return text.translate(_POLISH_ASCII)


def name_slug(text: str) -> str:
    """``Piekarnia „Orzeska” s.c.`` → ``piekarnia-orzeska-sc``, ASCII only."""
    return slugify(ascii_fold(text))


def _typed(column: Column, row: Any) -> Any:
    value = column.value(row)
    if value is None or value == "":
        return None
    if column.kind == Kind.MONEY:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if column.kind == Kind.NUMBER:
        return Decimal(str(int(value) if isinstance(value, bool) else value))
    if column.kind == Kind.DECIMAL:
        number = Decimal(str(value))
        return number.quantize(Decimal(1).scaleb(-column.decimals)) if column.decimals else number
    if column.kind == Kind.INT:
        return int(value)
    if column.kind == Kind.DATETIME and isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.replace(tzinfo=None)
    if column.kind == Kind.TEXT:
        return str(value)
    return value


# --- XLSX ------------------------------------------------------------------------


def table_xlsx_write(*, table: Table, target: IO[bytes], date_format: str = "yyyy-mm-dd") -> None:
    """Write ``table`` as a one-sheet workbook to ``target`` (write-only mode: rows are streamed)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(table.title))
    for i, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, min(len(column.header) + 2, 50))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    # One styled cell per column, reused row after row: write-only mode writes each row as it is
    # appended, and styling a new cell per value made the styles the slowest part (3x).
    cells = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet)
        number_format = column.number_format(date_format=date_format)
        if number_format:
            cell.number_format = number_format
        cells.append(cell)
    for row in table.rows:
        out: list[WriteOnlyCell | None] = []
        for column, cell in zip(table.columns, cells, strict=True):
            value = _typed(column, row)
            if value is None:
                out.append(None)
                continue
            cell.value = value
            if column.kind == Kind.TEXT and value.startswith("="):
                cell.data_type = "s"  # openpyxl would otherwise store it as a formula
            out.append(cell)
        sheet.append(out)
    workbook.save(target)


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip() or "Arkusz"
    return cleaned[:SHEET_TITLE_MAX]


def table_xlsx_file(*, table: Table, date_format: str = "yyyy-mm-dd") -> IO[bytes]:
    """The workbook in an anonymous temporary file (removed when closed), positioned at its start."""
    handle = tempfile.TemporaryFile()  # handed to the response, which closes it
    try:
        table_xlsx_write(table=table, target=handle, date_format=date_format)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


# --- CSV -------------------------------------------------------------------------


class _Echo:
    """A file-like whose ``write`` returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind in (Kind.MONEY, Kind.DECIMAL, Kind.NUMBER):
        return format(value, "f").replace(".", ",")
    if column.kind == Kind.DATE:
        return value.isoformat()
    if column.kind == Kind.DATETIME:
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    if column.kind == Kind.TEXT and text.startswith(FORMULA_START):
        return "'" + text
    return text


def table_csv_lines(*, table: Table) -> Iterator[str]:
    """The CSV text line by line, the first with the UTF-8 byte-order mark."""
    writer = csv.writer(_Echo(), delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        yield writer.writerow([_csv_text(c, _typed(c, row)) for c in table.columns])


def table_csv_chunks(*, table: Table, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """UTF-8 bytes in chunks of ``lines_per_chunk`` lines, for a streaming response."""
    buffer: list[str] = []
    for line in table_csv_lines(table=table):
        buffer.append(line)
        if len(buffer) >= lines_per_chunk:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    if buffer:
        yield "".join(buffer).encode("utf-8")
