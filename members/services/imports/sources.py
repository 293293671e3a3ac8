"""Reading the registry files: a folder or .zip of CSVs, an .xlsx, or one CSV.

Everything becomes ``Table``: the file's display name, its header and rows
of strings with the line (CSV) or row (Excel) number a person can find.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from django.utils.translation import gettext as _

KNOWN_FILES = ("members", "metering_points", "generators", "storage_units")
MAX_UNPACKED_BYTES = 50 * 1024 * 1024


class NamedFile(Protocol):
    name: str

    def read(self, *args: int) -> bytes: ...


@dataclass
class Table:
    file: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


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


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Polish Windows saves "CSV" in cp1250; accept it rather than garble names.
        return data.decode("cp1250")


def _norm_header(name: str) -> str:
    return name.strip().strip('"').strip().lower().replace(" ", "_")


def csv_table(*, file: str, data: bytes) -> tuple[Table | None, list[Problem]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return None, [Problem(file, None, "", _("Plik jest pusty (brak wiersza nagłówka)."))]
    columns = [_norm_header(h) for h in header]
    while columns and not columns[-1]:
        columns.pop()  # a trailing separator ("a;b;") makes an empty last header
    table = Table(file=file, columns=columns)
    problems: list[Problem] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        extra = [c for c in cells[len(columns):] if c.strip()]
        if extra:
            problems.append(
                Problem(
                    file,
                    line,
                    "",
                    _(
                        "Wiersz ma %(n)s wartości, a nagłówek %(m)s kolumn. Przy separatorze „,” liczby z "
                        "przecinkiem dziesiętnym trzeba ująć w cudzysłów albo użyć separatora „;”."
                    )
                    % {"n": len(columns) + len(extra), "m": len(columns)},
                )
            )
            continue
        cells = (cells + [""] * len(columns))[: len(columns)]
        table.rows.append((line, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return table, problems


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


def xlsx_tables(*, file: str, data: IO[bytes] | Path) -> Sources:
    from openpyxl import load_workbook

    out = Sources()
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        out.problems.append(Problem(file, None, "", _("Nie można odczytać pliku Excel: %(e)s") % {"e": exc}))
        return out
    for sheet in workbook.worksheets:
        stem = sheet.title.strip().lower().removesuffix(".csv")
        if stem not in KNOWN_FILES:
            out.ignored.append(f"{file}: {sheet.title}")
            continue
        name = f"{file} [{stem}]"
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            continue
        columns = [_norm_header(_cell(h)) for h in header]
        while columns and not columns[-1]:
            columns.pop()
        table = Table(file=name, columns=columns)
        for index, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values]
            if not any(cells):
                continue
            cells = (cells + [""] * len(columns))[: len(columns)]
            table.rows.append((index, dict(zip(columns, cells, strict=True))))
        out.tables[stem] = table
    workbook.close()
    return out


def _add_csv(out: Sources, *, display: str, stem: str, data: bytes) -> None:
    if stem not in KNOWN_FILES:
        out.ignored.append(display)
        return
    if stem in out.tables:
        out.problems.append(Problem(display, None, "", _("Plik %(f)s występuje więcej niż raz.") % {"f": f"{stem}.csv"}))
        return
    table, problems = csv_table(file=display, data=data)
    out.problems.extend(problems)
    if table is not None:
        out.tables[stem] = table


def zip_tables(*, file: str, data: IO[bytes] | Path) -> Sources:
    out = Sources()
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile:
        out.problems.append(Problem(file, None, "", _("To nie jest prawidłowe archiwum ZIP.")))
        return out
    with archive:
        entries = [
            i for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/") and not PurePosixPath(i.filename).name.startswith(".")
        ]
        if sum(i.file_size for i in entries) > MAX_UNPACKED_BYTES:
            out.problems.append(Problem(file, None, "", _("Archiwum po rozpakowaniu przekracza 50 MB.")))
            return out
        for info in entries:
            path = PurePosixPath(info.filename)
            if path.suffix.lower() != ".csv":
                out.ignored.append(info.filename)
                continue
            _add_csv(out, display=path.name, stem=path.stem.lower(), data=archive.read(info))
    return out


def sources_read(source: Path | str | NamedFile) -> Sources:
    """Read a folder, .zip, .xlsx or .csv given as a path or an uploaded file object."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            out = Sources()
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".csv":
                    _add_csv(out, display=child.name, stem=child.stem.lower(), data=child.read_bytes())
                elif child.is_file() and not child.name.startswith("."):
                    out.ignored.append(child.name)
            return out
        if not path.exists():
            return Sources(problems=[Problem(str(path), None, "", _("Nie ma takiego pliku ani folderu."))])
        name, suffix, opener = path.name, path.suffix.lower(), (lambda: path)
    else:
        name = PurePosixPath(getattr(source, "name", "") or "upload").name
        suffix = PurePosixPath(name).suffix.lower()
        if hasattr(source, "seek"):
            source.seek(0)
        payload = source.read()
        opener = lambda: io.BytesIO(payload)  # noqa: E731
    if suffix == ".zip":
        return zip_tables(file=name, data=opener())
    if suffix == ".xlsx":
        return xlsx_tables(file=name, data=opener())
    if suffix == ".csv":
        out = Sources()
        data = opener()
        _add_csv(out, display=name, stem=PurePosixPath(name).stem.lower(), data=data.read_bytes() if isinstance(data, Path) else data.read())
        if not out.tables and not out.problems:
            out.problems.append(
                Problem(name, None, "", _("Nieznana nazwa pliku; dozwolone: %(f)s.") % {"f": ", ".join(f"{s}.csv" for s in KNOWN_FILES)})
            )
        return out
    return Sources(problems=[Problem(name, None, "", _("Nieobsługiwany rodzaj pliku: podaj folder, .zip, .xlsx albo .csv."))])
