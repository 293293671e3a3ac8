"""Member-facing reads: year-to-date totals and the member's own hourly meter data.

Everything here takes the member (``member_for_user``) and reads nothing of
another member: hourly data covers only the member's PPEs, and only the hours
(local dates) within its memberships.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Q

from members.models import Member, MeteringPoint, PPEMembership
from reports.metering.selectors import membership_inside
from reports.metering.store import hourly_matrix, local_dates

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
MAX_EXPORT_DAYS = 366


def portal_year_totals(*, settlements: list[dict[str, Any]], year: int) -> dict[str, Any]:
    """Totals of the member's published settlements (``settlements_for_member``) whose period ends in ``year``.

    Only the newest version of each period counts (a correction replaces, never adds).
    """
    current = [s for s in settlements if not s["superseded"] and s["run"].period_end.year == year]
    return {
        "year": year,
        "periods": len(current),
        "benefit": sum((s["line"].total for s in current), Decimal("0")),
        "shared_wh": sum(s["line"].shared_wh for s in current),
        "drawn_wh": sum(s["line"].drawn_wh for s in current),
    }


def _day_bounds_utc(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), WARSAW).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), WARSAW).astimezone(dt.UTC)
    return start, end


def portal_memberships(*, member: Member, start: dt.date, end: dt.date) -> list[PPEMembership]:
    """The member's memberships overlapping the local dates ``[start, end]``."""
    return list(
        PPEMembership.objects.filter(member=member, valid_from__lte=end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .select_related("ppe")
        .order_by("ppe__code", "valid_from")
    )


def portal_last_data_day(*, member: Member, before: dt.date) -> dt.date | None:
    """The last day before ``before`` with stored meter data of a PPE while it was the member's (one query),
    so the data page opens on a day that has something to show."""
    from django.db.models import Max

    from reports.models import MeterDay

    windows = Q(pk__in=[])
    last_day = before - dt.timedelta(days=1)
    for m in PPEMembership.objects.filter(member=member, valid_from__lt=before).only("ppe_id", "valid_from", "valid_to"):
        # MeterDay rows are UTC days; a UTC day's hours belong to that local date or the previous one.
        windows |= Q(ppe_id=m.ppe_id, day__gte=m.valid_from, day__lte=min(last_day, m.valid_to or last_day))
    return MeterDay.objects.filter(windows).aggregate(last=Max("day"))["last"]


@dataclass
class MemberHourly:
    """Hourly data of the member's PPEs over local dates; values outside memberships are masked out."""

    ppes: list[MeteringPoint]
    hours_utc: np.ndarray  # datetime64[s]
    local: list[dt.datetime]  # aware, Europe/Warsaw, one per hour
    import_wh: np.ndarray  # [n_ppe, n_hours]
    export_wh: np.ndarray
    import_present: np.ndarray  # bool; False outside a membership
    export_present: np.ndarray
    estimated: np.ndarray


def portal_hourly(*, member: Member, start: dt.date, end: dt.date) -> MemberHourly:
    """The member's own hourly draw and feed-in over local dates ``[start, end]``."""
    memberships = portal_memberships(member=member, start=start, end=end)
    ppes: dict[int, MeteringPoint] = {}
    for m in memberships:
        ppes.setdefault(m.ppe_id, m.ppe)
    ids = list(ppes)
    start_utc, _ = _day_bounds_utc(start)
    _, end_utc = _day_bounds_utc(end)
    data = hourly_matrix(ppe_ids=ids, start_utc=start_utc, end_utc=end_utc)
    seconds = data.hours.astype("datetime64[s]").astype(np.int64)
    local_days = local_dates(seconds)  # all within [start, end]
    inside = np.zeros((len(ids), len(seconds)), dtype=bool)
    for i, pk in enumerate(ids):
        inside[i] = membership_inside([m for m in memberships if m.ppe_id == pk], local_days)
    import_present = data.import_present if data.import_present is not None else data.present
    export_present = data.export_present if data.export_present is not None else data.present
    local = [dt.datetime.fromtimestamp(int(s), dt.UTC).astimezone(WARSAW) for s in seconds]
    return MemberHourly(
        ppes=list(ppes.values()), hours_utc=data.hours, local=local,
        import_wh=np.where(inside, data.import_wh, 0), export_wh=np.where(inside, data.export_wh, 0),
        import_present=import_present & inside, export_present=export_present & inside,
        estimated=data.estimated & inside,
    )


def portal_day_chart(*, member: Member, day: dt.date) -> dict[str, Any]:
    """One local day of the member's PPEs summed per hour, in kWh, for the chart (23, 24 or 25 hours)."""
    data = portal_hourly(member=member, start=day, end=day)
    drawn = data.import_wh.sum(axis=0) if data.ppes else np.zeros(len(data.local), dtype=np.int64)
    fed = data.export_wh.sum(axis=0) if data.ppes else np.zeros(len(data.local), dtype=np.int64)
    any_drawn = data.import_present.any(axis=0) if data.ppes else np.zeros(len(data.local), dtype=bool)
    any_fed = data.export_present.any(axis=0) if data.ppes else np.zeros(len(data.local), dtype=bool)
    return {
        "day": day,
        "labels": [h.strftime("%H:%M") for h in data.local],
        "drawn_kwh": [round(int(v) / 1000, 3) if p else None for v, p in zip(drawn, any_drawn, strict=True)],
        "fed_kwh": [round(int(v) / 1000, 3) if p else None for v, p in zip(fed, any_fed, strict=True)],
        "drawn_wh": int(drawn.sum()),
        "fed_wh": int(fed.sum()),
        "has_data": bool(any_drawn.any() or any_fed.any()),
        "ppe_count": len(data.ppes),
    }


def _kwh(wh: int) -> str:
    sign = "-" if wh < 0 else ""
    wh = abs(wh)
    return f"{sign}{wh // 1000},{wh % 1000:03d}"


CSV_HEADER = ["PPE", "data", "godzina od", "strefa czasowa", "pobór [kWh]", "oddanie [kWh]", "szacowane"]


def portal_hourly_csv_rows(*, member: Member, start: dt.date, end: dt.date) -> Iterator[list[str]]:
    """CSV rows (header first) of the member's hourly data in local time, kWh with a decimal comma.

    Hours outside the member's memberships, and hours with no reading in either
    direction, are left out; a direction without a reading leaves its cell empty.
    """
    if end < start or (end - start).days >= MAX_EXPORT_DAYS:
        raise ValueError("range")
    data = portal_hourly(member=member, start=start, end=end)
    yield CSV_HEADER
    for i, ppe in enumerate(data.ppes):
        for j, local in enumerate(data.local):
            imp, exp = data.import_present[i, j], data.export_present[i, j]
            if not (imp or exp):
                continue
            offset = local.strftime("%z")
            yield [
                ppe.code, local.strftime("%d.%m.%Y"), local.strftime("%H:%M"), f"UTC{offset[:3]}:{offset[3:]}",
                _kwh(int(data.import_wh[i, j])) if imp else "", _kwh(int(data.export_wh[i, j])) if exp else "",
                "tak" if data.estimated[i, j] else "nie",
            ]
