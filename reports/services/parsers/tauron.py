"""Tauron eLicznik exports (one PPE per file, local HOUR-ENDING times).

Layouts (header row found by its first cell ``Data…``):
- long: ``Data; Wartość kWh; Rodzaj`` (types pobór / oddanie; the
  "po zbilansowaniu" types are derived values and skipped);
- long with a tariff zone: ``Data; Strefa; Wartość kWh;Rodzaj;``;
- 2026: ``Data i godzina;Wartosc[kWh/kvar];Rodzaj energii`` (``07.06.2026 01:00``,
  or an Excel serial such as ``46180,0416667`` after a re-save in Excel);
- wide: ``Data, godzina; Pobór energii [kWh]; Oddanie [kWh]``.

A label ``H:00`` on day D covers local [H−1:00, H:00). On the March DST day
the hour 02:00–03:00 does not exist (23 rows: 1:00, 2:00, 4:00 … 24:00; a row
labelled 3:00 is refused). On the October day 02:00–03:00 happens twice, so
the label 3:00 appears twice: the first occurrence is CEST, the second CET.
Files are small (≤ 17,568 rows a year), so this parser is a plain loop.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import numpy as np
from django.utils.translation import gettext as _

from reports.models import Quality

from .common import ParseResult, ProgressFn, RowError, Series, decode_text

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.timezone.utc
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_PL = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_SERIAL = re.compile(r"^(\d{5})(?:[.,](\d+))?$")
KINDS = {"pobor": "import", "oddanie": "export"}
SKIPPED_KINDS = {"pobrana po zbilansowaniu", "oddana po zbilansowaniu"}


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
        return _("„%(v)s” nie jest datą z godziną (oczekiwano np. 2026-04-30 1:00 albo 07.06.2026 01:00).") % {
            "v": text
        }
    try:
        day = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return _("„%(v)s”: nie ma takiego dnia.") % {"v": text}
    if int(mi) or int(s or 0) or not 0 <= int(h) <= 24:
        return _("„%(v)s”: oczekiwano pełnej godziny 0:00–24:00 (dane godzinowe).") % {"v": text}
    return day, int(h)


def _interval_start(day: dt.date, hour: int, occurrence: int, count: int) -> int | str:
    """UTC epoch seconds of the interval ending at local ``day hour:00``, or a message."""
    end_wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour)
    start_wall = end_wall - dt.timedelta(hours=1)
    first = start_wall.replace(tzinfo=WARSAW, fold=0)
    second = start_wall.replace(tzinfo=WARSAW, fold=1)
    label = f"{hour}:00 {day:%d.%m.%Y}"
    if first.astimezone(UTC).astimezone(WARSAW).replace(tzinfo=None) != start_wall:
        return _(
            "Godzina %(label)s obejmuje %(a)s–%(b)s czasu lokalnego, którego tego dnia nie ma (zmiana czasu na "
            "letni); ten dzień ma 23 godziny: 1:00, 2:00, 4:00 … 24:00."
        ) % {"label": label, "a": f"{start_wall:%H:%M}", "b": f"{end_wall:%H:%M}"}
    if first.utcoffset() != second.utcoffset():  # the October hour that happens twice
        if count != 2:
            return _(
                "Godzina %(label)s występuje %(n)d raz(y), a w dniu zmiany czasu na zimowy powinna wystąpić dwa razy "
                "(najpierw CEST, potem CET) — nie da się ustalić, której godziny dotyczy."
            ) % {"label": label, "n": count}
        chosen = first if occurrence == 1 else second
    else:
        chosen = first
    return int(chosen.timestamp())


def parse_tauron(data: bytes, *, on_progress: ProgressFn | None = None) -> ParseResult:
    result = ParseResult()
    lines = decode_text(data).splitlines()
    header_at = next((i for i, ln in enumerate(lines[:30]) if _norm(ln.split(";")[0]).startswith("data")), None)
    if header_at is None:
        result.add(RowError(1, _("nagłówek"), _(
            "Nie znaleziono nagłówka eLicznik (pierwsza kolumna „Data”, kolumny rozdzielone średnikiem)."
        )))
        return result
    header = [_norm(c) for c in lines[header_at].split(";")]
    value_col = next((i for i, c in enumerate(header) if c.startswith("wartosc")), None)
    kind_col = next((i for i, c in enumerate(header) if c.startswith("rodzaj")), None)
    import_col = next((i for i, c in enumerate(header) if c.startswith("pobor")), None)
    export_col = next((i for i, c in enumerate(header) if c.startswith("oddanie")), None)
    if value_col is not None and kind_col is not None:
        columns = {"import": value_col, "export": value_col}
    elif import_col is not None and export_col is not None:
        columns, kind_col = {"import": import_col, "export": export_col}, None
    else:
        result.add(RowError(header_at + 1, _("nagłówek"), _(
            "Nieznany układ pliku eLicznik: oczekiwano kolumn „Data; Wartość kWh; Rodzaj”, „Data i godzina; "
            "Wartosc[kWh/kvar]; Rodzaj energii” albo „Data, godzina; Pobór energii [kWh]; Oddanie [kWh]”."
        )))
        return result
    date_name = lines[header_at].split(";")[0].strip()

    # pass 1: parse cells; (line, day, hour, {kind: Wh})
    rows: list[tuple[int, dt.date, int, dict[str, int]]] = []
    for index in range(header_at + 1, len(lines)):
        lineno = index + 1
        cells = lines[index].split(";")
        if not "".join(cells).strip():
            continue
        label = _label(cells[0])
        if isinstance(label, str):
            result.add(RowError(lineno, date_name, label))
            continue
        if kind_col is not None:
            kind_text = _norm(cells[kind_col]) if len(cells) > kind_col else ""
            if kind_text in SKIPPED_KINDS:
                continue
            if kind_text not in KINDS:
                result.add(RowError(lineno, _("Rodzaj"), _(
                    "Nieznany rodzaj energii „%(v)s” (oczekiwano: pobór, oddanie).") % {"v": cells[kind_col].strip()}))
                continue
            wanted = [KINDS[kind_text]]
        else:
            wanted = ["import", "export"]
        values: dict[str, int] = {}
        for kind in wanted:
            col = columns[kind]
            name = lines[header_at].split(";")[col].strip()
            cell = cells[col].strip().replace(" ", "").replace(",", ".") if len(cells) > col else ""
            try:
                kwh = Decimal(cell)
                if not kwh.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                result.add(RowError(lineno, name, _("„%(v)s” nie jest liczbą (np. 0,095).") % {"v": cell}))
                continue
            if kwh < 0:
                result.add(RowError(lineno, name, _("Energia nie może być ujemna (%(v)s kWh).") % {"v": cell}))
                continue
            values[kind] = int((kwh * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if len(values) == len(wanted):
            rows.append((lineno, *label, values))
    result.rows = len(rows)
    if on_progress is not None:
        on_progress(0.5)

    # pass 2: hour-ending labels → UTC; the October repeated hour by order of occurrence
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
                result.add(RowError(lineno, date_name, _(
                    "Powtórzona godzina %(h)d:00 %(d)s (%(k)s) — ten okres jest już w wierszu %(first)d."
                ) % {"h": hour, "d": f"{day:%d.%m.%Y}", "k": _("pobór") if kind == "import" else _("oddanie"),
                     "first": first_line[(start, kind)]}))
                continue
            first_line[(start, kind)] = lineno
            by_start.setdefault(start, {})[kind] = wh
            line_of.setdefault(start, lineno)
    if result.error_count:
        return result
    if not by_start:
        result.add(RowError(None, _("plik"), _("Plik nie zawiera odczytów poboru ani oddania.")))
        return result
    kinds_present = {k for v in by_start.values() for k in v}
    if kinds_present == {"import", "export"}:
        for start, values in sorted(by_start.items()):
            for kind in ("import", "export"):
                if kind not in values:
                    moment = dt.datetime.fromtimestamp(start, WARSAW)
                    result.add(RowError(line_of[start], date_name, _(
                        "Brak wartości „%(k)s” dla godziny od %(t)s (plik zawiera oba rodzaje energii)."
                    ) % {"k": _("pobór") if kind == "import" else _("oddanie"), "t": f"{moment:%d.%m.%Y %H:%M}"}))
        if result.error_count:
            return result
    starts = np.array(sorted(by_start), dtype=np.int64)
    result.series.append(Series(
        ppe_code=None,
        resolution_min=60,
        starts=starts,
        import_wh=np.array([by_start[s].get("import", 0) for s in starts], dtype=np.int64),
        export_wh=np.array([by_start[s].get("export", 0) for s in starts], dtype=np.int64),
        quality=np.full(len(starts), Quality.MEASURED, dtype=np.uint8),
        lines=np.array([line_of[s] for s in starts], dtype=np.int64),
    ))
    if on_progress is not None:
        on_progress(1.0)
    return result
