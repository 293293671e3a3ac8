"""Tauron eLicznik exports (one PPE per file, local HOUR-ENDING times).

Layouts (header row found by its first cell ``Data…``):
- long: ``Data; Wartość kWh; Rodzaj`` (types pobór / oddanie, and for prosumers
  "pobrana po zbilansowaniu" / "oddana po zbilansowaniu": the DSO's hourly
  balanced values, read into the balanced series);
- long with a tariff zone: ``Data; Strefa; Wartość kWh;Rodzaj;``;
- 2026: ``Data i godzina;Wartosc[kWh/kvar];Rodzaj energii`` (``07.06.2026 01:00``,
  or an Excel serial such as ``46180,0416667`` after a re-save in Excel);
- wide: ``Data, godzina; Pobór energii [kWh]; Oddanie [kWh]`` (optionally columns
  ``Pobrana po zbilansowaniu [kWh]`` / ``Oddana po zbilansowaniu [kWh]``).

A label ``H:00`` on day D covers local [H−1:00, H:00). On the March DST day
the hour 02:00–03:00 does not exist (23 rows: 1:00, 2:00, 4:00 … 24:00; a row
labelled 3:00 is refused). On the October day 02:00–03:00 happens twice, so
the label 3:00 appears twice: the first occurrence is CEST, the second CET.
Files are small (≤ 17,568 rows a year), so this parser is a plain loop over
lines read from the stream in blocks; what it keeps is bounded by the period
(``OKE_METER_FILE_MAX_DAYS``) whatever the file size: rows outside the period and
third occurrences of an hour are reported and dropped at once.
A file that carries only one type (``pobór`` or ``oddanie``) yields a series
with the other direction flagged absent (``has_import`` / ``has_export``), never zeros;
the same holds for the balanced pair. Within each pair (raw, balanced) present in a
file, an hour with one of its two values must have the other.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
from django.utils.translation import gettext_noop

from okeportal.messages import Msg, msg, msg_str
from reports.models import Quality

from .checks import too_big_message
from .common import (
    FILE_FIELD,
    HEADER_FIELD,
    LINE_FIELD,
    YEAR_MAX,
    YEAR_MIN,
    LineDecoder,
    ParseResult,
    ProgressFn,
    RowError,
    Series,
    collect,
    line_blocks,
    max_file_days,
    max_wh_per_reading,
    stream_size,
    year_message,
)

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_PL = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_SERIAL = re.compile(r"^(\d{5})(?:[.,](\d+))?$")
KINDS = {"pobor": "import", "oddanie": "export", "pobrana po zbilansowaniu": "import_balanced",
         "oddana po zbilansowaniu": "export_balanced"}
_MIN_KWH = Decimal("0.0001")  # below half a Wh: 0
RAW_KINDS = ("import", "export")
BALANCED_KINDS = ("import_balanced", "export_balanced")


def _norm(text: str) -> str:
    text = text.strip().lower().replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _label(cell: str) -> tuple[dt.date, int] | str:
    """``(day, hour 0–24)`` of an hour-ending label, or a message."""
    text = cell.strip()
    if m := _ISO.match(text):
        y, mo, d, h, mi, s = m.groups()
    elif m := _PL.match(text):
        d, mo, y, h, mi, s = m.groups()
    elif m := _SERIAL.match(text):
        moment = EXCEL_EPOCH + dt.timedelta(days=float(f"{m.group(1)}.{m.group(2) or 0}"))
        moment = (moment + dt.timedelta(seconds=30)).replace(second=0, microsecond=0)
        y, mo, d, h, mi, s = moment.year, moment.month, moment.day, moment.hour, moment.minute, 0
    else:
        return msg_str(gettext_noop(
            "„%(v)s” nie jest datą z godziną (oczekiwano np. 2026-04-30 1:00 albo 07.06.2026 01:00)."), v=text[:40])
    if not YEAR_MIN <= int(y) <= YEAR_MAX:
        return year_message(text[:40])
    try:
        day = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return msg_str(gettext_noop("„%(v)s”: nie ma takiego dnia."), v=text)
    if int(mi) or int(s or 0) or not 0 <= int(h) <= 24:
        return msg_str(gettext_noop("„%(v)s”: oczekiwano pełnej godziny 0:00–24:00 (dane godzinowe)."), v=text)
    return day, int(h)


def _interval_start(day: dt.date, hour: int, occurrence: int, count: int) -> int | str:
    """UTC epoch seconds of the interval ending at local ``day hour:00``, or a message."""
    end_wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour)
    start_wall = end_wall - dt.timedelta(hours=1)
    first = start_wall.replace(tzinfo=WARSAW, fold=0)
    second = start_wall.replace(tzinfo=WARSAW, fold=1)
    label = f"{hour}:00 {day:%d.%m.%Y}"
    if first.astimezone(UTC).astimezone(WARSAW).replace(tzinfo=None) != start_wall:
        return msg_str(gettext_noop(
            "Godzina %(label)s obejmuje %(a)s–%(b)s czasu lokalnego, którego tego dnia nie ma (zmiana czasu na "
            "letni); ten dzień ma 23 godziny: 1:00, 2:00, 4:00 … 24:00."
        ), label=label, a=f"{start_wall:%H:%M}", b=f"{end_wall:%H:%M}")
    if first.utcoffset() != second.utcoffset():  # the October hour that happens twice
        if count != 2:
            return msg_str(gettext_noop(
                "Godzina %(label)s występuje %(n)d raz(y), a w dniu zmiany czasu na zimowy powinna wystąpić dwa razy "
                "(najpierw CEST, potem CET) — nie da się ustalić, której godziny dotyczy."
            ), label=label, n=count)
        chosen = first if occurrence == 1 else second
    else:
        chosen = first
    return int(chosen.timestamp())


def parse_tauron(data: bytes, *, on_progress: ProgressFn | None = None) -> ParseResult:
    """The whole file as one result (see ``parse_stream`` for the streaming form)."""
    return collect(iter_tauron(io.BytesIO(data), on_progress=on_progress))


def iter_tauron(stream: BinaryIO, *, on_progress: ProgressFn | None = None) -> Iterator[ParseResult]:
    """Parse an eLicznik export; yields one result (the file holds one PPE, a year at most)."""
    result = ParseResult()
    _parse(stream, result, on_progress=on_progress, size=stream_size(stream))
    if on_progress is not None:
        on_progress(1.0)
    yield result


class _Layout:
    def __init__(self, header_line: str, at: int) -> None:
        self.at = at  # 0-based index of the header line
        cells = header_line.lstrip("\ufeff").split(";")
        self.names = [c.strip() for c in cells]
        header = [_norm(c) for c in cells]
        value_col = next((i for i, c in enumerate(header) if c.startswith("wartosc")), None)
        self.kind_col = next((i for i, c in enumerate(header) if c.startswith("rodzaj")), None)
        import_col = next((i for i, c in enumerate(header) if c.startswith("pobor") and "zbilans" not in c), None)
        export_col = next((i for i, c in enumerate(header) if c.startswith("oddanie") and "zbilans" not in c), None)
        balanced = {
            "import_balanced": next((i for i, c in enumerate(header) if c.startswith("pob") and "zbilans" in c), None),
            "export_balanced": next((i for i, c in enumerate(header) if c.startswith("oddan") and "zbilans" in c), None),
        }
        self.columns: dict[str, int] | None = None
        if value_col is not None and self.kind_col is not None:
            self.columns = dict.fromkeys(KINDS.values(), value_col)
        elif import_col is not None and export_col is not None:
            self.columns, self.kind_col = {"import": import_col, "export": export_col}, None
            self.columns |= {kind: col for kind, col in balanced.items() if col is not None}
        self.date_name = self.names[0]


def _find_header(lines: list[str]) -> int | None:
    return next((i for i, ln in enumerate(lines[:30]) if _norm(ln.split(";")[0].lstrip("\ufeff")).startswith("data")),
                None)


def _parse(stream: BinaryIO, result: ParseResult, *, on_progress: ProgressFn | None, size: int | None) -> None:
    decoder = LineDecoder(sep=";")
    layout: _Layout | None = None
    preamble: list[str] = []
    rows: list[tuple[int, dt.date, int, dict[str, int]]] = []
    state = _Pass1()
    done = 0
    for block in line_blocks(stream, min_lines=5000):
        for error in block.errors:
            result.add(error)
        lines = decoder.lines(block, result)
        first = block.first_line
        if layout is None:
            preamble += lines
            at = _find_header(preamble)
            if at is None:
                if len(preamble) < 30:
                    continue
                break
            layout = _Layout(preamble[at], at)
            if layout.columns is None:
                break
            lines, first = preamble[at + 1 :], at + 2
        for i, text in enumerate(lines):
            row = _row(layout, first + i, text.removesuffix("\r"), result, state)
            if row is not None:
                rows.append(row)
        done += len(block.data)
        if on_progress is not None and size:
            on_progress(min(done / size, 1.0) * 0.5)
    if layout is None:
        result.add(RowError(1, HEADER_FIELD, msg(gettext_noop(
            "Nie znaleziono nagłówka eLicznik (pierwsza kolumna „Data”, kolumny rozdzielone średnikiem)."
        ))))
        return
    if layout.columns is None:
        result.add(RowError(layout.at + 1, HEADER_FIELD, msg(gettext_noop(
            "Nieznany układ pliku eLicznik: oczekiwano kolumn „Data; Wartość kWh; Rodzaj”, „Data i godzina; "
            "Wartosc[kWh/kvar]; Rodzaj energii” albo „Data, godzina; Pobór energii [kWh]; Oddanie [kWh]”."
        ))))
        return
    result.rows = state.rows
    _assemble(layout, rows, result)


class _Pass1:
    """What the first pass remembers: the period so far and how often each label occurred."""

    def __init__(self) -> None:
        self.rows = 0
        self.lo: int | None = None
        self.hi: int | None = None
        self.out_of_period = False
        self.counts: dict[tuple, int] = {}
        self.first_line: dict[tuple, int] = {}
        self.max_kwh = Decimal(max_wh_per_reading(60)) / 1000
        self.window = max_file_days()


def _row(
    layout: _Layout, lineno: int, text: str, result: ParseResult, state: _Pass1
) -> tuple[int, dt.date, int, dict[str, int]] | None:
    """Pass 1 over one line: ``(line, day, hour, {kind: Wh})``, or None when it is blank, skipped or refused."""
    cells = text.split(";")
    if not "".join(cells).strip():
        return None
    state.rows += 1
    shape = _shape_message(layout, text, cells)
    if shape is not None:
        result.add(RowError(lineno, LINE_FIELD, shape))
        return None
    label = _label(cells[0])
    if isinstance(label, str):
        result.add(RowError(lineno, layout.date_name, label))
        return None
    wanted = _wanted_kinds(layout, lineno, cells, result)
    if wanted is None:
        return None
    values = _values(layout, lineno, cells, wanted, result, max_kwh=state.max_kwh)
    if len(values) != len(wanted):
        return None
    day, hour = label
    if not _within_period(layout, lineno, cells[0], day, result, state):
        return None
    if not _count_occurrences(layout, lineno, day, hour, values, result, state):
        return None
    return lineno, day, hour, values


def _shape_message(layout: _Layout, text: str, cells: list[str]) -> str | None:
    """Why a line cannot be read as a row of this layout (a NUL byte, too few fields), or None."""
    if "\0" in text:
        return msg_str(gettext_noop("Wiersz zawiera bajt NUL (0x00) — to nie jest plik tekstowy CSV."))
    assert layout.columns is not None
    needed = max(layout.kind_col or 0, *layout.columns.values()) + 1
    if len(cells) < needed:
        return msg_str(gettext_noop(
            "Liczba pól w wierszu: %(n)d, a ten układ pliku eLicznik wymaga co najmniej: %(k)d (kolumny rozdziela średnik)."
        ), n=len(cells), k=needed)
    return None


def _wanted_kinds(layout: _Layout, lineno: int, cells: list[str], result: ParseResult) -> list[str] | None:
    """The directions a row carries: every column of the wide layout, its ``Rodzaj`` in the long ones;
    None for an unknown type (reported)."""
    kind_col = layout.kind_col
    if kind_col is None:
        assert layout.columns is not None
        return list(layout.columns)
    kind_text = " ".join(_norm(cells[kind_col]).split()) if len(cells) > kind_col else ""
    if kind_text not in KINDS:
        result.add(RowError(lineno, gettext_noop("Rodzaj"), msg(gettext_noop(
            "Nieznany rodzaj energii „%(v)s” (oczekiwano: pobór, oddanie, pobrana po zbilansowaniu, "
            "oddana po zbilansowaniu)."), v=cells[kind_col].strip()[:40])))
        return None
    return [KINDS[kind_text]]


def _values(
    layout: _Layout, lineno: int, cells: list[str], wanted: list[str], result: ParseResult, *, max_kwh: Decimal
) -> dict[str, int]:
    """Wh of each wanted direction; a bad cell is reported and left out."""
    assert layout.columns is not None
    values: dict[str, int] = {}
    for kind in wanted:
        col = layout.columns[kind]
        name = layout.names[col]
        cell = cells[col].strip().replace(" ", "").replace(",", ".")
        wh = _wh(cell, max_kwh=max_kwh)
        if isinstance(wh, str):
            result.add(RowError(lineno, name, wh))
        else:
            values[kind] = wh
    return values


def _wh(cell: str, *, max_kwh: Decimal) -> int | str:
    """A kWh cell (dot decimal, no spaces) as whole Wh rounded half up, or a message."""
    try:
        kwh = Decimal(cell)
        if not kwh.is_finite():
            raise InvalidOperation
    except (ArithmeticError, ValueError):  # Overflow for 1e999999999999999999
        return msg_str(gettext_noop("„%(v)s” nie jest liczbą (np. 0,095)."), v=cell[:40])
    if kwh < 0:
        return msg_str(gettext_noop("Energia nie może być ujemna (%(v)s kWh)."), v=cell[:40])
    if kwh > max_kwh:  # compared before any arithmetic: 1e1000000 must not overflow
        return too_big_message(cell[:40], 60)
    # bounded above; a tiny exponent (1e-999999) rounds to 0 Wh
    return int(kwh.scaleb(3).quantize(Decimal(1), rounding=ROUND_HALF_UP)) if kwh >= _MIN_KWH else 0


def _within_period(
    layout: _Layout, lineno: int, label_cell: str, day: dt.date, result: ParseResult, state: _Pass1
) -> bool:
    """The period is bounded while reading: a row outside it is refused (the first one named) and not kept."""
    ordinal = day.toordinal()
    lo, hi = min(state.lo or ordinal, ordinal), max(state.hi or ordinal, ordinal)
    if hi - lo >= state.window:
        if not state.out_of_period:
            state.out_of_period = True
            result.add(RowError(lineno, layout.date_name, msg(gettext_noop(
                "„%(v)s”: plik obejmowałby ponad %(n)d dni (dotąd od %(a)s do %(b)s). Jeden plik może obejmować "
                "najwyżej %(n)d dni danych — podziel go."
            ), v=label_cell.strip()[:40], n=state.window, a=dt.date.fromordinal(state.lo or ordinal),
               b=dt.date.fromordinal(state.hi or ordinal))))
        return False
    state.lo, state.hi = lo, hi
    return True


def _count_occurrences(
    layout: _Layout, lineno: int, day: dt.date, hour: int, values: dict[str, int], result: ParseResult, state: _Pass1
) -> bool:
    """Count the row's labels; a third occurrence (more than the October repeat) is a duplicate, never kept."""
    for kind in values:
        key = (day, hour, kind)
        state.counts[key] = state.counts.get(key, 0) + 1
        state.first_line.setdefault(key, lineno)
        if state.counts[key] > 2:
            result.add(RowError(lineno, layout.date_name, _duplicate(hour, day, kind, state.first_line[key])))
            return False
    return True


def _duplicate(hour: int, day: dt.date, kind: str, first: int) -> Msg:
    return msg(gettext_noop("Powtórzona godzina %(h)d:00 %(d)s (%(k)s) — ten okres jest już w wierszu %(first)d."),
               h=hour, d=day, k=_kind_word(kind), first=first)


def _kind_word(kind: str) -> Msg:
    return {
        "import": msg(gettext_noop("pobór")),
        "export": msg(gettext_noop("oddanie")),
        "import_balanced": msg(gettext_noop("pobrana po zbilansowaniu")),
        "export_balanced": msg(gettext_noop("oddana po zbilansowaniu")),
    }[kind]


def _assemble(layout: _Layout, rows: list[tuple[int, dt.date, int, dict[str, int]]], result: ParseResult) -> None:
    """Pass 2: hour-ending labels → UTC; the October repeated hour by order of occurrence."""
    date_name = layout.date_name
    counts: dict[tuple, int] = {}
    for _line, day, hour, values in rows:
        for kind in values:
            counts[(day, hour, kind)] = counts.get((day, hour, kind), 0) + 1
    seen: dict[tuple, int] = {}
    first_line: dict[tuple[int, str], int] = {}
    by_start: dict[int, dict[str, int]] = {}
    line_of: dict[int, int] = {}
    for lineno, day, hour, values in rows:
        for kind, wh in values.items():
            key = (day, hour, kind)
            seen[key] = seen.get(key, 0) + 1
            start = _interval_start(day, hour, seen[key], counts[key])
            if isinstance(start, str):
                result.add(RowError(lineno, date_name, start))
                continue
            if (start, kind) in first_line:
                result.add(RowError(lineno, date_name, _duplicate(hour, day, kind, first_line[(start, kind)])))
                continue
            first_line[(start, kind)] = lineno
            by_start.setdefault(start, {})[kind] = wh
            line_of.setdefault(start, lineno)
    if result.error_count:
        return
    if not by_start:
        result.add(RowError(None, FILE_FIELD, msg(gettext_noop(
            "Plik nie zawiera odczytów poboru ani oddania (także po zbilansowaniu)."))))
        return
    kinds_present = {k for v in by_start.values() for k in v}
    _check_pairs(by_start, kinds_present, line_of, date_name, result)
    if result.error_count:
        return
    starts = np.array(sorted(by_start), dtype=np.int64)

    def column(kind: str) -> np.ndarray:
        return np.array([by_start[s].get(kind, 0) for s in starts], dtype=np.int64)

    def quality(kinds: tuple[str, ...]) -> np.ndarray:
        """Measured where the hour has a value of ``kinds``, else missing (a gap never overwrites stored data)."""
        has = np.array([any(k in by_start[s] for k in kinds) for s in starts], dtype=bool)
        return np.where(has, Quality.MEASURED, Quality.MISSING).astype(np.uint8)

    balanced_present = [k for k in BALANCED_KINDS if k in kinds_present]
    result.series.append(Series(
        ppe_code=None,
        resolution_min=60,
        starts=starts,
        import_wh=column("import"),
        export_wh=column("export"),
        quality=quality(RAW_KINDS),
        lines=np.array([line_of[s] for s in starts], dtype=np.int64),
        # a direction of which the file has no row at all is absent, not zero
        has_import="import" in kinds_present,
        has_export="export" in kinds_present,
        import_balanced_wh=column("import_balanced") if "import_balanced" in kinds_present else None,
        export_balanced_wh=column("export_balanced") if "export_balanced" in kinds_present else None,
        balanced_quality=quality(BALANCED_KINDS) if balanced_present else None,
    ))


def _check_pairs(
    by_start: dict[int, dict[str, int]], kinds_present: set[str], line_of: dict[int, int], date_name: str,
    result: ParseResult,
) -> None:
    """Within each pair (raw, balanced) the file has both of, an hour with one value of the pair has the other."""
    for pair in (RAW_KINDS, BALANCED_KINDS):
        if not set(pair) <= kinds_present:
            continue
        for start, values in sorted(by_start.items()):
            if not any(kind in values for kind in pair):
                continue  # an hour of the other pair only (e.g. balanced values alone)
            for kind in pair:
                if kind not in values:
                    moment = dt.datetime.fromtimestamp(start, WARSAW)
                    result.add(RowError(line_of[start], date_name, msg(gettext_noop(
                        "Brak wartości „%(k)s” dla godziny od %(t)s (plik zawiera oba rodzaje energii)."
                    ), k=_kind_word(kind), t=moment)))
