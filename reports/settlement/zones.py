"""Tariff time zones: which zone each local hour of a day belongs to, and whether a schedule is whole.

A zoned tariff group (G12, C12a, B23, …) prices energy by time zone. Its schedule is the set of
``TariffZoneHours`` rows of one DSO (or every DSO) and group in force on a day: each row gives a
zone the local clock hours [hour_from, hour_to) on one kind of day (every day, a working day
Monday–Friday, Saturday, Sunday, a public holiday) in a range of months. Every local hour of every
kind of day must fall in exactly one zone. Public holidays are Poland's statutory days off work
(the ``holidays`` package); a holiday is a holiday whatever its weekday.

Hours are the local clock (Europe/Warsaw): on the 23-hour day in March the hour 2:00–3:00 does
not occur, on the 25-hour day in October it occurs twice and both are in the zone of hour 2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

import holidays

from reports.models import DayKind, TariffZoneHours

# the kinds every schedule must cover (``DayKind.ALL`` rows cover all four)
DAY_KINDS = (DayKind.WORKDAY, DayKind.SATURDAY, DayKind.SUNDAY, DayKind.HOLIDAY)
MONTH_NAMES = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień", "wrzesień",
               "październik", "listopad", "grudzień")


@cache
def _public_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("PL", years=year))


def day_kind(day: dt.date) -> str:
    """The kind of ``day``: a public holiday first, then by weekday."""
    if day in _public_holidays(day.year):
        return DayKind.HOLIDAY
    if day.weekday() == 5:
        return DayKind.SATURDAY
    if day.weekday() == 6:
        return DayKind.SUNDAY
    return DayKind.WORKDAY


def _applies(row: TariffZoneHours, *, kind: str, month: int) -> bool:
    return (row.day_kind == DayKind.ALL or row.day_kind == kind) and month in row.months()


def _hour_zones(rows: Sequence[TariffZoneHours], *, kind: str, month: int) -> list[list[str]]:
    """The zones each local clock hour 0..23 gets on a day of ``kind`` in ``month``."""
    zones: list[list[str]] = [[] for _ in range(24)]
    for row in rows:
        if _applies(row, kind=kind, month=month):
            for hour in range(row.hour_from, row.hour_to):
                zones[hour].append(row.zone)
    return zones


def zone_schedule_problems(rows: Sequence[TariffZoneHours], *, label: str, months: Sequence[int] = range(1, 13)) -> list[str]:
    """What breaks "every hour in exactly one zone" in ``rows`` (one schedule), in Polish, naming the
    group (``label``), the month, the kind of day and the hour; [] when the schedule is whole."""
    problems: list[str] = []
    for month in months:
        for kind in DAY_KINDS:
            zones = _hour_zones(rows, kind=kind, month=month)
            kind_label = str(DayKind(kind).label)
            if gaps := [h for h in range(24) if not zones[h]]:
                problems.append(
                    f"Godziny stref {label}: {kind_label}, {MONTH_NAMES[month - 1]} — godziny "
                    f"{_hours(gaps)} nie należą do żadnej strefy."
                )
            for hour in (h for h in range(24) if len(zones[h]) > 1):
                problems.append(
                    f"Godziny stref {label}: {kind_label}, {MONTH_NAMES[month - 1]} — godzina {hour}:00–{hour + 1}:00 "
                    f"należy do kilku stref ({', '.join(zones[hour])})."
                )
    return problems


def _hours(hours: list[int]) -> str:
    return ", ".join(f"{h}:00–{h + 1}:00" for h in hours)


def zones_of_day(rows: Sequence[TariffZoneHours], day: dt.date) -> tuple[str, ...]:
    """The zone of each local clock hour 0..23 of ``day`` (the schedule must be whole: see
    ``zone_schedule_problems``; a gap or a double reads as ``""`` / the first zone)."""
    zones = _hour_zones(rows, kind=day_kind(day), month=day.month)
    return tuple(z[0] if z else "" for z in zones)


def schedule_label(*, dso: str | None, group: str) -> str:
    return f"{dso or 'każdy OSD'} / {group}"


def schedules_in_force(rows: Sequence[TariffZoneHours], *, dso_id: int | None, group: str, day: dt.date) -> list[TariffZoneHours]:
    """The schedule of a PPE's DSO and group on ``day``: the DSO's own rows if any is in force, else
    the rows for every DSO."""
    def covers(r: TariffZoneHours) -> bool:
        return r.valid_from <= day and (r.valid_to is None or r.valid_to >= day) and r.tariff_group.upper() == group.upper()

    own = [r for r in rows if covers(r) and r.dso_id is not None and r.dso_id == dso_id]
    return own or [r for r in rows if covers(r) and r.dso_id is None]


def zone_schedules_check(rows: Sequence[TariffZoneHours]) -> list[str]:
    """Problems of every schedule the rows make, over each stretch of days on which its rows do not
    change (the rates page lists them; the reference data loader refuses them)."""
    by_key: dict[tuple[int | None, str], list[TariffZoneHours]] = {}
    for r in rows:
        by_key.setdefault((r.dso_id, r.tariff_group.upper()), []).append(r)
    problems: list[str] = []
    for (_dso_id, group), own in sorted(by_key.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        dso = own[0].dso if own[0].dso_id else None
        label = schedule_label(dso=dso.name if dso is not None else None, group=group)
        starts = sorted({r.valid_from for r in own} | {r.valid_to + dt.timedelta(days=1) for r in own if r.valid_to})
        seen: set[tuple[int, ...]] = set()
        for start in starts:
            active = [r for r in own if r.valid_from <= start and (r.valid_to is None or r.valid_to >= start)]
            ids = tuple(sorted(r.pk for r in active))
            if not active or ids in seen:
                continue
            seen.add(ids)
            for problem in zone_schedule_problems(active, label=label):
                problems.append(f"{problem} (od {start})")
    return problems
