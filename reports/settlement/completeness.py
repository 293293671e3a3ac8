"""The completeness gate: share of member PPE-hours that have meter data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from reports.engine import hour_axis

MAX_RANGES = 20


@dataclass(frozen=True)
class Completeness:
    needed_hours: int
    missing_hours: int
    # per PPE: {ppe, member, hours, first, last, ranges, ranges_more[, balanced_hours]}; ``balanced_hours`` (only
    # when > 0): how many of the missing hours lack the balanced series a prosumer PPE is settled on
    # ("brak danych po zbilansowaniu")
    missing: list[dict]

    @property
    def pct(self) -> Decimal:
        if not self.needed_hours:
            return Decimal("100.00")
        # floored, so 98.999 % never displays as (and passes for) 99.00 %
        value = Decimal(self.needed_hours - self.missing_hours) * 100 / Decimal(self.needed_hours)
        return value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def _iso(stamp: np.datetime64) -> str:
    return dt.datetime.fromtimestamp(int(stamp.astype("datetime64[s]").astype(np.int64)), dt.UTC).isoformat()


class CompletenessCounter:
    """Needed and missing member hours, fed PPE chunk by chunk (rows in order), so no PPE × hour matrix is needed."""

    def __init__(self, *, hours: np.ndarray, membership: np.ndarray, ppe_codes: list[str], member_refs: list[str]) -> None:
        self.hours = hours
        self.axis = hour_axis(hours)
        self.membership = membership
        self.ppe_codes = ppe_codes
        self.member_refs = member_refs
        self.rows = 0
        self.needed_hours = 0
        self.missing_hours = 0
        self.missing: list[dict] = []

    def add(self, present: np.ndarray, balanced: np.ndarray | None = None) -> None:
        """The next PPE rows' complete hours; ``balanced``: the hours read from the balanced series."""
        a, b = self.rows, self.rows + len(present)
        hours = self.hours
        member_of_hour = self.membership[a:b][:, self.axis.day_of_hour]
        needed = member_of_hour >= 0
        gaps = needed & ~present
        for p in np.nonzero(gaps.any(axis=1))[0]:
            row = gaps[p]
            edges = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
            starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
            first_hour = int(starts[0])
            self.missing.append(
                {
                    "ppe": self.ppe_codes[a + p],
                    "member": self.member_refs[int(member_of_hour[p, first_hour])],
                    "hours": int(row.sum()),
                    "first": _iso(hours[starts[0]]),
                    "last": _iso(hours[ends[-1] - 1]),
                    "ranges": [
                        [_iso(hours[x]), _iso(hours[y - 1])] for x, y in zip(starts[:MAX_RANGES], ends[:MAX_RANGES], strict=True)
                    ],
                    "ranges_more": max(len(starts) - MAX_RANGES, 0),
                }
            )
            lacking = int((row & balanced[p]).sum()) if balanced is not None else 0
            if lacking:
                self.missing[-1]["balanced_hours"] = lacking
        self.needed_hours += int(needed.sum())
        self.missing_hours += int(gaps.sum())
        self.rows = b

    def result(self) -> Completeness:
        return Completeness(needed_hours=self.needed_hours, missing_hours=self.missing_hours, missing=self.missing)
