"""Whole-file checks of the generic CSV, kept across chunks while the file streams.

Per PPE: the period (first line outside ``OKE_METER_FILE_MAX_DAYS`` is refused
before anything per day is allocated), duplicate intervals, and the resolution of
each UTC day. A day is 15-minute when a start in it is off the whole hour, hourly
when two whole hours follow each other with no quarter between them, and mixed
(refused, naming a line) when both hold. A day with neither yet (e.g. its single
first row at the end of a chunk) is held back until a later chunk decides it; at
the end of the file such days are hourly.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.utils.translation import gettext_noop

from okeportal.messages import MsgStr, msg, msg_str

from .common import (
    MAX_ERRORS,
    MAX_PPES_PER_FILE,
    ParseResult,
    RowError,
    Series,
    iso_utc,
    max_file_days,
    max_wh_per_reading,
)

UNDECIDED, MIXED = 0, -1
_INT_MAX = np.iinfo(np.int64).max
_INT_MIN = np.iinfo(np.int64).min
_NO_LINE = np.iinfo(np.int32).max


def too_big_message(value: str, resolution_min: int) -> MsgStr:
    limit = max_wh_per_reading(resolution_min) / 1000
    return msg_str(gettext_noop(
        "Wartość %(v)s kWh przekracza dopuszczalne %(max)s kWh dla jednego odczytu %(res)s-minutowego."
    ), v=value, max=f"{limit:g}", res=resolution_min)


_HOURS = np.uint64(0x1111111111111111)  # bit 4h of a day word: the whole-hour quarter of hour h


def _day_kinds(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For days given as two uint64 words of seen quarters (bit q = quarter q of the day):
    does a start off the whole hour occur, and do two whole hours follow each other with
    no quarter of the first between them. Bit arithmetic, so no per-quarter arrays."""
    w0, w1 = words[:, 0], words[:, 1]
    hours0, hours1 = w0 & _HOURS, w1 & _HOURS
    # bit 4h: any of the quarters 4h+1..4h+3 seen
    odd0 = ((w0 >> np.uint64(1)) | (w0 >> np.uint64(2)) | (w0 >> np.uint64(3))) & _HOURS
    odd1 = ((w1 >> np.uint64(1)) | (w1 >> np.uint64(2)) | (w1 >> np.uint64(3))) & _HOURS
    has_quarter = (odd0 | odd1) != 0
    pair = ((hours0 & (hours0 >> np.uint64(4)) & ~odd0) | (hours1 & (hours1 >> np.uint64(4)) & ~odd1)) != 0
    # hour 15 (bit 60 of the first word) and hour 16 (bit 0 of the second)
    pair |= ((hours0 >> np.uint64(60)) & hours1 & ~(odd0 >> np.uint64(60)) & np.uint64(1)) != 0
    return has_quarter, pair


class Assembler:
    """Turns the rows of each chunk into sorted per-PPE, per-resolution series, checking the whole file."""

    def __init__(
        self, *, codes: list[str], fields: tuple[str, str, str], has_import: bool = True, has_export: bool = True,
        balanced: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.codes = codes  # global PPE codes, index = PPE id (the parser appends)
        self.fields = fields  # names of the start, import and export columns, for messages
        self.has_import, self.has_export = has_import, has_export
        # the balanced columns the file has (rows then carry "bimp", "bexp", "bqual")
        self.balanced = tuple(balanced)
        self.window = max_file_days()
        self.ndays = 2 * self.window + 1  # any accepted start lies within ``window`` days of the PPE's first one
        self.capacity = 0
        self.lo = np.empty(0, np.int64)
        self.hi = np.empty(0, np.int64)
        self.base = np.empty(0, np.int64)  # day number of day slot 0
        self.failed = np.empty(0, bool)
        self.seen = np.empty((0, self.ndays, 2), np.uint64)  # bit q of the day: quarter q (0–95) seen
        self.day_res = np.empty((0, self.ndays), np.int8)
        self.day_line = np.empty((0, self.ndays, 2), np.int32)  # first line: [whole-hour start, quarter start]
        self.held: dict[str, np.ndarray] | None = None
        self.bad = False

    def _grow(self, n: int) -> None:
        if n <= self.capacity:
            return
        new = min(max(n, 2 * self.capacity, 16), max(n, MAX_PPES_PER_FILE))
        extra = new - self.capacity

        def grown(array: np.ndarray, fill: int | bool) -> np.ndarray:
            return np.concatenate([array, np.full((extra, *array.shape[1:]), fill, dtype=array.dtype)])

        self.lo, self.hi = grown(self.lo, _INT_MAX), grown(self.hi, _INT_MIN)
        self.base, self.failed = grown(self.base, 0), grown(self.failed, False)
        self.seen, self.day_res = grown(self.seen, 0), grown(self.day_res, UNDECIDED)
        self.day_line = grown(self.day_line, _NO_LINE)
        self.capacity = new

    def add(self, result: ParseResult, rows: dict[str, np.ndarray]) -> None:
        """Check the valid rows of one chunk (file order) and append the decided series to ``result``."""
        self.bad |= result.error_count > 0
        if len(rows["line"]):
            self._grow(len(self.codes))
            keep = self._span(result, rows)
            keep &= ~self._duplicates(result, rows, keep)
            rows = {k: v[keep] for k, v in rows.items()}
            self._remember(rows)
        self._decide(result, rows)

    def finish(self, result: ParseResult) -> None:
        """End of file: held days (only unrelated whole hours) are hourly."""
        held, self.held = self.held, None
        if held is not None and len(held["line"]):
            self._emit(result, held, np.full(len(held["line"]), 60, np.int64))

    def _error(self, result: ParseResult, error: RowError) -> None:
        self.bad = True
        result.add(error)

    def _span(self, result: ParseResult, rows: dict[str, np.ndarray]) -> np.ndarray:
        ppe, starts, line = rows["ppe"], rows["starts"], rows["line"]
        keep = np.ones(len(line), bool)
        order = np.argsort(ppe, kind="stable")
        cuts = np.flatnonzero(np.diff(ppe[order])) + 1
        limit = self.window * 86400
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True):
            idx = order[a:b]
            pid = int(ppe[idx[0]])
            if self.failed[pid]:
                keep[idx] = False
                continue
            s = starts[idx]
            if self.lo[pid] > self.hi[pid]:
                self.base[pid] = int(s[0]) // 86400 - self.window
            low = np.minimum.accumulate(np.r_[self.lo[pid], s])[1:]
            high = np.maximum.accumulate(np.r_[self.hi[pid], s])[1:]
            over = np.flatnonzero(high - low >= limit)
            f = int(over[0]) if len(over) else len(s)
            if f < len(s):
                self.failed[pid] = True
                keep[idx[f:]] = False
                lo, hi = (int(self.lo[pid]), int(self.hi[pid])) if f == 0 else (int(low[f - 1]), int(high[f - 1]))
                self._error(result, RowError(int(line[idx[f]]), self.fields[0], msg(gettext_noop(
                    "Odczyt od %(t)s: dane PPE %(ppe)s w tym pliku obejmowałyby ponad %(n)d dni (dotąd od %(a)s do "
                    "%(b)s). Jeden plik może obejmować najwyżej %(n)d dni danych jednego PPE — podziel go."
                ), t=iso_utc(s[f]), ppe=self._code(pid), n=self.window, a=iso_utc(lo), b=iso_utc(hi))))
            if f:
                self.lo[pid], self.hi[pid] = low[f - 1], high[f - 1]
        return keep

    def _where(self, ppe: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        day = starts // 86400 - self.base[ppe]
        slot = (starts % 86400) // 900
        return day, slot >> 6, np.left_shift(np.uint64(1), (slot & 63).astype(np.uint64)), slot

    def _duplicates(self, result: ParseResult, rows: dict[str, np.ndarray], keep: np.ndarray) -> np.ndarray:
        ppe, starts, line = rows["ppe"], rows["starts"], rows["line"]
        dup = np.zeros(len(line), bool)
        k = np.flatnonzero(keep)
        if not len(k):
            return dup
        key = ppe[k] * (1 << 34) + starts[k]  # starts < 2³⁴ s (years ≤ 2100); ids < 2²⁹
        order = np.argsort(key, kind="stable")
        same = np.flatnonzero(key[order][1:] == key[order][:-1])
        first_of: dict[int, int] = {}
        for i in same:
            dup[k[order[i + 1]]] = True
            first_of[int(k[order[i + 1]])] = int(line[k[order[i]]])
        day, word, bit, _slot = self._where(ppe[k], starts[k])
        earlier = (self.seen[ppe[k], day, word] & bit) != 0
        for i in np.flatnonzero(earlier & ~dup[k]):
            dup[k[i]] = True
        for i in np.flatnonzero(dup)[:MAX_ERRORS]:
            where = (msg(gettext_noop("występuje już w wierszu %(first)d."), first=first_of[int(i)])
                     if int(i) in first_of else msg(gettext_noop("występuje już we wcześniejszej części pliku.")))
            self._error(result, RowError(int(line[i]), self.fields[0], msg(gettext_noop(
                "Powtórzony okres: PPE %(ppe)s od %(t)s %(where)s"
            ), ppe=self._code(int(ppe[i])), t=iso_utc(starts[i]), where=where)))
        return dup

    def _remember(self, rows: dict[str, np.ndarray]) -> None:
        ppe = rows["ppe"]
        day, word, bit, slot = self._where(ppe, rows["starts"])
        np.bitwise_or.at(self.seen, (ppe, day, word), bit)
        quarter = (slot % 4 != 0).astype(np.int64)
        np.minimum.at(self.day_line, (ppe, day, quarter), rows["line"].astype(np.int32))

    def _decide(self, result: ParseResult, rows: dict[str, np.ndarray]) -> None:
        held, self.held = self.held, None
        if held is not None and len(held["line"]):
            rows = {k: np.concatenate([held[k], rows[k]]) for k in rows}
        if not len(rows["line"]):
            return
        ppe = rows["ppe"]
        day, _word, _bit, slot = self._where(ppe, rows["starts"])
        pd_key = ppe * self.ndays + day
        days, inverse = np.unique(pd_key, return_inverse=True)
        dp, dd = days // self.ndays, days % self.ndays
        has_quarter, hour_pair = _day_kinds(self.seen[dp, dd])
        mixed = has_quarter & hour_pair
        res = np.where(mixed, MIXED, np.where(has_quarter, 15, np.where(hour_pair, 60, UNDECIDED)))
        for j in np.flatnonzero(mixed & (self.day_res[dp, dd] != MIXED))[:MAX_ERRORS]:
            bits = np.unpackbits(self.seen[dp[j], dd[j]].view(np.uint8), bitorder="little")[:96].astype(bool)
            hours = bits[0::4]
            self._mixed_error(result, rows, inverse=inverse, slot=slot, j=int(j),
                              quarters=bits[1::4] | bits[2::4] | bits[3::4],
                              stray_quarter=int(bits.sum()) < 2 * int(hours.sum()))
        self.day_res[dp, dd] = res
        row_res = res[inverse]
        wait = row_res == UNDECIDED
        if wait.any() and not self.bad:
            self.held = {k: v[wait] for k, v in rows.items()}
        ready = row_res > 0
        self._emit(result, {k: v[ready] for k, v in rows.items()}, row_res[ready])

    def _mixed_error(
        self, result: ParseResult, rows: dict[str, np.ndarray], *, inverse: np.ndarray, slot: np.ndarray, j: int,
        quarters: np.ndarray, stray_quarter: bool,
    ) -> None:
        """Name the first row of the minority kind (or, if it came in an earlier chunk, this chunk's first row).

        In a mostly hourly day the quarter-hour rows are the odd ones; in a mostly 15-minute
        day, the whole-hour rows of hours that have no other quarter.
        """
        mine = np.flatnonzero(inverse == j)
        off_hour = slot[mine] % 4 != 0
        stray = mine[off_hour if stray_quarter else ~off_hour & ~quarters[slot[mine] // 4]]
        at = int((stray if len(stray) else mine)[np.argmin(rows["line"][stray if len(stray) else mine])])
        pid, start = int(rows["ppe"][at]), int(rows["starts"][at])
        other = int(self.day_line[pid, start // 86400 - self.base[pid], 0 if stray_quarter else 1])
        values = {"t": iso_utc(start), "day": iso_utc(start - start % 86400)[:10], "ppe": self._code(pid),
                  "other": other}
        if stray_quarter:
            message = msg(gettext_noop(
                "Odczyt od %(t)s jest 15-minutowy, a dzień %(day)s (UTC) PPE %(ppe)s ma już dane godzinowe (np. wiersz "
                "%(other)d). Jeden dzień jednego PPE ma jedną rozdzielczość — nie mieszaj odczytów godzinowych "
                "i 15-minutowych w tym samym dniu."
            ), **values)
        else:
            message = msg(gettext_noop(
                "Odczyt od %(t)s i odczyt godzinę później bez kwadransów pomiędzy wyglądają na dane godzinowe, a dzień "
                "%(day)s (UTC) PPE %(ppe)s ma już dane 15-minutowe (np. wiersz %(other)d). Jeden dzień jednego PPE ma "
                "jedną rozdzielczość — nie mieszaj odczytów godzinowych i 15-minutowych w tym samym dniu."
            ), **values)
        self._error(result, RowError(int(rows["line"][at]), self.fields[0], message))

    def _emit(self, result: ParseResult, rows: dict[str, np.ndarray], res: np.ndarray) -> None:
        if not len(res):
            return
        for resolution in (60, 15):
            limit = max_wh_per_reading(resolution)
            checked = [(self.fields[1], "imp"), (self.fields[2], "exp")]
            checked += [(name, column) for name, column in (("import_balanced_kwh", "bimp"), ("export_balanced_kwh", "bexp"))
                        if name in self.balanced]
            for name, column in checked:
                for i in np.flatnonzero((res == resolution) & (rows[column] > limit))[:MAX_ERRORS]:
                    value = str(Decimal(int(rows[column][i])) / 1000)
                    self._error(result, RowError(int(rows["line"][i]), name, too_big_message(value, resolution)))
        if self.bad:
            return
        order = np.lexsort((rows["starts"], res, rows["ppe"]))
        ppe, res = rows["ppe"][order], res[order]
        cuts = np.flatnonzero((np.diff(ppe) != 0) | (np.diff(res) != 0)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True):
            part = order[a:b]
            balanced = {}
            if self.balanced:
                balanced = {
                    "import_balanced_wh": rows["bimp"][part] if "import_balanced_kwh" in self.balanced else None,
                    "export_balanced_wh": rows["bexp"][part] if "export_balanced_kwh" in self.balanced else None,
                    "balanced_quality": rows["bqual"][part],
                }
            result.series.append(Series(
                ppe_code=self._code(int(ppe[a])), resolution_min=int(res[a]), starts=rows["starts"][part],
                import_wh=rows["imp"][part], export_wh=rows["exp"][part], quality=rows["qual"][part],
                lines=rows["line"][part], has_import=self.has_import, has_export=self.has_export, **balanced,
            ))

    def _code(self, pid: int) -> str:
        return self.codes[pid]
