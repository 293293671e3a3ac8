"""The generic CSV: ``ppe_code, start, import_kwh, export_kwh[, quality]``.

Vectorised: pandas reads the file in chunks; PPE codes and timestamps are read
as categories, so each distinct string is validated and parsed once (a year of
1,000 PPEs has 1,000 codes and 8,760 timestamps among 8.76 M rows).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import BinaryIO

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from reports.models import Quality

from .common import ParseResult, ProgressFn, RowError, Series, kwh_to_wh
from .fastcsv import read_fast

REQUIRED = ("ppe_code", "start", "import_kwh", "export_kwh")
OPTIONAL = ("quality",)
CHUNK_ROWS = 500_000
QUALITY_CODES = {
    "": Quality.MEASURED, "m": Quality.MEASURED, "measured": Quality.MEASURED, "pomiar": Quality.MEASURED,
    "e": Quality.ESTIMATED, "estimated": Quality.ESTIMATED, "szacunek": Quality.ESTIMATED,
}
_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def _parse_start(value: str) -> int | str:
    """Epoch seconds, or a Polish message saying what is wrong."""
    text = value.strip()
    if not _OFFSET.search(text):
        return _("„%(v)s” nie ma przesunięcia względem UTC (np. 2026-01-01T00:00+01:00).") % {"v": text}
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return _("„%(v)s” nie jest datą i godziną ISO 8601.") % {"v": text}
    seconds = int(moment.timestamp())
    if moment.second or moment.microsecond or seconds % 900:
        return _("„%(v)s” nie zaczyna się o pełnym kwadransie.") % {"v": text}
    return seconds


def _numbers(column: pd.Series) -> np.ndarray:
    try:
        return column.astype("float64").to_numpy()
    except (ValueError, TypeError):
        # decimal comma (or a bad cell): normalise, bad cells become NaN and are reported
        cleaned = column.astype("str").str.strip().str.replace(",", ".", regex=False)
        return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64)


class _Codes:
    """Global ids for the distinct strings of a categorical column across chunks."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.values: list[str] = []

    def map(self, column: pd.Series) -> np.ndarray:
        cats = column.cat.categories
        lut = np.empty(len(cats) + 1, dtype=np.int64)
        lut[-1] = -1  # NaN has code -1
        for i, value in enumerate(cats):
            key = str(value).strip()
            if key not in self.ids:
                self.ids[key] = len(self.values)
                self.values.append(key)
            lut[i] = self.ids[key]
        return lut[column.cat.codes.to_numpy()]


def _read(
    raw: bytes, *, sep: str, names: list[str], encoding: str, decimal: str, numbers_as_text: bool,
    on_progress: ProgressFn | None,
) -> tuple[dict[str, list[np.ndarray]], tuple[_Codes, _Codes, _Codes]]:
    number = str if numbers_as_text else "float64"
    dtypes = {"ppe_code": "category", "start": "category", "quality": "category", "import_kwh": number,
              "export_kwh": number}
    total = max(raw.count(b"\n"), 1)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("ppe", "start", "imp", "exp", "qual", "line")}
    codes = (_Codes(), _Codes(), _Codes())
    reader = pd.read_csv(
        io.BytesIO(raw), sep=sep, header=None, skiprows=1, names=names, encoding=encoding, decimal=decimal,
        dtype={k: v for k, v in dtypes.items() if k in names}, skip_blank_lines=False,
        chunksize=CHUNK_ROWS, keep_default_na=False, na_values=[""],
    )
    for chunk in reader:
        lines = chunk.index.to_numpy(dtype=np.int64) + 2
        keep = ~chunk[list(REQUIRED)].isna().all(axis=1).to_numpy()  # blank lines
        parts["line"].append(lines[keep])
        parts["ppe"].append(codes[0].map(chunk["ppe_code"])[keep])
        parts["start"].append(codes[1].map(chunk["start"])[keep])
        for key, column in (("imp", "import_kwh"), ("exp", "export_kwh")):
            values = _numbers(chunk[column]) if numbers_as_text else chunk[column].to_numpy(dtype=np.float64)
            parts[key].append(values[keep])
        if "quality" in names:
            parts["qual"].append(codes[2].map(chunk["quality"])[keep])
        if on_progress is not None and len(lines):
            on_progress(min(1.0, lines[-1] / total) * 0.7)
    return parts, codes


def _encoding(raw: bytes) -> str:
    try:
        raw.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1250"


def parse_generic(stream: BinaryIO, *, on_progress: ProgressFn | None = None) -> ParseResult:
    result = ParseResult()
    raw = stream.read()
    head = raw[:4096]
    # an ASCII head reads the same in both encodings, so the whole-file check can wait for the slow path
    encoding = None if head.isascii() else _encoding(raw)
    try:
        text_head = head.decode(encoding or "ascii")
    except UnicodeDecodeError:
        text_head, encoding = head.decode("cp1250"), "cp1250"
    header_line = text_head.splitlines()[0] if text_head.strip() else ""
    sep = ";" if header_line.count(";") >= header_line.count(",") and ";" in header_line else ","
    names = [c.strip().lower() for c in header_line.split(sep)]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        result.add(RowError(1, _("nagłówek"), _(
            "Brak kolumn: %(cols)s. Wymagany nagłówek: ppe_code, start, import_kwh, export_kwh (opcjonalnie quality)."
        ) % {"cols": ", ".join(missing)}))
        return result
    names = [n if n in REQUIRED + OPTIONAL else f"_extra{i}" for i, n in enumerate(names)]
    sample = text_head.splitlines()[1:20]
    decimal = "," if sep == ";" and any("," in line for line in sample) else "."
    # Plain files are read straight from the bytes (fastcsv). Otherwise numbers are
    # parsed by pandas' C reader with the decimal mark seen in the first data lines;
    # a file that does not fit (mixed marks, bad cells) is read again with the
    # numbers as text so each bad cell can be named.
    header_end = raw.find(b"\n")
    first_line = raw[:header_end if header_end >= 0 else len(raw)].removeprefix(b"\xef\xbb\xbf").removesuffix(b"\r")
    if header_end >= 0 and first_line.isascii() and first_line.decode() == header_line:
        fast = read_fast(raw, data_at=header_end + 1, sep=sep, names=names, decimal=decimal,
                         on_progress=None if on_progress is None else lambda share: on_progress(share * 0.7))
        if fast is not None:
            result.rows = len(fast.line)
            codes = [code.decode("ascii") for code in fast.codes]
            quality = np.full(len(fast.line), Quality.MEASURED, dtype=np.uint8)
            _split_series(result, codes=codes, ppe=fast.ppe, starts=fast.starts, line=fast.line,
                          imp_wh=fast.import_wh, exp_wh=fast.export_wh, quality=quality)
            if on_progress is not None:
                on_progress(1.0)
            return result
    encoding = encoding or _encoding(raw)
    failure = _("Nie można odczytać pliku CSV: %(err)s")
    try:
        parts, codes = _read(raw, sep=sep, names=names, encoding=encoding, decimal=decimal, numbers_as_text=False,
                             on_progress=on_progress)
    except pd.errors.ParserError as exc:
        result.add(RowError(None, _("plik"), failure % {"err": exc}))
        return result
    except ValueError:
        try:
            parts, codes = _read(raw, sep=sep, names=names, encoding=encoding, decimal=".", numbers_as_text=True,
                                 on_progress=on_progress)
        except ValueError as exc:  # includes ParserError
            result.add(RowError(None, _("plik"), failure % {"err": exc}))
            return result
    ppe_codes, start_codes, quality_codes = codes
    if not parts["line"] or not sum(len(p) for p in parts["line"]):
        result.add(RowError(None, _("plik"), _("Plik nie zawiera żadnych odczytów.")))
        return result
    line = np.concatenate(parts["line"])
    ppe = np.concatenate(parts["ppe"])
    start_id = np.concatenate(parts["start"])
    imp_kwh = np.concatenate(parts["imp"])
    exp_kwh = np.concatenate(parts["exp"])
    result.rows = len(line)

    # timestamps and qualities: validate each distinct string once
    parsed = [_parse_start(v) for v in start_codes.values]
    start_lut = np.array([p if isinstance(p, int) else -1 for p in parsed] + [-1], dtype=np.int64)
    starts = start_lut[start_id]
    bad = np.flatnonzero(starts < 0)
    for i in bad[:200]:
        message = parsed[start_id[i]] if start_id[i] >= 0 else _("Brak daty i godziny początku okresu.")
        result.add(RowError(int(line[i]), "start", str(message)))
    quality = np.full(len(line), Quality.MEASURED, dtype=np.uint8)
    if parts["qual"]:
        qual_id = np.concatenate(parts["qual"])
        lut = np.array([QUALITY_CODES.get(v.lower(), 255) for v in quality_codes.values] + [Quality.MEASURED], np.int64)
        qualities = lut[qual_id]
        for i in np.flatnonzero(qualities == 255)[:200]:
            result.add(RowError(int(line[i]), "quality", _(
                "Nieznana jakość „%(v)s” (dozwolone: M — pomiar, E — szacunek)."
            ) % {"v": quality_codes.values[qual_id[i]]}))
        quality = np.where(qualities == 255, Quality.MEASURED, qualities).astype(np.uint8)
    for i in np.flatnonzero(ppe < 0)[:200]:
        result.add(RowError(int(line[i]), "ppe_code", _("Brak kodu PPE.")))
    for name, values in (("import_kwh", imp_kwh), ("export_kwh", exp_kwh)):
        for i in np.flatnonzero(np.isnan(values))[:200]:
            result.add(RowError(int(line[i]), name, _("Brak wartości albo niepoprawna liczba (np. 1.25 lub 1,25).")))
        for i in np.flatnonzero(values < 0)[:200]:
            result.add(RowError(int(line[i]), name, _(
                "Energia nie może być ujemna (%(v)s kWh); pobór i oddanie podaje się osobno."
            ) % {"v": values[i]}))
        for i in np.flatnonzero(values > 1e9)[:200]:
            result.add(RowError(int(line[i]), name, _("Wartość %(v)s kWh jest nierealnie duża.") % {"v": values[i]}))
    if result.error_count:
        return result

    imp_wh, exp_wh = kwh_to_wh(imp_kwh), kwh_to_wh(exp_kwh)
    _split_series(result, codes=ppe_codes.values, ppe=ppe, starts=starts, line=line, imp_wh=imp_wh, exp_wh=exp_wh,
                  quality=quality)
    if on_progress is not None:
        on_progress(1.0)
    return result


def _split_series(
    result: ParseResult, *, codes: list[str], ppe: np.ndarray, starts: np.ndarray, line: np.ndarray,
    imp_wh: np.ndarray, exp_wh: np.ndarray, quality: np.ndarray,
) -> None:
    """Sort by (PPE, start), refuse duplicate intervals, cut one ``Series`` per PPE."""
    lo, span = int(starts.min()), int(starts.max()) - int(starts.min()) + 1
    if (int(ppe.max()) + 1) * span < 2**62:
        key = ppe * span + (starts - lo)
        # strictly increasing: already in order and free of duplicates, the usual case
        order = None if bool((key[1:] > key[:-1]).all()) else np.argsort(key, kind="stable")
    else:
        order = np.lexsort((starts, ppe))
    if order is not None:
        ppe, starts, line = ppe[order], starts[order], line[order]
        imp_wh, exp_wh, quality = imp_wh[order], exp_wh[order], quality[order]
        dup = np.flatnonzero((ppe[1:] == ppe[:-1]) & (starts[1:] == starts[:-1]))
        for i in dup[:200]:
            result.add(RowError(int(line[i + 1]), "start", _(
                "Powtórzony okres: PPE %(ppe)s od %(t)s występuje już w wierszu %(first)d."
            ) % {"ppe": codes[ppe[i]], "t": _iso(starts[i]), "first": int(line[i])}))
        if result.error_count:
            return
    bounds = np.flatnonzero(np.diff(ppe)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ppe)], strict=True):
        s = starts[lo:hi]
        # 15-minute data if any start is off the hour or two starts are 15 min apart
        quarter = bool((s % 3600).any() or (np.diff(s) == 900).any())
        result.series.append(Series(
            ppe_code=codes[ppe[lo]], resolution_min=15 if quarter else 60, starts=s,
            import_wh=imp_wh[lo:hi], export_wh=exp_wh[lo:hi], quality=quality[lo:hi], lines=line[lo:hi],
        ))


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc).isoformat()
