"""Reading the registry files: a folder or .zip of CSVs, an .xlsx, or one CSV.

Everything becomes ``Table``: the file's display name, its header and rows
of strings with the line (CSV) or row (Excel) number a person can find.

Every input is bounded before it is read (docs/formats.md, "Limits"): the
archive's directory is checked for size, compression ratio, encryption and
compression method before anything is unpacked; a workbook's declared
dimension and part sizes before its sheets are iterated; CSV files are read
line by line and stop at the row limit. Anything broken becomes a
``Problem`` naming the file (and line), never an exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from django.conf import settings
from django.utils.translation import gettext_noop

from okeportal.messages import msg_str
from okeportal.textfiles import text_encoding

KNOWN_FILES = ("members", "metering_points", "generators", "storage_units")
MB = 1024 * 1024
# Longest physical CSV line read (a row of several 128 KB fields at most).
MAX_LINE_BYTES = 1 * MB
# Columns read from a sheet; the registry files have at most 14.
MAX_SHEET_COLUMNS = 64
# Compression ratio is only meaningful for members big enough to matter.
RATIO_FLOOR_BYTES = 1 * MB
SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# What a broken archive member raises while being read.
MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)


class NamedFile(Protocol):
    @property
    def name(self) -> str | None: ...

    def read(self, *args: int) -> bytes: ...


@dataclass(frozen=True)
class Limits:
    """Input bounds; ``limits_current()`` reads them from settings."""

    unpacked_bytes: int
    ratio: int
    rows: int
    shared_strings_bytes: int


def limits_current() -> Limits:
    return Limits(
        unpacked_bytes=settings.OKE_REGISTRY_UNPACKED_MAX_MB * MB,
        ratio=settings.OKE_REGISTRY_ZIP_MAX_RATIO,
        rows=settings.OKE_REGISTRY_MAX_ROWS,
        shared_strings_bytes=settings.OKE_REGISTRY_XLSX_STRINGS_MAX_MB * MB,
    )


@dataclass
class Table:
    file: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # Rows reported as not splitting into the header's columns, their cells taken in order:
    # only so that rows referring to them are not reported a second time.
    broken: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@dataclass
class Problem:
    file: str
    row: int | None
    column: str
    message: str


@dataclass
class Sources:
    tables: dict[str, Table] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # False when a file or sheet could not be read at all (its rows are not checked then).
    complete: bool = True


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",")


def _norm_header(name: str) -> str:
    return name.strip().strip('"').strip().lower().replace(" ", "_")


# --- CSV ----------------------------------------------------------------------


class _StopReadingError(Exception):
    """Reading a file ends with this problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _lines(raw: IO[bytes], *, file: str) -> Iterator[str]:
    """Decoded physical lines; NUL bytes, over-long lines and undecodable bytes stop the file.

    The first line that is not plain ASCII sets the file's encoding (``okeportal.textfiles``).
    """
    number = 0
    encoding: str | None = None
    while True:
        line = raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise _StopReadingError(Problem(file, number, "", msg_str(gettext_noop("wiersz jest dłuższy niż %(n)s MB; to nie wygląda na plik CSV."), n=MAX_LINE_BYTES // MB)))
        if b"\x00" in line:
            raise _StopReadingError(
                Problem(file, number, "", msg_str(gettext_noop("wiersz zawiera bajt NUL (0x00): to nie jest tekstowy plik CSV (zapisz go jako „CSV UTF-8”).")))
            )
        encoding = encoding or text_encoding(line)
        try:
            text = line.decode(encoding or "ascii")
        except UnicodeDecodeError as exc:
            raise _StopReadingError(
                Problem(
                    file,
                    number,
                    "",
                    msg_str(gettext_noop("nieprawidłowy bajt 0x%(b)02X w pozycji %(p)s: plik nie jest poprawnym tekstem UTF-8 ani Windows-1250."), b=line[exc.start], p=exc.start + 1),
                )
            ) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text


def _csv_read(*, file: str, raw: IO[bytes], limits: Limits) -> tuple[Table | None, list[Problem]]:
    lines = _lines(raw, file=file)
    first = next(lines, None)
    if first is None:
        return None, [Problem(file, None, "", msg_str(gettext_noop("Plik jest pusty (brak wiersza nagłówka).")))]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","

    def all_lines() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        return None, [Problem(file, 1, "", msg_str(gettext_noop("nagłówek nie jest poprawnym wierszem CSV: %(e)s."), e=exc))]
    columns = [_norm_header(h) for h in header]
    while columns and not columns[-1]:
        columns.pop()  # a trailing separator ("a;b;") makes an empty last header
    table = Table(file=file, columns=columns)
    problems: list[Problem] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(
                Problem(file, reader.line_num, "", msg_str(gettext_noop("wiersz nie jest poprawnym wierszem CSV (%(e)s); sprawdź cudzysłowy."), e=exc))
            )
            return None, problems
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(table.rows) >= limits.rows:
            problems.append(
                Problem(
                    file, line, "",
                    msg_str(gettext_noop("liczba wierszy danych pliku przekracza %(n)s (limit OKE_REGISTRY_MAX_ROWS); podziel go albo poproś administratora o wyższy limit."), n=limits.rows),
                )
            )
            return None, problems
        extra = [c for c in cells[len(columns):] if c.strip()]
        if extra:
            problems.append(
                Problem(
                    file,
                    line,
                    "",
                    msg_str(gettext_noop("Liczba wartości w wierszu: %(n)s, liczba kolumn nagłówka: %(m)s. Przy separatorze „,” liczby z "
                        "przecinkiem dziesiętnym trzeba ująć w cudzysłów albo użyć separatora „;”."), n=len(columns) + len(extra), m=len(columns)),
                )
            )
            table.broken.append((line, {c: v.strip() for c, v in zip(columns, cells, strict=False)}))
            continue
        cells = (cells + [""] * len(columns))[: len(columns)]
        table.rows.append((line, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return table, problems


def csv_table(
    *, file: str, data: bytes | None = None, opener: Callable[[], IO[bytes]] | None = None, limits: Limits | None = None
) -> tuple[Table | None, list[Problem]]:
    """One CSV file, streamed line by line: UTF-8 (with or without BOM), else Windows-1250.

    ``opener`` returns a binary stream; ``data`` is a shortcut for bytes in memory.
    """
    limits = limits or limits_current()
    if opener is None:
        payload = data or b""
        opener = lambda: io.BytesIO(payload)  # noqa: E731
    try:
        with opener() as raw:
            return _csv_read(file=file, raw=raw, limits=limits)
    except _StopReadingError as stop:
        return None, [stop.problem]


# --- Excel --------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value).strip()


def _archive_problems(*, file: str, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limits: Limits, member_label: Callable[[zipfile.ZipInfo], str]) -> list[Problem]:
    """Checks on the archive directory, before anything is unpacked."""
    problems: list[Problem] = []
    total = 0
    for info in entries:
        name = member_label(info)
        total += info.file_size
        if info.flag_bits & 0x1:
            problems.append(Problem(name, None, "", msg_str(gettext_noop("plik w archiwum jest zaszyfrowany; spakuj go ponownie bez hasła."))))
        elif info.compress_type not in SUPPORTED_COMPRESSION:
            problems.append(
                Problem(
                    name, None, "",
                    msg_str(gettext_noop("nieobsługiwana metoda kompresji (%(m)s, np. Deflate64); spakuj plik ponownie zwykłym ZIP (Deflate)."), m=info.compress_type),
                )
            )
        elif info.file_size > RATIO_FLOOR_BYTES and info.file_size > limits.ratio * max(info.compress_size, 1):
            problems.append(
                Problem(
                    name, None, "",
                    msg_str(gettext_noop("plik rozpakowuje się do %(u)s MB z %(c)s MB — ponad %(r)s razy więcej (limit OKE_REGISTRY_ZIP_MAX_RATIO); to wygląda na „bombę ZIP”."), u=_mb(info.file_size), c=_mb(info.compress_size), r=limits.ratio),
                )
            )
    if total > limits.unpacked_bytes:
        problems.append(
            Problem(
                file, None, "",
                msg_str(gettext_noop("archiwum po rozpakowaniu ma %(u)s MB, więcej niż limit %(l)s MB (OKE_REGISTRY_UNPACKED_MAX_MB)."), u=_mb(total), l=limits.unpacked_bytes // MB),
            )
        )
    return problems


def _xlsx_precheck(*, file: str, data: IO[bytes] | Path, limits: Limits) -> list[Problem]:
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return [Problem(file, None, "", msg_str(gettext_noop("Nie można odczytać pliku Excel: to nie jest plik .xlsx (albo jest zaszyfrowany lub uszkodzony).")))]
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        problems = _archive_problems(file=file, archive=archive, entries=entries, limits=limits, member_label=lambda i: f"{file} [{i.filename}]")
        strings = sum(i.file_size for i in entries if i.filename.lower().endswith("sharedstrings.xml"))
        if strings > limits.shared_strings_bytes:
            problems.append(
                Problem(
                    file, None, "",
                    msg_str(gettext_noop("tabela tekstów skoroszytu (sharedStrings.xml) ma %(u)s MB, więcej niż limit %(l)s MB (OKE_REGISTRY_XLSX_STRINGS_MAX_MB)."), u=_mb(strings), l=limits.shared_strings_bytes // MB),
                )
            )
    return problems


def xlsx_tables(*, file: str, data: IO[bytes] | Path, limits: Limits | None = None) -> Sources:
    from openpyxl import load_workbook

    limits = limits or limits_current()
    out = Sources()
    out.problems = _xlsx_precheck(file=file, data=data, limits=limits)
    if out.problems:
        return out
    if not isinstance(data, Path):
        data.seek(0)
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        out.problems.append(Problem(file, None, "", msg_str(gettext_noop("Nie można odczytać pliku Excel: %(e)s"), e=exc)))
        return out
    sheets: dict[str, str] = {}
    try:
        for sheet in workbook.worksheets:
            stem = sheet.title.strip().lower().removesuffix(".csv")
            if stem not in KNOWN_FILES:
                out.ignored.append(f"{file}: {sheet.title}")
                continue
            name = f"{file} [{stem}]"
            if stem in sheets:
                out.problems.append(
                    Problem(
                        file, None, "",
                        msg_str(gettext_noop("tabela %(t)s występuje w dwóch arkuszach: „%(a)s” i „%(b)s”; zostaw jeden (nie wiadomo, który jest właściwy)."), t=stem, a=sheets[stem], b=sheet.title),
                    )
                )
                out.tables.pop(stem, None)
                out.complete = False
                continue
            sheets[stem] = sheet.title
            table, problems = _sheet_table(name=name, sheet=sheet, limits=limits)
            out.problems.extend(problems)
            if table is not None:
                out.tables[stem] = table
            elif problems:
                out.complete = False
    except Exception as exc:  # a sheet's XML broken half-way
        out.problems.append(Problem(file, None, "", msg_str(gettext_noop("Nie można odczytać pliku Excel: %(e)s"), e=exc)))
    finally:
        workbook.close()
    return out


def _sheet_table(*, name: str, sheet, limits: Limits) -> tuple[Table | None, list[Problem]]:
    declared_rows = sheet.max_row or 0
    if declared_rows > limits.rows + 1:
        dimension = sheet.calculate_dimension() if sheet.max_column else f"{declared_rows}"
        return None, [
            Problem(
                name, None, "",
                msg_str(gettext_noop("arkusz deklaruje zakres %(d)s (%(r)s wierszy), więcej niż limit %(n)s wierszy danych (OKE_REGISTRY_MAX_ROWS)."), d=dimension, r=declared_rows, n=limits.rows),
            )
        ]
    max_col = min(sheet.max_column or MAX_SHEET_COLUMNS, MAX_SHEET_COLUMNS)
    rows = sheet.iter_rows(values_only=True, max_col=max_col, max_row=limits.rows + 2)
    header = next(rows, None)
    if header is None:
        return None, []
    columns = [_norm_header(_cell(h)) for h in header]
    while columns and not columns[-1]:
        columns.pop()
    table = Table(file=name, columns=columns)
    for index, values in enumerate(rows, start=2):
        if index > limits.rows + 1:
            return None, [
                Problem(
                    name, index, "",
                    msg_str(gettext_noop("liczba wierszy danych arkusza przekracza %(n)s (limit OKE_REGISTRY_MAX_ROWS)."), n=limits.rows),
                )
            ]
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        cells = (cells + [""] * len(columns))[: len(columns)]
        table.rows.append((index, dict(zip(columns, cells, strict=True))))
    return table, []


# --- archives, folders, single files -------------------------------------------


def _add_csv(out: Sources, *, display: str, stem: str, opener: Callable[[], IO[bytes]], limits: Limits, seen: dict[str, str]) -> None:
    if stem not in KNOWN_FILES:
        out.ignored.append(display)
        return
    if stem in seen:
        out.problems.append(
            Problem(
                display, None, "",
                msg_str(gettext_noop("tabela %(t)s występuje w dwóch plikach: „%(a)s” i „%(b)s”; zostaw jeden (nie wiadomo, który jest właściwy)."), t=stem, a=seen[stem], b=display),
            )
        )
        out.tables.pop(stem, None)
        out.complete = False
        return
    seen[stem] = display
    table, problems = csv_table(file=display, opener=opener, limits=limits)
    out.problems.extend(problems)
    if table is not None:
        out.tables[stem] = table
    elif problems:
        out.complete = False


def zip_tables(*, file: str, data: IO[bytes] | Path, limits: Limits | None = None) -> Sources:
    limits = limits or limits_current()
    out = Sources()
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        out.problems.append(Problem(file, None, "", msg_str(gettext_noop("To nie jest prawidłowe archiwum ZIP (plik jest uszkodzony albo ucięty)."))))
        return out
    with archive:
        entries = [
            i for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/") and not PurePosixPath(i.filename).name.startswith(".")
        ]
        wanted = []
        for info in entries:
            path = PurePosixPath(info.filename)
            if path.suffix.lower() == ".csv" and path.stem.lower() in KNOWN_FILES:
                wanted.append(info)
            else:
                out.ignored.append(info.filename)
        out.problems = _archive_problems(file=file, archive=archive, entries=wanted, limits=limits, member_label=lambda i: f"{file}: {i.filename}")
        if out.problems:
            return out
        seen: dict[str, str] = {}
        for info in wanted:
            path = PurePosixPath(info.filename)
            display = info.filename
            try:
                _add_csv(out, display=display, stem=path.stem.lower(), opener=partial(archive.open, info), limits=limits, seen=seen)
            except MEMBER_ERRORS as exc:
                out.tables.pop(path.stem.lower(), None)
                out.complete = False
                out.problems.append(
                    Problem(f"{file}: {display}", None, "", msg_str(gettext_noop("plik w archiwum jest uszkodzony i nie da się go rozpakować (%(e)s)."), e=exc))
                )
    return out


# Columns that only one table has: a single CSV not named after its table ("rejestr.csv",
# "members (1).csv" from a browser's downloads) is recognised by its header.
TABLE_SIGNATURES = {
    "members": frozenset({"ref", "legal_form"}),
    "metering_points": frozenset({"code", "member_ref"}),
    "generators": frozenset({"ppe_code", "source"}),
    "storage_units": frozenset({"ppe_code", "capacity_kwh"}),
}


def table_by_header(columns: list[str]) -> str | None:
    """The one table whose distinguishing columns the header has, else None."""
    kinds = [kind for kind, signature in TABLE_SIGNATURES.items() if signature <= set(columns)]
    return kinds[0] if len(kinds) == 1 else None


def _csv_by_header(*, name: str, opener: Callable[[], IO[bytes]], limits: Limits) -> Sources:
    table, problems = csv_table(file=name, opener=opener, limits=limits)
    kind = table_by_header(table.columns) if table is not None else None
    if kind is None and not problems:
        problems = [
            Problem(name, None, "", msg_str(gettext_noop("Nieznana nazwa pliku; dozwolone: %(f)s."), f=", ".join(f"{s}.csv" for s in KNOWN_FILES)))
        ]
    out = Sources(problems=problems, complete=kind is not None)
    if kind is not None and table is not None:
        out.tables[kind] = table
    return out


def _binary_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def sources_read(source: Path | str | NamedFile, *, name: str | None = None, limits: Limits | None = None) -> Sources:
    """Read a folder, .zip, .xlsx or .csv given as a path or an uploaded file object.

    ``name`` is the name the user gave the file when the stored copy has another
    (the kind is taken from its suffix, errors are reported under it).
    """
    limits = limits or limits_current()
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            out = Sources()
            seen: dict[str, str] = {}
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".csv":
                    _add_csv(out, display=child.name, stem=child.stem.lower(), opener=_binary_opener(child), limits=limits, seen=seen)
                elif child.is_file() and not child.name.startswith("."):
                    out.ignored.append(child.name)
            return out
        if not path.exists():
            return Sources(problems=[Problem(str(path), None, "", msg_str(gettext_noop("Nie ma takiego pliku ani folderu.")))])
        name = PurePosixPath(name).name if name else path.name
        opener: Callable[[], IO[bytes]] = lambda: path.open("rb")  # noqa: E731
    else:
        name = PurePosixPath(name or getattr(source, "name", "") or "upload").name
        if hasattr(source, "seek"):
            source.seek(0)
        payload = source.read()
        opener = lambda: io.BytesIO(payload)  # noqa: E731
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".zip":
        with opener() as stream:
            return zip_tables(file=name, data=stream, limits=limits)
    if suffix == ".xlsx":
        with opener() as stream:
            return xlsx_tables(file=name, data=stream, limits=limits)
    if suffix == ".csv":
        out = Sources()
        stem = PurePosixPath(name).stem.lower()
        if stem not in KNOWN_FILES:
            return _csv_by_header(name=name, opener=opener, limits=limits)
        _add_csv(out, display=name, stem=stem, opener=opener, limits=limits, seen={})
        if not out.tables and not out.problems:
            out.problems.append(
                Problem(name, None, "", msg_str(gettext_noop("Nieznana nazwa pliku; dozwolone: %(f)s."), f=", ".join(f"{s}.csv" for s in KNOWN_FILES)))
            )
        return out
    return Sources(problems=[Problem(name, None, "", msg_str(gettext_noop("Nieobsługiwany rodzaj pliku: podaj folder, .zip, .xlsx albo .csv.")))])
