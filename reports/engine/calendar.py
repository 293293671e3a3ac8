"""Local settlement days over a UTC hour axis (Europe/Warsaw: 23- and 25-hour days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

WARSAW = "Europe/Warsaw"


@dataclass(frozen=True)
class HourAxis:
    days: list[dt.date]  # local dates, in order
    day_of_hour: np.ndarray  # int32[n_hours] index into days
    day_starts: np.ndarray  # int64[n_days] first hour index of each day
    local_hour: np.ndarray  # int8[n_hours] local clock hour 0..23 (2 repeats in October)
    month_of_day: list[str]  # "YYYY-MM" per day


def hour_axis(hours_utc: np.ndarray, *, tz: str = WARSAW) -> HourAxis:
    """Map consecutive UTC hours to local days; refuse gaps (the law settles every hour)."""
    stamps = np.asarray(hours_utc).astype("datetime64[s]").astype(np.int64)
    if len(stamps) and np.any(np.diff(stamps) != 3600):
        raise ValueError("hours must be consecutive whole UTC hours")
    zone = ZoneInfo(tz)
    local = [dt.datetime.fromtimestamp(int(s), zone) for s in stamps]
    dates = [t.date() for t in local]
    days: list[dt.date] = []
    day_of_hour = np.empty(len(stamps), dtype=np.int32)
    starts: list[int] = []
    for i, d in enumerate(dates):
        if not days or days[-1] != d:
            days.append(d)
            starts.append(i)
        day_of_hour[i] = len(days) - 1
    return HourAxis(
        days=days,
        day_of_hour=day_of_hour,
        day_starts=np.asarray(starts, dtype=np.int64),
        local_hour=np.asarray([t.hour for t in local], dtype=np.int8),
        month_of_day=[f"{d.year:04d}-{d.month:02d}" for d in days],
    )


def hours_for_days(*, start: dt.date, end: dt.date, tz: str = WARSAW) -> np.ndarray:
    """The UTC hours of local days ``start``..``end`` (inclusive) as datetime64[s]."""
    zone = ZoneInfo(tz)
    first = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    n = int((after - first).total_seconds() // 3600)
    return np.datetime64(first.replace(tzinfo=None), "s") + np.arange(n, dtype=np.int64) * np.timedelta64(3600, "s")


def quarters_to_hours(values: np.ndarray) -> np.ndarray:
    """Sum 15-minute slots (last axis, 4 per hour) into hours."""
    values = np.asarray(values)
    if values.shape[-1] % 4:
        raise ValueError("15-minute data must cover whole hours")
    return values.reshape(*values.shape[:-1], values.shape[-1] // 4, 4).sum(axis=-1)
