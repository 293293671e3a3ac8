"""The generic CSV: ``ppe_code, start, import_kwh, export_kwh[, quality][, import_balanced_kwh, export_balanced_kwh]``.

Streamed in chunks. The optional balanced columns (either or both) carry the DSO's hourly
balanced values of prosumer PPEs ("po zbilansowaniu"); an empty balanced cell means
"no balanced value for this interval" (with both columns, both cells are empty or both filled).

The file is read in blocks of complete lines (``chunk_rows`` lines or more). Each
block is parsed straight from the bytes when it fits the plain subset
(``fastcsv``), otherwise line by line here, where every bad cell is named; the
checks that need the whole file (period, duplicates, one resolution per PPE-day,
the per-reading bound) carry their state across blocks (``checks.Assembler``).
Memory follows the block, not the file. Distinct strings (PPE codes, timestamps)
are parsed once: a year of 1,000 PPEs has 8,760 distinct timestamps among 8.76 M rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
from django.utils.translation import gettext_noop

from okeportal.messages import MsgStr, msg, msg_join, msg_str
from okeportal.textfiles import text_encoding
from reports.models import Quality

from .checks import Assembler, too_big_message
from .common import (
    FILE_FIELD,
    HEADER_FIELD,
    LINE_FIELD,
    MAX_LINE_BYTES,
    MAX_PPES_PER_FILE,
    YEAR_MAX,
    YEAR_MIN,
    Block,
    LineDecoder,
    ParseResult,
    ProgressFn,
    RowError,
    collect,
    kwh_to_wh,
    line_blocks,
    long_line_error,
    max_wh_per_reading,
    stream_size,
    year_message,
)
from .fastcsv import read_fast

REQUIRED = ("ppe_code", "start")
ENERGY = ("import_kwh", "export_kwh")
BALANCED = ("import_balanced_kwh", "export_balanced_kwh")
OPTIONAL = ("quality", *BALANCED)
CHUNK_ROWS = 200_000
QUALITY_CODES = {
    "": Quality.MEASURED, "m": Quality.MEASURED, "measured": Quality.MEASURED, "pomiar": Quality.MEASURED,
    "e": Quality.ESTIMATED, "estimated": Quality.ESTIMATED, "szacunek": Quality.ESTIMATED,
}
_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
_START_CACHE = 100_000
_BOM = b"\xef\xbb\xbf"
# ppe id, start (epoch s), import kWh, export kWh, quality[, balanced import kWh, balanced export kWh, balanced quality]
_GoodRow = tuple[int | float, ...]


def _parse_start(value: str) -> int | str:
    """Epoch seconds, or a Polish message saying what is wrong."""
    text = value.strip()
    if not _OFFSET.search(text):
        return msg_str(gettext_noop("„%(v)s” nie ma przesunięcia względem UTC (np. 2026-01-01T00:00+01:00)."), v=text[:40])
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return msg_str(gettext_noop("„%(v)s” nie jest datą i godziną ISO 8601."), v=text[:40])
    if not YEAR_MIN <= moment.year <= YEAR_MAX:
        return year_message(text[:40])
    seconds = int(moment.timestamp())
    if moment.second or moment.microsecond or seconds % 900:
        return msg_str(gettext_noop("„%(v)s” nie zaczyna się o pełnym kwadransie."), v=text)
    return seconds


class _Header:
    """What the header line says: separator, column positions, which directions the file carries."""

    def __init__(self, line: str) -> None:
        self.sep = ";" if ";" in line and line.count(";") >= line.count(",") else ","
        names = [c.strip().strip('"').strip().lower() for c in line.split(self.sep)]
        self.missing = [c for c in REQUIRED if c not in names]
        if not any(c in names for c in ENERGY):
            self.missing.append(" / ".join(ENERGY))
        self.repeated = sorted({c for c in names if c in REQUIRED + ENERGY + OPTIONAL and names.count(c) > 1})
        # other columns are ignored (named apart so they cannot clash)
        self.names = [n if n in REQUIRED + ENERGY + OPTIONAL else f"_extra{i}" for i, n in enumerate(names)]
        self.col = {n: i for i, n in enumerate(self.names)}
        self.has_import, self.has_export = "import_kwh" in self.col, "export_kwh" in self.col
        self.balanced = [c for c in BALANCED if c in self.col]


def iter_generic(
    stream: BinaryIO, *, on_progress: ProgressFn | None = None, chunk_rows: int = CHUNK_ROWS
) -> Iterator[ParseResult]:
    """Parse a generic CSV chunk by chunk (see ``parse_stream``)."""
    size = stream_size(stream)
    head = stream.read(MAX_LINE_BYTES + 1)
    result = ParseResult()
    if not head.removeprefix(_BOM).strip():
        result.add(RowError(None, FILE_FIELD, msg(gettext_noop("Plik jest pusty."))))
        yield result
        return
    nl = head.find(b"\n")
    if nl < 0 and len(head) > MAX_LINE_BYTES:
        result.add(long_line_error(1))
        yield result
        return
    raw_header = (head if nl < 0 else head[:nl]).removeprefix(_BOM).removesuffix(b"\r")
    header_text = raw_header.decode(text_encoding(raw_header) or "ascii", errors="replace")
    header = _Header(header_text.replace("\0", ""))
    if header.missing or header.repeated:
        message = msg(gettext_noop(
            "Brak kolumn: %(cols)s. Wymagany nagłówek: ppe_code, start, import_kwh, export_kwh (opcjonalnie quality, "
            "import_balanced_kwh, export_balanced_kwh); jedną z kolumn energii można pominąć, gdy plik jej nie zawiera."
        ), cols=", ".join(header.missing)) if header.missing else msg(gettext_noop(
            "Kolumna %(cols)s występuje w nagłówku więcej niż raz."
        ), cols=", ".join(header.repeated))
        result.add(RowError(1, HEADER_FIELD, message))
        yield result
        return
    parser = _Parser(header, on_progress=on_progress, size=size)
    blocks = line_blocks(stream, min_lines=chunk_rows, first_line=2, prefix=head[nl + 1 :] if nl >= 0 else b"")
    total_rows = 0
    for block in blocks:
        result = parser.chunk(block)
        total_rows += result.rows
        yield result
    result = ParseResult()
    parser.assembler.finish(result)
    if not total_rows and not parser.assembler.bad:
        result.add(RowError(None, FILE_FIELD, msg(gettext_noop("Plik nie zawiera żadnych odczytów (jest tylko nagłówek)."))))
    if on_progress is not None:
        on_progress(1.0)
    yield result


def parse_generic(stream: BinaryIO, *, on_progress: ProgressFn | None = None) -> ParseResult:
    """The whole file as one result (see ``parse_stream`` for the streaming form)."""
    return collect(iter_generic(stream, on_progress=on_progress))


class _Parser:
    def __init__(self, header: _Header, *, on_progress: ProgressFn | None, size: int | None) -> None:
        self.header = header
        self.on_progress, self.size, self.done = on_progress, size, 0
        self.codes: list[str] = []
        self.ids: dict[str, int] = {}
        self.starts: dict[str, int | str] = {}
        self.decoder = LineDecoder(sep=header.sep)
        self.too_many_ppes = False
        self.assembler = Assembler(codes=self.codes, fields=("start", "import_kwh", "export_kwh"),
                                   has_import=header.has_import, has_export=header.has_export, balanced=header.balanced)

    def chunk(self, block: Block) -> ParseResult:
        result = ParseResult()
        for error in block.errors:
            result.add(error)
        rows = self._fast(block)
        if rows is None:
            rows = self._careful(block, result)  # counts the rows, bad ones too
        else:
            result.rows = len(rows["line"])
        rows = self._limit_ppes(result, rows)
        self.assembler.add(result, rows)
        self.done += len(block.data)
        if self.on_progress is not None and self.size:
            self.on_progress(min(self.done / self.size, 1.0))
        return result

    def _id(self, code: str) -> int:
        """Id of a PPE code; codes beyond ``MAX_PPES_PER_FILE`` all get that number and are never kept."""
        pid = self.ids.get(code)
        if pid is None:
            if len(self.codes) >= MAX_PPES_PER_FILE:
                return MAX_PPES_PER_FILE
            pid = self.ids[code] = len(self.codes)
            self.codes.append(code)
        return pid

    def _limit_ppes(self, result: ParseResult, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        over = rows["ppe"] >= MAX_PPES_PER_FILE
        if not over.any():
            return rows
        if not self.too_many_ppes:
            self.too_many_ppes = True
            result.add(RowError(int(rows["line"][np.argmax(over)]), "ppe_code", msg(gettext_noop(
                "Plik zawiera dane więcej niż %(n)d PPE — podziel go na mniejsze pliki."), n=MAX_PPES_PER_FILE)))
        return {k: v[~over] for k, v in rows.items()}

    def _fast(self, block: Block) -> dict[str, np.ndarray] | None:
        sep = self.header.sep
        decimal = "," if sep == ";" and b"," in block.data else "."
        # ``read_fast`` is looked up here at call time, so a test can switch the fast path off
        fast = read_fast(block.data, data_at=0, sep=sep, names=self.header.names, decimal=decimal,
                         first_line=block.first_line)
        if fast is None:
            return None
        lut = np.array([self._id(code.decode("ascii")) for code in fast.codes], dtype=np.int64)
        rows = {"ppe": lut[fast.ppe], "starts": fast.starts, "imp": fast.import_wh, "exp": fast.export_wh,
                "qual": fast.quality, "line": fast.line}
        if self.header.balanced:
            zeros = np.zeros(len(fast.line), dtype=np.int64)
            rows["bimp"] = fast.import_balanced_wh if fast.import_balanced_wh is not None else zeros
            rows["bexp"] = fast.export_balanced_wh if fast.export_balanced_wh is not None else zeros
            rows["bqual"] = fast.quality  # every row has its balanced values on the fast path
        return rows

    def _careful(self, block: Block, result: ParseResult) -> dict[str, np.ndarray]:
        """Line by line, naming every bad cell; errors are reported grouped by field, in line order."""
        sep = self.header.sep
        lines = self.decoder.lines(block, result)
        errors: dict[str, list[RowError]] = {f: [] for f in ("wiersz", "start", "quality", "ppe_code", *ENERGY, *BALANCED)}
        keys = ("ppe", "starts", "imp", "exp", "qual", *(("bimp", "bexp", "bqual") if self.header.balanced else ()))
        out: dict[str, list] = {k: [] for k in (*keys, "line")}
        # values up to 10⁹ kWh (10¹² Wh, far inside int64) go on to the shared per-reading bound, checked
        # by resolution after either path; larger ones (1e308, inf) are refused here, before conversion
        bound_kwh = max(max_wh_per_reading(60) / 1000, 1e9)
        for i, text in enumerate(lines):
            lineno = block.first_line + i
            text = text.removesuffix("\r")
            # a blank line, or only separators (";;;": how spreadsheets save an empty row)
            if not text.strip() or not text.replace(sep, "").strip():
                continue
            result.rows += 1
            row = self._careful_row(text, bound_kwh)
            if isinstance(row, str):
                errors["wiersz"].append(RowError(lineno, LINE_FIELD, row))
            elif isinstance(row, list):
                for name, message in row:
                    errors[name].append(RowError(lineno, name, message))
            else:
                for key, value in zip(keys, row, strict=False):
                    out[key].append(value)
                out["line"].append(lineno)
        for name in errors:
            for error in errors[name]:
                result.add(error)
        rows = {
            "ppe": np.array(out["ppe"], np.int64), "starts": np.array(out["starts"], np.int64),
            "imp": kwh_to_wh(np.array(out["imp"], np.float64)), "exp": kwh_to_wh(np.array(out["exp"], np.float64)),
            "qual": np.array(out["qual"], np.uint8), "line": np.array(out["line"], np.int64),
        }
        if self.header.balanced:
            rows["bimp"] = kwh_to_wh(np.array(out["bimp"], np.float64))
            rows["bexp"] = kwh_to_wh(np.array(out["bexp"], np.float64))
            rows["bqual"] = np.array(out["bqual"], np.uint8)
        return rows

    def _careful_row(self, text: str, bound_kwh: float) -> _GoodRow | list[tuple[str, str]] | str:
        """One non-blank line: ``(ppe id, start, import kWh, export kWh, quality[, balanced import kWh,
        balanced export kWh, balanced quality])``, the ``(column, message)`` pairs of its bad cells, or one
        message about the whole line."""
        if "\0" in text:
            return msg_str(gettext_noop("Wiersz zawiera bajt NUL (0x00) — to nie jest plik tekstowy CSV."))
        k, col = len(self.header.names), self.header.col
        cells = self._cells(text, self.header.sep)
        if isinstance(cells, str):
            return cells
        if len(cells) != k:
            return self._count_message(cells, k)
        row_errors: list[tuple[str, str]] = []
        code = cells[col["ppe_code"]].strip()
        if not code:
            row_errors.append(("ppe_code", msg_str(gettext_noop("Brak kodu PPE."))))
        elif len(code) > 64:
            row_errors.append(("ppe_code", msg_str(gettext_noop("Kod PPE jest dłuższy niż 64 znaki."))))
        start = self._start(cells[col["start"]])
        if isinstance(start, str):
            row_errors.append(("start", start))
        quality = self._quality(cells)
        if isinstance(quality, str):
            row_errors.append(("quality", quality))
        values: list[float] = []
        for name in ENERGY:
            value = _number(cells[col[name]], sep=self.header.sep, bound_kwh=bound_kwh) if name in col else 0.0
            if isinstance(value, str):
                row_errors.append((name, value))
            else:
                values.append(value)
        balanced = self._balanced(cells, bound_kwh, row_errors)
        if row_errors or isinstance(start, str) or isinstance(quality, str):  # a str start or quality is in row_errors too
            return row_errors
        if balanced is None:
            return self._id(code), start, values[0], values[1], quality
        b_imp, b_exp, present = balanced
        return (self._id(code), start, values[0], values[1], quality, b_imp, b_exp,
                quality if present else Quality.MISSING)

    def _balanced(
        self, cells: list[str], bound_kwh: float, row_errors: list[tuple[str, str]]
    ) -> tuple[float, float, bool] | None:
        """The balanced cells of a row: ``(import kWh, export kWh, any value)``; None when the file has none.

        An empty cell is "no balanced value"; with both columns both are empty or both filled."""
        if not self.header.balanced:
            return None
        col = self.header.col
        filled = {name: bool(cells[col[name]].strip()) for name in self.header.balanced}
        if len(filled) == 2 and len(set(filled.values())) == 2:
            empty = next(name for name, has in filled.items() if not has)
            row_errors.append((empty, msg_str(gettext_noop(
                "Brak wartości po zbilansowaniu, choć druga kolumna po zbilansowaniu ma wartość — podaj obie albo żadnej."
            ))))
            return 0.0, 0.0, False
        values = {name: 0.0 for name in BALANCED}
        for name in self.header.balanced:
            if filled[name]:
                value = _number(cells[col[name]], sep=self.header.sep, bound_kwh=bound_kwh)
                if isinstance(value, str):
                    row_errors.append((name, value))
                else:
                    values[name] = value
        return values["import_balanced_kwh"], values["export_balanced_kwh"], any(filled.values())

    def _start(self, text: str) -> int | str:
        """Epoch seconds of a ``start`` cell (each distinct text parsed once), or a message."""
        start = self.starts.get(text)
        if start is None:
            if len(self.starts) >= _START_CACHE:
                self.starts.clear()
            start = self.starts[text] = (_parse_start(text) if text.strip()
                                         else msg_str(gettext_noop("Brak daty i godziny początku okresu.")))
        return start

    def _quality(self, cells: list[str]) -> int | str:
        """The ``quality`` cell as a ``Quality`` code (measured when the file has no such column), or a message."""
        if "quality" not in self.header.col:
            return Quality.MEASURED
        cell = cells[self.header.col["quality"]]
        quality = QUALITY_CODES.get(cell.strip().lower(), 255)
        if quality == 255:
            return msg_str(gettext_noop("Nieznana jakość „%(v)s” (dozwolone: M — pomiar, E — szacunek)."), v=cell.strip()[:40])
        return quality

    @staticmethod
    def _cells(text: str, sep: str) -> list[str] | str:
        if '"' not in text:
            return text.split(sep)
        # a quote is read within its own line only, so a stray one cannot swallow the rest of the file
        try:
            return next(csv.reader([text], delimiter=sep, strict=True))
        except csv.Error:
            return msg_str(gettext_noop("Niezamknięty albo błędnie użyty cudzysłów w wierszu."))

    def _count_message(self, cells: list[str], k: int) -> str:
        message = msg(gettext_noop("Liczba pól w wierszu: %(n)d, liczba kolumn nagłówka: %(k)d (separator „%(sep)s”)."),
                      n=len(cells), k=k, sep=self.header.sep)
        if self.header.sep == "," and len(cells) > k and any(c.strip().isdigit() for c in cells[1:]):
            message = msg_join(message, msg(gettext_noop(
                "Wygląda na przecinek dziesiętny (np. 0,512): przy przecinku dziesiętnym kolumny rozdziela się "
                "średnikiem („;”), a przy separatorze „,” liczby pisze się z kropką (0.512)."
            )))
        return MsgStr(message)


def _number(cell: str, *, sep: str, bound_kwh: float) -> float | str:
    text = cell.strip()
    if not text:
        return msg_str(gettext_noop("Brak wartości albo niepoprawna liczba (np. 1.25 lub 1,25)."))
    try:
        value = float(text.replace(",", ".") if sep == ";" else text)
    except ValueError:
        if sep == "," and "," in text:
            return msg_str(gettext_noop("„%(v)s”: przecinek dziesiętny wymaga średnika („;”) jako separatora kolumn; "
                                        "przy separatorze „,” pisz 0.512."), v=text[:40])
        return msg_str(gettext_noop("Brak wartości albo niepoprawna liczba (np. 1.25 lub 1,25)."))
    if value != value:  # NaN
        return msg_str(gettext_noop("„%(v)s” nie jest liczbą."), v=text[:40])
    if value < 0:
        return msg_str(gettext_noop("Energia nie może być ujemna (%(v)s kWh); pobór i oddanie podaje się osobno."), v=text[:40])
    if value > bound_kwh:  # also inf, 1e308, 1e1000000
        return too_big_message(text[:40], 60)
    return value
