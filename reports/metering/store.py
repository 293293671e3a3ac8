"""Meter data storage: one ``MeterDay`` row per PPE and UTC day of packed arrays.

A day row holds 24 (hourly) or 96 (15-minute) slots of UTC time, ``import_wh``
and ``export_wh`` as little-endian int64 Wh, and a uint8 ``Quality`` per slot
and direction: ``quality`` for drawn energy (A+), ``export_quality`` for fed-in
energy (A−). Why arrays and not a row per interval: measured, see
docs/architecture.md ("Meter data layout") and scripts/measure_meter_layout.py.

Merge rules (documented in docs/formats-readings.md):
- a block replaces the slots it carries, direction by direction; slots it
  marks ``Quality.MISSING`` never overwrite stored data (a gap in a file is
  "no information", not zero), and a direction the block does not carry at
  all (``has_import``/``has_export`` False, e.g. an eLicznik file with only
  "pobór" rows) leaves that direction's stored values and quality untouched;
  a day that never received a direction stays ``MISSING`` for it;
- values must lie in ``0 … max_wh_per_reading`` (the limit the parsers
  apply), so no path can store a value whose sums could wrap int64;
- a day has one resolution. When a block at another resolution touches a day
  that already holds data, the day is kept hourly: quarters are summed to
  hours (an hour is present only if all four quarters are, estimated if any
  is). A 15-minute block that covers only part of an hour cannot be merged
  into an hourly day and is refused with ``MeterStoreError``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from members.models import MeteringPoint
from members.services.datastamp import conditions_invalidate
from reports.engine.calendar import quarters_to_hours
from reports.metering.parsers.common import max_file_days, max_wh_per_reading
from reports.models import MeterDay, Quality

UTC = dt.UTC
WARSAW = ZoneInfo("Europe/Warsaw")
SLOTS_PER_DAY = {60: 24, 15: 96}
BATCH_ROWS = 2000  # SQLite: 22,000 parameters per statement (limit 32,766) (PostgreSQL: one binary COPY stream)


class MeterStoreError(ValueError):
    """Data that cannot be merged into the stored days (message in Polish)."""


@dataclass(frozen=True)
class Block:
    """A contiguous run of slots for one PPE, starting at ``start_utc``.

    ``quality`` applies to every direction the block carries, unless
    ``export_quality`` is given for the fed-in side. A direction with
    ``has_import``/``has_export`` False is not carried: its values are ignored
    and the stored slots of that direction stay as they are.
    """

    ppe_id: int
    start_utc: dt.datetime
    resolution_min: int
    import_wh: np.ndarray
    export_wh: np.ndarray
    quality: np.ndarray
    has_import: bool = True
    has_export: bool = True
    export_quality: np.ndarray | None = None
    # The balanced series (prosumers' "po zbilansowaniu"): a direction is carried when its values are given,
    # with ``balanced_quality`` (fed-in side: ``export_balanced_quality`` if given); None = not in the block.
    import_balanced_wh: np.ndarray | None = None
    export_balanced_wh: np.ndarray | None = None
    balanced_quality: np.ndarray | None = None
    export_balanced_quality: np.ndarray | None = None

    @property
    def has_balanced(self) -> bool:
        return self.import_balanced_wh is not None or self.export_balanced_wh is not None


@dataclass(frozen=True)
class HourlyData:
    """Hourly meter data of a PPE chunk.

    ``present`` is the settlement's completeness rule: drawn energy present
    and, where fed-in energy is required for the PPE (``export_required`` of
    ``hourly_chunks``), fed-in energy present too. A PPE whose export is not
    required and was never imported counts 0 fed-in energy in those hours.
    """

    ppe_ids: list[int]
    hours: np.ndarray  # datetime64[s], UTC hour starts
    import_wh: np.ndarray  # int64 [n_ppe, n_hours]; 0 where not present
    export_wh: np.ndarray
    present: np.ndarray  # bool [n_ppe, n_hours]: complete by the rule above
    estimated: np.ndarray  # bool [n_ppe, n_hours]: present, and either direction estimated by the DSO
    import_present: np.ndarray  # bool [n_ppe, n_hours], drawn energy alone
    export_present: np.ndarray  # bool [n_ppe, n_hours], fed-in energy alone
    # bool [n_ppe, n_hours]: hours read from the balanced series (prosumer PPEs); None = none were
    balanced: np.ndarray | None = None


@dataclass
class _Day:
    resolution_min: int
    import_wh: np.ndarray
    export_wh: np.ndarray
    quality: np.ndarray  # drawn (A+)
    export_quality: np.ndarray  # fed in (A−)
    # balanced series: (drawn, fed in, drawn quality, fed-in quality), or None when the day has none
    balanced: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def whole(self) -> bool:
        """Every slot of both raw directions and both balanced directions known: nothing stored survives it."""
        arrays = (self.quality, self.export_quality, *(self.balanced[2:] if self.balanced is not None else ()))
        return self.balanced is not None and all(bool((q != Quality.MISSING).all()) for q in arrays)

    def balanced_or_empty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self.balanced is not None:
            return self.balanced
        n = len(self.quality)
        return (np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.uint8), np.zeros(n, np.uint8))


def _warsaw_offset(second: int) -> int:
    offset = dt.datetime.fromtimestamp(second, WARSAW).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return int(offset.total_seconds())


@functools.lru_cache(maxsize=256)
def _warsaw_year(year: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """Europe/Warsaw in the UTC ``year``, from zoneinfo: the offset at its first second and
    ``(UTC epoch second, new offset)`` for each change of offset during the year.

    Found day by day, then to the second by bisection: about 400 zoneinfo look-ups a year, once."""
    start = int(dt.datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    first = current = _warsaw_offset(start)
    changes: list[tuple[int, int]] = []
    t = start
    while t < end:
        nxt = min(t + 86400, end)
        if _warsaw_offset(nxt) == current:
            t = nxt
            continue
        lo, hi = t, nxt  # the offset at lo is ``current``; at hi it is not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _warsaw_offset(mid) == current else (lo, mid)
        current = _warsaw_offset(hi)
        changes.append((hi, current))
        t = hi
    return first, tuple(changes)


def warsaw_offsets(seconds: np.ndarray) -> np.ndarray:
    """UTC offset of Europe/Warsaw in seconds at each UTC epoch second (3600 or 7200 since 1996).

    Vectorised over a table of the offset changes of the years spanned, read from
    zoneinfo once per year (``_warsaw_year``); tests compare it with zoneinfo hour by hour.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    if not seconds.size:
        return np.full(seconds.shape, 3600, dtype=np.int64)
    first_year = dt.datetime.fromtimestamp(int(seconds.min()), UTC).year
    last_year = dt.datetime.fromtimestamp(int(seconds.max()), UTC).year
    offsets, _ = _warsaw_year(first_year)
    table = [offsets]
    bounds: list[int] = []
    for year in range(first_year, last_year + 1):
        for second, offset in _warsaw_year(year)[1]:
            bounds.append(second)
            table.append(offset)
    return np.asarray(table, dtype=np.int64)[np.searchsorted(np.asarray(bounds, dtype=np.int64), seconds, side="right")]


def local_dates(seconds: np.ndarray) -> np.ndarray:
    """Local (Europe/Warsaw) calendar date of each UTC epoch second, as datetime64[D]."""
    seconds = np.asarray(seconds, dtype=np.int64)
    return ((seconds + warsaw_offsets(seconds)) // 86400).astype("datetime64[D]")


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("start_utc must be timezone-aware")
    return value.astimezone(UTC)


def _quarters_to_hours(values: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quarter-hour slots ``[..., 96]`` of one direction as hours ``[..., 24]``.

    An hour is present only if all four quarters are, estimated if any is.
    """
    q = quality.reshape(*quality.shape[:-1], 24, 4)
    present = (q != Quality.MISSING).all(axis=-1)
    hourly_q = np.where(
        present, np.where((q == Quality.ESTIMATED).any(axis=-1), Quality.ESTIMATED, Quality.MEASURED), Quality.MISSING
    ).astype(np.uint8)
    return np.where(present, quarters_to_hours(values), 0), hourly_q


def _to_hourly(day: _Day) -> _Day:
    if day.resolution_min == 60:
        return day
    imp, imp_q = _quarters_to_hours(day.import_wh, day.quality)
    exp, exp_q = _quarters_to_hours(day.export_wh, day.export_quality)
    balanced = None
    if day.balanced is not None:
        b_imp, b_exp, b_q, b_eq = day.balanced
        b_imp, b_q = _quarters_to_hours(b_imp, b_q)
        b_exp, b_eq = _quarters_to_hours(b_exp, b_eq)
        balanced = (b_imp, b_exp, b_q, b_eq)
    return _Day(60, imp, exp, imp_q, exp_q, balanced)


_COLUMNS = ("ppe_id", "day", "resolution_min", "import_wh", "export_wh", "quality", "export_quality",
            "import_balanced_wh", "export_balanced_wh", "balanced_quality", "export_balanced_quality")
_KEY_BITS = 22  # day key = ppe_id << 22 | date ordinal (ordinals < 3,652,060 < 2**22)
_PG_EPOCH = dt.date(2000, 1, 1).toordinal()  # binary COPY dates count days from 2000-01-01
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_COPY_CHUNK_ROWS = 20_000  # ~9 MB of hourly rows per write: bounded memory, progress steps
_LOCK_KEY = 0x4F4B454D44  # pg_advisory_xact_lock: one meter-data writer at a time ("OKEMD")


@dataclass
class _Split:
    """A block padded to whole UTC days: ``[n_days, slots]`` arrays, day ``i`` is ordinal ``first + i``."""

    ppe_id: int
    resolution_min: int
    first: int
    import_wh: np.ndarray
    export_wh: np.ndarray
    quality: np.ndarray
    export_quality: np.ndarray
    carried: np.ndarray  # indices of the days the block carries any slot of
    full: np.ndarray  # bool per ``carried``: every slot of that day carried in both directions (balanced too, if any)
    # balanced series padded like the raw one ``(drawn, fed in, drawn quality, fed-in quality)``; None: not carried
    balanced: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def keys(self) -> np.ndarray:
        return (np.int64(self.ppe_id) << _KEY_BITS) + self.first + self.carried

    def day(self, i: int) -> tuple[tuple[int, dt.date], _Day]:
        key = (self.ppe_id, dt.date.fromordinal(self.first + int(i)))
        balanced = None if self.balanced is None else tuple(a[i] for a in self.balanced)
        return key, _Day(self.resolution_min, self.import_wh[i], self.export_wh[i], self.quality[i],
                         self.export_quality[i], balanced)


def max_block_days() -> int:
    """Longest block the store accepts, in UTC days: the meter-file period limit plus one.

    ``OKE_METER_FILE_MAX_DAYS`` bounds a file's period in local days; its UTC
    days can reach one more. Checked before any array is padded, so a file
    spanning centuries is refused without allocating for it.
    """
    return max_file_days() + 1


def _check_values(block: Block) -> None:
    """Every value of a carried direction within ``0 … max_wh_per_reading``: the store holds only
    readings whose sums cannot wrap int64, whichever path they came by (see ``max_wh_per_reading``)."""
    limit = max_wh_per_reading(block.resolution_min)
    directions = [(block.has_import, block.import_wh, "A+"), (block.has_export, block.export_wh, "A−")]
    for values, name in ((block.import_balanced_wh, "A+ po zbilansowaniu"), (block.export_balanced_wh, "A− po zbilansowaniu")):
        if values is not None:
            directions.append((True, values, name))
    for carried, values, name in directions:
        values = np.asarray(values)
        if not carried or not values.size:
            continue
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > limit:
            raise MeterStoreError(
                _("Wartość %(value)d Wh (%(dir)s) poza zakresem 0…%(limit)d Wh na odczyt %(res)d-minutowy.")
                % {"value": low if low < 0 else high, "dir": name, "limit": limit, "res": block.resolution_min}
            )


def _split(block: Block) -> _Split:
    """Pad a block to whole UTC days (no per-day Python work)."""
    res = block.resolution_min
    if res not in SLOTS_PER_DAY:
        raise MeterStoreError(f"Nieobsługiwana rozdzielczość {res} min (dozwolone 15 lub 60).")
    spd = SLOTS_PER_DAY[res]
    start = _as_utc(block.start_utc)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    offset_s = (start - midnight).total_seconds()
    if offset_s % (res * 60):
        raise MeterStoreError(f"Początek bloku {start:%Y-%m-%d %H:%M} UTC nie jest wyrównany do {res} min.")
    lead = int(offset_s // (res * 60))
    n = len(block.quality)
    if not (len(block.import_wh) == len(block.export_wh) == n):
        raise ValueError("import_wh, export_wh and quality must have the same length")
    if block.export_quality is not None and len(block.export_quality) != n:
        raise ValueError("export_quality must have the length of quality")
    n_days = -(-(lead + n) // spd)
    if n_days > max_block_days():
        raise MeterStoreError(
            _("Blok danych PPE %(ppe)s od %(start)s UTC obejmuje %(n)d dni — więcej niż dozwolone %(max)d.")
            % {"ppe": block.ppe_id, "start": f"{start:%Y-%m-%d %H:%M}", "n": n_days, "max": max_block_days()}
        )
    _check_values(block)
    size = n_days * spd

    def pad(values: np.ndarray, dtype: type, fill: int) -> np.ndarray:
        values = np.asarray(values, dtype=dtype)
        if lead == 0 and n == size:
            return values.reshape(n_days, spd)  # already whole days: a view, no copy
        out: np.ndarray = np.full(size, fill, dtype=dtype)
        out[lead : lead + n] = values
        return out.reshape(n_days, spd)

    def direction(carried: bool, values: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not carried:  # not in the block: no value, no quality (the stored slots win in _merge)
            return np.zeros((n_days, spd), dtype=np.int64), np.zeros((n_days, spd), dtype=np.uint8)
        return pad(values, np.int64, 0), pad(quality, np.uint8, Quality.MISSING)

    imp, imp_q = direction(block.has_import, block.import_wh, block.quality)
    exp_quality = block.quality if block.export_quality is None else block.export_quality
    if block.has_import and block.has_export and block.export_quality is None:
        exp, exp_q = pad(block.export_wh, np.int64, 0), imp_q  # one quality array for both (read-only below)
    else:
        exp, exp_q = direction(block.has_export, block.export_wh, exp_quality)
    carried_i, carried_e = imp_q != Quality.MISSING, exp_q != Quality.MISSING
    balanced = None
    any_carried = carried_i | carried_e
    if block.has_balanced:
        if block.balanced_quality is None or len(block.balanced_quality) != n:
            raise ValueError("balanced_quality must be given with the length of quality")
        b_eq_in = block.balanced_quality if block.export_balanced_quality is None else block.export_balanced_quality
        b_imp, b_q = direction(block.import_balanced_wh is not None,
                               block.import_balanced_wh if block.import_balanced_wh is not None else block.import_wh,
                               block.balanced_quality)
        b_exp, b_eq = direction(block.export_balanced_wh is not None,
                                block.export_balanced_wh if block.export_balanced_wh is not None else block.export_wh,
                                b_eq_in)
        balanced = (b_imp, b_exp, b_q, b_eq)
        carried_bi, carried_be = b_q != Quality.MISSING, b_eq != Quality.MISSING
        any_carried = any_carried | carried_bi | carried_be
    days = np.flatnonzero(any_carried.any(axis=1))
    full = (carried_i[days] & carried_e[days]).all(axis=1)
    if balanced is not None:
        full &= (carried_bi[days] & carried_be[days]).all(axis=1)
    return _Split(block.ppe_id, res, midnight.date().toordinal(), imp, exp, imp_q, exp_q, days, full, balanced)


def _merge(old: _Day, new: _Day) -> _Day:
    """Overlay ``new`` on ``old``: the slots ``new`` carries win, each direction on its own."""
    if old.resolution_min != new.resolution_min:
        if new.resolution_min == 15:
            for quality in (new.quality, new.export_quality, *(new.balanced[2:] if new.balanced is not None else ())):
                q = quality.reshape(24, 4) != Quality.MISSING
                if (q.any(axis=1) & ~q.all(axis=1)).any():
                    raise MeterStoreError(
                        "Dane 15-minutowe obejmują tylko część godziny w dniu zapisanym godzinowo — "
                        "nie można ich połączyć (zaimportuj pełne godziny albo cały dzień)."
                    )
        old, new = _to_hourly(old), _to_hourly(new)
    carried_i = new.quality != Quality.MISSING
    carried_e = new.export_quality != Quality.MISSING
    balanced = None
    if new.balanced is None:
        balanced = old.balanced  # a block without the balanced series leaves it as stored
    elif old.balanced is None:
        balanced = new.balanced
    else:
        (o_imp, o_exp, o_q, o_eq), (n_imp, n_exp, n_q, n_eq) = old.balanced, new.balanced
        b_i, b_e = n_q != Quality.MISSING, n_eq != Quality.MISSING
        balanced = (np.where(b_i, n_imp, o_imp), np.where(b_e, n_exp, o_exp),
                    np.where(b_i, n_q, o_q).astype(np.uint8), np.where(b_e, n_eq, o_eq).astype(np.uint8))
    return _Day(
        new.resolution_min,
        np.where(carried_i, new.import_wh, old.import_wh),
        np.where(carried_e, new.export_wh, old.export_wh),
        np.where(carried_i, new.quality, old.quality).astype(np.uint8),
        np.where(carried_e, new.export_quality, old.export_quality).astype(np.uint8),
        balanced,
    )


def _unpack(row: tuple) -> _Day:
    res, imp, exp, qual, exp_qual, b_imp, b_exp, b_qual, b_exp_qual = row
    balanced = None
    if b_qual:  # empty bytes: the day has no balanced series
        balanced = (np.frombuffer(b_imp, dtype="<i8"), np.frombuffer(b_exp, dtype="<i8"),
                    np.frombuffer(b_qual, dtype=np.uint8), np.frombuffer(b_exp_qual, dtype=np.uint8))
    return _Day(
        res,
        np.frombuffer(imp, dtype="<i8"),
        np.frombuffer(exp, dtype="<i8"),
        np.frombuffer(qual, dtype=np.uint8),
        np.frombuffer(exp_qual, dtype=np.uint8),
        balanced,
    )


@dataclass
class _Rows:
    """Day rows of one resolution to write: ``keys`` and ``[n, slots]`` arrays."""

    resolution_min: int
    keys: np.ndarray
    import_wh: np.ndarray
    export_wh: np.ndarray
    quality: np.ndarray
    export_quality: np.ndarray
    # ``[n, slots]`` balanced drawn, fed in and their qualities; None: the rows have no balanced series
    balanced: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.keys, self.import_wh, self.export_wh, self.quality, self.export_quality,
                *(self.balanced if self.balanced is not None else ()))

    def part(self, a: int, b: int) -> _Rows:
        balanced = None if self.balanced is None else tuple(x[a:b] for x in self.balanced)
        return _Rows(self.resolution_min, self.keys[a:b], self.import_wh[a:b], self.export_wh[a:b], self.quality[a:b],
                     self.export_quality[a:b], balanced)  # type: ignore[arg-type]

    def tuples(self) -> Iterator[tuple]:
        ppe, day = self.keys >> _KEY_BITS, self.keys & ((1 << _KEY_BITS) - 1)
        for i in range(len(self.keys)):
            balanced = (b"", b"", b"", b"") if self.balanced is None else tuple(x[i].tobytes() for x in self.balanced)
            yield (int(ppe[i]), dt.date.fromordinal(int(day[i])), self.resolution_min, self.import_wh[i].tobytes(),
                   self.export_wh[i].tobytes(), self.quality[i].tobytes(), self.export_quality[i].tobytes(), *balanced)

    def copy_binary(self) -> bytes:
        """The rows as PostgreSQL binary COPY tuples (columns ``_COLUMNS``), built with one structured array.

        Rows without the balanced series carry its four columns as empty byte strings (length 0)."""
        spd = SLOTS_PER_DAY[self.resolution_min]
        bspd = spd if self.balanced is not None else 0
        fields = [("n", ">i2"), ("l1", ">i4"), ("ppe", ">i8"), ("l2", ">i4"), ("day", ">i4"), ("l3", ">i4"),
                  ("res", ">i2"), ("l4", ">i4"), ("imp", "<i8", (spd,)), ("l5", ">i4"), ("exp", "<i8", (spd,)),
                  ("l6", ">i4"), ("qual", "u1", (spd,)), ("l7", ">i4"), ("equal", "u1", (spd,)),
                  ("l8", ">i4"), ("bimp", "<i8", (bspd,)), ("l9", ">i4"), ("bexp", "<i8", (bspd,)),
                  ("l10", ">i4"), ("bqual", "u1", (bspd,)), ("l11", ">i4"), ("bequal", "u1", (bspd,))]
        out = np.empty(len(self.keys), dtype=np.dtype(fields))
        for name, value in (("n", len(_COLUMNS)), ("l1", 8), ("l2", 4), ("l3", 2), ("l4", 8 * spd), ("l5", 8 * spd),
                            ("l6", spd), ("l7", spd), ("res", self.resolution_min), ("l8", 8 * bspd),
                            ("l9", 8 * bspd), ("l10", bspd), ("l11", bspd)):
            out[name] = value
        out["ppe"] = self.keys >> _KEY_BITS
        out["day"] = (self.keys & ((1 << _KEY_BITS) - 1)) - _PG_EPOCH
        out["imp"], out["exp"], out["qual"], out["equal"] = self.import_wh, self.export_wh, self.quality, self.export_quality
        if self.balanced is not None:
            out["bimp"], out["bexp"], out["bqual"], out["bequal"] = self.balanced
        return out.tobytes()


def _rows_to_write(splits: list[_Split]) -> list[_Rows]:
    """Every day row the blocks produce, merged with what is stored where a block covers a day partly.

    A day carried whole by exactly one block is taken as it is: no read, no
    per-day Python (that is every day of a file but the edges). Days carried
    partly, or by several blocks, are merged in block order and, unless that
    makes them whole, with the stored row (the only rows ever read).
    """
    key_parts = [s.keys() for s in splits]
    all_keys = np.concatenate(key_parts) if key_parts else np.empty(0, np.int64)
    unique, counts = np.unique(all_keys, return_counts=True)
    shared = unique[counts > 1]
    # Whole days of blocks without the balanced series keep a balanced series stored for them: those few
    # days go through the merge below (one indexed query finds them; none for a cluster without prosumers).
    no_balanced = [keys[s.full] for s, keys in zip(splits, key_parts, strict=True) if s.balanced is None]
    keep_balanced = _stored_balanced_keys(np.concatenate(no_balanced)) if no_balanced else np.empty(0, np.int64)
    direct: dict[tuple[int, bool], list[tuple[np.ndarray, ...]]] = {}
    days: dict[tuple[int, dt.date], _Day] = {}
    partial_keys: set[tuple[int, dt.date]] = set()
    for s, keys in zip(splits, key_parts, strict=True):
        alone = s.full & ~np.isin(keys, shared) if len(shared) else s.full
        if s.balanced is None and len(keep_balanced):
            alone &= ~np.isin(keys, keep_balanced)
        rows = s.carried[alone]
        if len(rows):
            balanced = () if s.balanced is None else tuple(x[rows] for x in s.balanced)
            direct.setdefault((s.resolution_min, s.balanced is not None), []).append(
                (keys[alone], s.import_wh[rows], s.export_wh[rows], s.quality[rows], s.export_quality[rows], *balanced))
        for i in s.carried[~alone].tolist():
            key, slots = s.day(i)
            if key in days:
                slots = _merge(days[key], slots)
            days[key] = slots
            if slots.whole():
                partial_keys.discard(key)
            else:
                partial_keys.add(key)
    # Days not fully carried by the blocks are merged with what is stored.
    partial = sorted(partial_keys)
    for i in range(0, len(partial), 500):
        chunk = partial[i : i + 500]
        wanted = set(chunk)
        stored = MeterDay.objects.filter(
            ppe_id__in={p for p, _ in chunk}, day__in={d for _, d in chunk}
        ).values_list(*_COLUMNS)
        for ppe_id, day, *row in stored:
            if (ppe_id, day) in wanted:
                days[(ppe_id, day)] = _merge(_unpack(tuple(row)), days[(ppe_id, day)])
    for (ppe_id, day), merged in days.items():
        day_key = np.array([(ppe_id << _KEY_BITS) + day.toordinal()], dtype=np.int64)
        has_balanced = merged.balanced is not None and any(bool((q != Quality.MISSING).any()) for q in merged.balanced[2:])
        balanced = tuple(x[None] for x in merged.balanced) if has_balanced else ()  # type: ignore[union-attr]
        direct.setdefault((merged.resolution_min, has_balanced), []).append(
            (day_key, merged.import_wh[None], merged.export_wh[None], merged.quality[None], merged.export_quality[None],
             *balanced))
    out = []
    for (res, has_balanced), parts in sorted(direct.items()):
        # merged single days are concatenated in runs so the arrays stay few and large
        columns = [np.concatenate([p[j] for p in parts]) for j in range(9 if has_balanced else 5)]
        balanced_columns = (columns[5], columns[6], columns[7], columns[8]) if has_balanced else None
        out.append(_Rows(res, columns[0], columns[1], columns[2], columns[3], columns[4], balanced_columns))
    return out


def _stored_balanced_keys(keys: np.ndarray) -> np.ndarray:
    """Those of the day ``keys`` whose stored row holds a balanced series (sorted day keys)."""
    if not len(keys):
        return np.empty(0, np.int64)
    ppe_ids, lo, hi = _key_ranges(keys)
    table = connection.ops.quote_name(MeterDay._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT m.ppe_id, m.day FROM {table} AS m JOIN unnest(%s::bigint[], %s::date[], %s::date[])"
                " AS r(ppe_id, lo, hi) ON m.ppe_id = r.ppe_id AND m.day BETWEEN r.lo AND r.hi"
                " WHERE m.balanced_quality > '\\x'::bytea",  # the predicate of the partial index meterday_balanced_days
                [ppe_ids, lo, hi],
            )
            found = cursor.fetchall()
        else:
            found = []
            for a in range(0, len(ppe_ids), 300):
                ranges = list(zip(ppe_ids[a : a + 300], lo[a : a + 300], hi[a : a + 300], strict=True))
                where = " OR ".join(["(ppe_id = %s AND day BETWEEN %s AND %s)"] * len(ranges))
                cursor.execute(
                    f"SELECT ppe_id, day FROM {table} WHERE balanced_quality > X'' AND ({where})",
                    [v for r in ranges for v in r],
                )
                found += cursor.fetchall()
    day_of = (lambda d: d) if not found or isinstance(found[0][1], dt.date) else dt.date.fromisoformat
    return np.sort(np.array([(int(p) << _KEY_BITS) + day_of(d).toordinal() for p, d in found], dtype=np.int64))


def _key_ranges(keys: np.ndarray) -> tuple[list[int], list[dt.date], list[dt.date]]:
    """Sorted unique day keys as runs of consecutive days per PPE: ``(ppe_ids, first days, last days)``."""
    if not len(keys):
        return [], [], []
    if not (keys[1:] > keys[:-1]).all():  # the blocks' keys usually come sorted: skip the sort then
        keys = np.unique(keys)
    breaks = np.flatnonzero(np.diff(keys) != 1) + 1  # next PPE or a gap: ppe_id is in the high bits
    lo, hi = keys[np.r_[0, breaks]], keys[np.r_[breaks - 1, len(keys) - 1]]
    mask = (1 << _KEY_BITS) - 1
    return (
        (lo >> _KEY_BITS).tolist(),
        [dt.date.fromordinal(d) for d in (lo & mask).tolist()],
        [dt.date.fromordinal(d) for d in (hi & mask).tolist()],
    )


def _write_postgresql(groups: list[_Rows], on_progress: Callable[[float], None] | None) -> None:
    """Replace the day rows: ``DELETE`` the written (PPE, day) runs, then one binary ``COPY`` into the table.

    Every row written is the day's final content (partly covered days were
    merged above), so no stored row needs to survive. Measured for a year of
    1,000 PPEs (366,000 rows, 2 shared cores): the file import saves in ~6 s
    (empty) / 8–11 s (replacing) instead of ~11.5 s / ~11.3 s with the former
    ``COPY`` into a temporary table + ``INSERT … ON CONFLICT DO UPDATE`` in
    2,000-row batches (client and server took turns; the update path costs
    the server more than delete + insert). The rows are packed with one
    structured array per chunk, not per-row ``write_row`` (~2.5 s CPU saved).
    ``synchronous_commit`` is left alone: it only skips the one WAL flush at
    commit of this single transaction. The caller holds ``meter_store_lock``.
    """
    table = connection.ops.quote_name(MeterDay._meta.db_table)
    total = sum(len(g) for g in groups)
    with connection.cursor() as cursor:
        ppe_ids, lo, hi = _key_ranges(np.concatenate([g.keys for g in groups]))
        cursor.execute(
            f"DELETE FROM {table} AS m USING unnest(%s::bigint[], %s::date[], %s::date[]) AS r(ppe_id, lo, hi)"
            " WHERE m.ppe_id = r.ppe_id AND m.day BETWEEN r.lo AND r.hi",
            [ppe_ids, lo, hi],
        )
        done = 0
        with cursor.cursor.copy(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_COPY_SIGNATURE)
            for g in groups:
                for a in range(0, len(g), _COPY_CHUNK_ROWS):
                    part = g.part(a, a + _COPY_CHUNK_ROWS)
                    copy.write(part.copy_binary())
                    done += len(part)
                    if on_progress is not None:
                        on_progress(done / total)
            copy.write(b"\xff\xff")


def _write_sqlite(groups: list[_Rows], on_progress: Callable[[float], None] | None) -> None:
    """``INSERT … ON CONFLICT (ppe_id, day) DO UPDATE`` in batches of ``BATCH_ROWS`` (14,000 parameters)."""
    table = connection.ops.quote_name(MeterDay._meta.db_table)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
    total, done = sum(len(g) for g in groups), 0
    with connection.cursor() as cursor:
        for g in groups:
            rows = g.tuples()
            while batch := [value for row in itertools.islice(rows, BATCH_ROWS) for value in row]:
                n = len(batch) // len(_COLUMNS)
                values = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * n)
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {values}"
                    f" ON CONFLICT (ppe_id, day) DO UPDATE SET {updates}",
                    batch,
                )
                done += n
                if on_progress is not None:
                    on_progress(done / total)


def meter_store_lock() -> None:
    """Make the current transaction the only meter-data writer until it ends.

    Call it first in the transaction, before anything is read: two imports
    touching the same UTC day (a February and a March file share the last
    local day of February) must not both read a partly covered day and then
    write their own merge, losing the other's readings. PostgreSQL: a
    transaction-level advisory lock (re-entrant; released at commit or
    rollback). SQLite has one writer per database: a write statement that
    changes nothing takes its RESERVED lock now instead of at the first real
    write, so a second writer waits (busy timeout) before it reads.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("meter_store_lock() must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        else:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(MeterDay._meta.db_table)} WHERE 0 = 1")


@transaction.atomic
def meter_blocks_upsert(
    *, blocks: Iterable[Block], on_progress: Callable[[float], None] | None = None
) -> int:
    """Merge blocks into the day rows; returns the number of day rows written.

    Takes ``meter_store_lock`` before reading anything. Full days (every
    slot of both directions carried) are written without reading; partly
    covered days, and days of a block carrying one direction, are read and
    merged. PostgreSQL: the written days are deleted and the rows copied in
    (``_write_postgresql``); SQLite: ``INSERT … ON CONFLICT (ppe_id, day) DO UPDATE``.
    Raises ``MeterStoreError`` for a block longer than ``max_block_days`` or
    a value outside ``0 … max_wh_per_reading``.
    """
    meter_store_lock()
    splits = [_split(block) for block in blocks]
    groups = _rows_to_write(splits)
    total = sum(len(g) for g in groups)
    if total:
        (_write_postgresql if connection.vendor == "postgresql" else _write_sqlite)(groups, on_progress)
        # Figures cached from meter data (dashboard status, completeness) are recomputed, whoever wrote.
        ppe_ids = {split.ppe_id for split in splits}
        conditions_invalidate(
            cluster_ids=MeteringPoint.objects.filter(pk__in=ppe_ids).values_list("cluster_id", flat=True).distinct()
        )
    if on_progress is not None:
        on_progress(1.0)
    return total


def meter_days_upsert(
    *,
    ppe_id: int,
    start_utc: dt.datetime,
    resolution_min: int,
    import_wh: Sequence[int] | np.ndarray,
    export_wh: Sequence[int] | np.ndarray,
    quality: Sequence[int] | np.ndarray,
    has_import: bool = True,
    has_export: bool = True,
) -> int:
    """Merge one contiguous block into the day rows (see ``meter_blocks_upsert``)."""
    block = Block(
        ppe_id=ppe_id,
        start_utc=start_utc,
        resolution_min=resolution_min,
        import_wh=np.asarray(import_wh, dtype=np.int64),
        export_wh=np.asarray(export_wh, dtype=np.int64),
        quality=np.asarray(quality, dtype=np.uint8),
        has_import=has_import,
        has_export=has_export,
    )
    return meter_blocks_upsert(blocks=[block])


# row, day offset, resolution (int64 arrays), then imports, exports, qualities, export qualities (bytes)
_Fetched = tuple[np.ndarray, np.ndarray, np.ndarray, bytes, bytes, bytes, bytes]


def _fetch(ids: list[int], first_day: dt.date, last_day: dt.date, *, balanced: bool = False) -> _Fetched | None:
    """Stored days of ``ids``: ``(row, day_offset, resolution, imports, exports, qualities, export qualities)``.

    ``row`` indexes ``ids``; the three byte strings are the day rows' arrays
    concatenated in the same order. On PostgreSQL the server concatenates
    them per PPE (``string_agg``; no ORDER BY: every aggregate of a group sees
    the rows in the same order, and the day offsets come along), so Python
    handles one row per PPE instead of one per day (a year of 1,000 PPEs:
    1.1 s wall / 0.2 s CPU instead of 1.7 s / 0.5 s for the day rows).

    ``balanced``: the balanced series instead of the raw one, from the days that hold one.
    """
    index = {ppe_id: i for i, ppe_id in enumerate(ids)}
    table = connection.ops.quote_name(MeterDay._meta.db_table)
    names = _COLUMNS[7:] if balanced else _COLUMNS[3:7]
    only = " AND octet_length(balanced_quality) > 0" if balanced else ""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        sql = (
            "SELECT ppe_id, string_agg(int4send(day - %s::date), ''::bytea),"
            " string_agg(int2send(resolution_min::int2), ''::bytea)"
            + "".join(f", string_agg({name}, ''::bytea)" for name in names)
            + f" FROM {table} WHERE ppe_id = ANY(%s) AND day >= %s AND day <= %s{only} GROUP BY ppe_id"
        )
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, [first_day, ids, first_day, last_day], binary=True)
            groups = cursor.fetchall()
        if not groups:
            return None
        days = [np.frombuffer(g[1], dtype=">i4") for g in groups]
        return (
            np.repeat(np.array([index[g[0]] for g in groups], dtype=np.int64), [len(d) for d in days]),
            np.concatenate(days).astype(np.int64),
            np.frombuffer(b"".join(g[2] for g in groups), dtype=">i2").astype(np.int64),
            b"".join(g[3] for g in groups),
            b"".join(g[4] for g in groups),
            b"".join(g[5] for g in groups),
            b"".join(g[6] for g in groups),
        )
    queryset = MeterDay.objects.filter(ppe_id__in=ids, day__gte=first_day, day__lte=last_day)
    if balanced:
        queryset = queryset.alias(balanced_bytes=Length("balanced_quality")).filter(balanced_bytes__gt=0)
    rows = list(queryset.values_list(*_COLUMNS[:3], *names).iterator(chunk_size=20_000))
    if not rows:
        return None
    return (
        np.array([index[r[0]] for r in rows], dtype=np.int64),
        np.array([(r[1] - first_day).days for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.int64),
        b"".join(r[3] for r in rows),
        b"".join(r[4] for r in rows),
        b"".join(r[5] for r in rows),
        b"".join(r[6] for r in rows),
    )


def _hourly_slots(res: np.ndarray, raw_imp: bytes, raw_exp: bytes, raw_qual: bytes,
                  raw_exp_qual: bytes) -> tuple[np.ndarray, ...]:
    """Day rows of mixed resolution as hourly ``[n_days, 24]`` import, export and their qualities.

    15-minute days are summed to hours, each direction on its own: an hour is
    present only if all its quarters are, and estimated if any quarter is.
    Absent hours hold 0.
    """
    arrays = (np.frombuffer(raw_imp, dtype="<i8"), np.frombuffer(raw_exp, dtype="<i8"),
              np.frombuffer(raw_qual, dtype=np.uint8), np.frombuffer(raw_exp_qual, dtype=np.uint8))
    hourly = res == 60
    if hourly.all():
        return tuple(a.reshape(-1, 24) for a in arrays)
    imp, exp, qual, exp_qual = arrays
    spd = np.where(hourly, 24, 96)
    offset = np.concatenate(([0], np.cumsum(spd)[:-1]))
    out_imp = np.empty((len(res), 24), dtype=np.int64)
    out_exp = np.empty((len(res), 24), dtype=np.int64)
    out_qual = np.empty((len(res), 24), dtype=np.uint8)
    out_exp_qual = np.empty((len(res), 24), dtype=np.uint8)
    h = np.nonzero(hourly)[0]
    idx = offset[h, None] + np.arange(24)
    out_imp[h], out_exp[h], out_qual[h], out_exp_qual[h] = imp[idx], exp[idx], qual[idx], exp_qual[idx]
    q = np.nonzero(~hourly)[0]
    idx = offset[q, None] + np.arange(96)
    out_imp[q], out_qual[q] = _quarters_to_hours(imp[idx], qual[idx])
    out_exp[q], out_exp_qual[q] = _quarters_to_hours(exp[idx], exp_qual[idx])
    return out_imp, out_exp, out_qual, out_exp_qual


def _period(start_utc: dt.datetime, end_utc: dt.datetime) -> tuple[dt.datetime, dt.date, int, int, int]:
    """``(start, first_day, n_days, offset, n_hours)`` of ``[start_utc, end_utc)`` in whole UTC hours."""
    start = _as_utc(start_utc).replace(minute=0, second=0, microsecond=0)
    end = _as_utc(end_utc)
    if end.minute or end.second or end.microsecond:
        end = end.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    first_day, last_day = start.date(), (end - dt.timedelta(microseconds=1)).date()
    n_days = max((last_day - first_day).days + 1, 0)
    offset = int((start - dt.datetime.combine(first_day, dt.time(), UTC)).total_seconds() // 3600)
    n_hours = max(int((end - start).total_seconds() // 3600), 0)
    return start, first_day, n_days, offset, n_hours


def hourly_chunks(
    *,
    ppe_ids: Sequence[int],
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    chunk_ppes: int = 128,
    export_required: Sequence[bool] | np.ndarray | None = None,
    balanced: Mapping[int, np.ndarray] | None = None,
) -> Iterator[HourlyData]:
    """``hourly_matrix`` for consecutive slices of ``chunk_ppes`` PPEs, one query each.

    A year of 10,000 PPEs never has to be held at once (int64 import and export
    alone would take 1.4 GB); 128 PPEs × a year is ~20 MB per chunk.
    ``export_required`` (one bool per PPE, default all True) says whose
    fed-in energy must be present for an hour to count as present
    (``ppe_export_required`` in reports.metering.selectors).
    ``balanced`` maps a PPE's index in ``ppe_ids`` to a bool per hour: in those hours both
    directions and their presence come from the balanced series ("po zbilansowaniu",
    the prosumer regimes); an hour without balanced data is missing, never filled from
    the raw series. ``HourlyData.balanced`` marks them.
    """
    start, first_day, n_days, offset, n_hours = _period(start_utc, end_utc)
    last_day = first_day + dt.timedelta(days=n_days - 1)
    hours = np.datetime64(start.replace(tzinfo=None), "s") + np.arange(n_hours) * np.timedelta64(3600, "s")
    ids = list(ppe_ids)
    required = np.ones(len(ids), dtype=bool) if export_required is None else np.asarray(export_required, dtype=bool)
    if required.shape != (len(ids),):
        raise ValueError("export_required needs one value per PPE")
    sl = slice(offset, offset + n_hours)
    step = max(chunk_ppes, 1)
    for a in range(0, len(ids), step):
        chunk = ids[a : a + step]
        flat = (len(chunk), n_days * 24)
        imp, exp, qual, exp_qual = _day_arrays(chunk, first_day, last_day, n_days)
        mask = None
        prosumers = sorted(i - a for i in (balanced or {}) if a <= i < a + len(chunk))
        if prosumers:
            mask = np.zeros((len(chunk), n_hours), dtype=bool)
            for r in prosumers:
                mask[r] = balanced[a + r]  # type: ignore[index]
            picked = [chunk[r] for r in prosumers]
            b_imp, b_exp, b_qual, b_exp_qual = _day_arrays(picked, first_day, last_day, n_days, balanced=True)
            pad = np.zeros((len(chunk), n_days * 24), dtype=bool)
            pad[:, sl] = mask
            sel = pad[prosumers].reshape(len(prosumers), n_days, 24)
            for out, values in ((imp, b_imp), (exp, b_exp), (qual, b_qual), (exp_qual, b_exp_qual)):
                out[prosumers] = np.where(sel, values, out[prosumers])
        qual_h = qual.reshape(flat)[:, sl]
        exp_qual_h = exp_qual.reshape(flat)[:, sl]
        import_present = qual_h != Quality.MISSING
        export_present = exp_qual_h != Quality.MISSING
        present = import_present & (export_present | ~required[a : a + len(chunk), None])
        yield HourlyData(
            ppe_ids=chunk,
            hours=hours,
            import_wh=imp.reshape(flat)[:, sl],
            export_wh=exp.reshape(flat)[:, sl],
            present=present,
            estimated=present & ((qual_h == Quality.ESTIMATED) | (exp_qual_h == Quality.ESTIMATED)),
            import_present=import_present,
            export_present=export_present,
            balanced=mask,
        )


def _day_arrays(
    ids: list[int], first_day: dt.date, last_day: dt.date, n_days: int, *, balanced: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hourly ``[n, n_days, 24]`` drawn, fed in (0 where absent) and their qualities of ``ids`` (raw or balanced)."""
    imp = np.zeros((len(ids), n_days, 24), dtype=np.int64)
    exp = np.zeros((len(ids), n_days, 24), dtype=np.int64)
    qual = np.zeros((len(ids), n_days, 24), dtype=np.uint8)
    exp_qual = np.zeros((len(ids), n_days, 24), dtype=np.uint8)
    fetched = _fetch(ids, first_day, last_day, balanced=balanced) if n_days else None
    if fetched is not None:
        rows, day_offsets, res = fetched[:3]
        if not np.isin(res, list(SLOTS_PER_DAY)).all():
            raise MeterStoreError("Nieobsługiwana rozdzielczość zapisanych danych.")
        gi, ge, gq, geq = _hourly_slots(res, *fetched[3:])
        imp[rows, day_offsets] = np.where(gq != Quality.MISSING, gi, 0)
        exp[rows, day_offsets] = np.where(geq != Quality.MISSING, ge, 0)
        qual[rows, day_offsets] = gq
        exp_qual[rows, day_offsets] = geq
    return imp, exp, qual, exp_qual


def hourly_matrix(
    *,
    ppe_ids: Sequence[int],
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    export_required: Sequence[bool] | np.ndarray | None = None,
    balanced: Mapping[int, np.ndarray] | None = None,
) -> HourlyData:
    """Hourly A+/A− for ``ppe_ids`` over ``[start_utc, end_utc)`` (whole UTC hours).

    15-minute days are summed to hours: an hour is present only if all its
    quarters are, and estimated if any quarter is. Absent hours hold 0.
    ``present`` follows the completeness rule of ``HourlyData``; ``balanced`` as in ``hourly_chunks``.
    """
    ids = list(ppe_ids)
    start, _, _, _, n_hours = _period(start_utc, end_utc)
    shape = (len(ids), n_hours)
    imp = np.zeros(shape, dtype=np.int64)
    exp = np.zeros(shape, dtype=np.int64)
    flags = [np.zeros(shape, dtype=bool) for _ in range(5)]
    hours = np.datetime64(start.replace(tzinfo=None), "s") + np.arange(n_hours) * np.timedelta64(3600, "s")
    a = 0
    for part in hourly_chunks(ppe_ids=ids, start_utc=start_utc, end_utc=end_utc, export_required=export_required,
                              balanced=balanced):
        b = a + len(part.ppe_ids)
        imp[a:b], exp[a:b] = part.import_wh, part.export_wh
        values = (part.present, part.estimated, part.import_present, part.export_present, part.balanced)
        for out, value in zip(flags, values, strict=True):
            if value is not None:
                out[a:b] = value
        hours = part.hours
        a = b
    present, estimated, import_present, export_present, from_balanced = flags
    return HourlyData(ppe_ids=ids, hours=hours, import_wh=imp, export_wh=exp, present=present, estimated=estimated,
                      import_present=import_present, export_present=export_present,
                      balanced=from_balanced if balanced else None)
