"""Production data of generators: ``ppe_code, generator, start, production_kwh``.

One reading per generator and interval (hourly or 15-minute) from a generation
meter. ``start`` and the numbers are read as in the generic CSV (ISO 8601 with
the UTC offset; separator ``,`` or ``;``, decimal comma with ``;``); the encoding
is UTF-8 or Windows-1250 (``okeportal.textfiles``). The file is parsed line by
line: production files hold a few generators, not the cluster's every PPE.
No database access here: ``reports.metering.production`` resolves PPEs,
generators and membership.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from django.utils.translation import gettext_noop

from okeportal.messages import msg, msg_str
from okeportal.textfiles import text_encoding

from .checks import too_big_message
from .common import (
    FILE_FIELD,
    HEADER_FIELD,
    LINE_FIELD,
    MAX_LINE_BYTES,
    CollectsErrors,
    RowError,
    iso_utc,
    kwh_to_wh,
    long_line_error,
    max_file_days,
    max_wh_per_reading,
)
from .generic import _number, _parse_start

COLUMNS = ("ppe_code", "generator", "start", "production_kwh")
_BOM = b"\xef\xbb\xbf"


@dataclass
class ProductionSeries:
    """Readings of one generator (named as registered on its PPE) at one resolution, sorted by start."""

    ppe_code: str
    generator: str
    resolution_min: int
    starts: np.ndarray  # int64 epoch seconds, UTC interval starts
    production_wh: np.ndarray  # int64
    lines: np.ndarray  # int64, file line of each reading


@dataclass
class ProductionParse(CollectsErrors):
    series: list[ProductionSeries] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    error_count: int = 0


def parse_production(stream: BinaryIO) -> ProductionParse:
    """The whole file: its series per generator, or the errors naming line and field."""
    result = ProductionParse()
    data = stream.read().removeprefix(_BOM)
    if not data.strip():
        result.add(RowError(None, FILE_FIELD, msg(gettext_noop("Plik jest pusty."))))
        return result
    encoding = text_encoding(data) or "ascii"
    raw_lines = data.split(b"\n")
    header = raw_lines[0].removesuffix(b"\r").decode(encoding, errors="replace")
    sep = ";" if ";" in header and header.count(";") >= header.count(",") else ","
    names = [c.strip().strip('"').strip().lower() for c in header.split(sep)]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        result.add(RowError(1, HEADER_FIELD, msg(gettext_noop(
            "Brak kolumn: %(cols)s. Wymagany nagłówek pliku produkcji: ppe_code, generator, start, production_kwh."
        ), cols=", ".join(missing))))
        return result
    repeated = sorted({c for c in names if c in COLUMNS and names.count(c) > 1})
    if repeated:
        result.add(RowError(1, HEADER_FIELD, msg(gettext_noop("Kolumna %(cols)s występuje w nagłówku więcej niż raz."),
                                                 cols=", ".join(repeated))))
        return result
    col = {n: names.index(n) for n in COLUMNS}
    bound_kwh = max(max_wh_per_reading(60) / 1000, 1e9)
    rows: dict[tuple[str, str], list[tuple[int, float, int]]] = {}
    for i, raw in enumerate(raw_lines[1:], start=2):
        if len(raw) > MAX_LINE_BYTES:
            result.add(long_line_error(i))
            continue
        try:
            text = raw.removesuffix(b"\r").decode(encoding)
        except UnicodeDecodeError:
            result.add(RowError(i, LINE_FIELD, msg(gettext_noop(
                "Niepoprawne bajty w wierszu: plik nie jest zapisany w UTF-8 ani w Windows-1250."))))
            continue
        if not text.strip() or not text.replace(sep, "").strip():
            continue
        result.rows += 1
        cells = _cells(text, sep)
        if isinstance(cells, str):
            result.add(RowError(i, LINE_FIELD, cells))
            continue
        if len(cells) != len(names):
            result.add(RowError(i, LINE_FIELD, msg(gettext_noop(
                "Liczba pól w wierszu: %(n)d, liczba kolumn nagłówka: %(k)d (separator „%(sep)s”)."), n=len(cells), k=len(names), sep=sep)))
            continue
        row = _row(result, i, cells, col, sep=sep, bound_kwh=bound_kwh)
        if row is not None:
            rows.setdefault(row[0], []).append(row[1])
    if result.rows == 0 and not result.error_count:
        result.add(RowError(None, FILE_FIELD, msg(gettext_noop(
            "Plik nie zawiera żadnych odczytów (jest tylko nagłówek)."))))
    for (code, name), readings in rows.items():
        _assemble(result, code, name, readings)
    result.errors.sort(key=lambda e: e.line or 0)
    return result


def _row(
    result: ProductionParse, line: int, cells: list[str], col: dict[str, int], *, sep: str, bound_kwh: float
) -> tuple[tuple[str, str], tuple[int, float, int]] | None:
    """One line's ``((PPE code, generator), (start, kWh, line))``, or None after adding its errors."""
    code, name = cells[col["ppe_code"]].strip(), cells[col["generator"]].strip()
    errors = []
    if not code:
        errors.append(RowError(line, "ppe_code", msg(gettext_noop("Brak kodu PPE."))))
    if not name:
        errors.append(RowError(line, "generator", msg(gettext_noop(
            "Brak nazwy jednostki wytwórczej (nazwa jak w rejestrze PPE)."))))
    start_cell = cells[col["start"]]
    start = (_parse_start(start_cell) if start_cell.strip()
             else msg_str(gettext_noop("Brak daty i godziny początku okresu.")))
    if isinstance(start, str):
        errors.append(RowError(line, "start", start))
    value = _production(cells[col["production_kwh"]], sep=sep, bound_kwh=bound_kwh)
    if isinstance(value, str):
        errors.append(RowError(line, "production_kwh", value))
    for error in errors:
        result.add(error)
    if errors or isinstance(start, str) or isinstance(value, str):
        return None
    return (code, name), (start, value, line)


def _production(cell: str, *, sep: str, bound_kwh: float) -> float | str:
    """A ``production_kwh`` cell in kWh, or a message (negative production named as such)."""
    text = cell.strip()
    try:
        negative = float(text.replace(",", ".") if sep == ";" else text) < 0
    except ValueError:
        negative = False
    if negative:
        return msg_str(gettext_noop("Produkcja nie może być ujemna (%(v)s kWh)."), v=text[:40])
    return _number(cell, sep=sep, bound_kwh=bound_kwh)


def _cells(text: str, sep: str) -> list[str] | str:
    if '"' not in text:
        return text.split(sep)
    try:
        return next(csv.reader([text], delimiter=sep, strict=True))
    except csv.Error:
        return msg_str(gettext_noop("Niezamknięty albo błędnie użyty cudzysłów w wierszu."))


def _assemble(result: ProductionParse, code: str, name: str, readings: list[tuple[int, float, int]]) -> None:
    """One generator's readings as a series: one resolution, no interval twice, bounded period and values."""
    readings.sort()
    starts = np.array([r[0] for r in readings], dtype=np.int64)
    lines = np.array([r[2] for r in readings], dtype=np.int64)
    wh = kwh_to_wh(np.array([r[1] for r in readings], dtype=np.float64))
    repeated = np.flatnonzero(np.diff(starts) == 0)
    if len(repeated):
        j = int(repeated[0]) + 1
        result.add(RowError(int(max(lines[j], lines[j - 1])), "start", msg(gettext_noop(
            "Okres %(start)s jednostki %(generator)s (PPE %(code)s) występuje w pliku więcej niż raz (wiersze %(a)d i %(b)d)."
        ), start=iso_utc(int(starts[j])), generator=name, code=code, a=int(min(lines[j], lines[j - 1])),
            b=int(max(lines[j], lines[j - 1])))))
        return
    resolution = 15 if (starts % 3600).any() else 60
    if (starts[-1] - starts[0]) // 86400 + 1 > max_file_days():
        result.add(RowError(int(lines[-1]), "start", msg(gettext_noop(
            "Dane jednostki %(generator)s (PPE %(code)s) obejmują więcej niż %(max)d dni — podziel plik."
        ), generator=name, code=code, max=max_file_days())))
        return
    limit = max_wh_per_reading(resolution)
    over = np.flatnonzero(wh > limit)
    if len(over):
        i = int(over[0])
        result.add(RowError(int(lines[i]), "production_kwh", too_big_message(f"{wh[i] / 1000:g}", resolution)))
        return
    result.series.append(ProductionSeries(code, name, resolution, starts, wh, lines))

