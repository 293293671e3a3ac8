"""Completeness of a month per PPE and local day (the export of the completeness page).

Same rule as ``reports.metering.selectors.completeness``: settlement hours
within the PPE's membership; an hour is present when drawn energy is, and
fed-in energy too for a PPE with a generator or storage unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Prefetch, Q

from members.models import Cluster, MeteringPoint, PPEMembership
from reports.metering.selectors import hours_local_dates, local_bounds, membership_mask, ppe_export_required
from reports.metering.store import hourly_matrix


@dataclass(frozen=True)
class PPEDayCompleteness:
    ppe_code: str
    tariff_group: str
    member_ref: str
    member_name: str
    day: dt.date
    expected: int
    present: int
    missing_import: int
    missing_export: int
    estimated: int
    export_required: bool

    @property
    def missing(self) -> int:
        return self.expected - self.present

    @property
    def percent(self) -> Decimal:
        if not self.expected:
            return Decimal(100)
        return (Decimal(self.present * 100) / self.expected).quantize(Decimal("0.1"))


def _overlapping(first: dt.date, after: dt.date) -> Q:
    return Q(memberships__valid_from__lt=after) & (
        Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=first)
    )


def _month_ppes(cluster: Cluster, first: dt.date, after: dt.date) -> list[MeteringPoint]:
    memberships = PPEMembership.objects.select_related("member").only(
        "id", "ppe_id", "valid_from", "valid_to", "member__ref", "member__name"
    ).order_by("valid_from")
    return list(
        MeteringPoint.objects.filter(_overlapping(first, after), cluster=cluster)
        .distinct()
        .order_by("code")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
    )


def completeness_rows_most(*, cluster: Cluster, year: int, month: int) -> int:
    """An upper bound of ``completeness_by_day``'s rows (member PPEs × days), from one count."""
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    return MeteringPoint.objects.filter(_overlapping(first, after), cluster=cluster).distinct().count() * (after - first).days


def completeness_by_day(*, cluster: Cluster, year: int, month: int) -> Iterator[PPEDayCompleteness]:
    """One row per member PPE and local day of the month on which it was a member, PPE code then day."""
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    ppes = _month_ppes(cluster, first, after)
    if not ppes:
        return
    start, end = local_bounds(first, after)
    required = ppe_export_required(ppes=ppes)
    data = hourly_matrix(ppe_ids=[p.id for p in ppes], start_utc=start, end_utc=end, export_required=required)
    mask = membership_mask(ppes=ppes, hours=data.hours)
    local = hours_local_dates(data.hours)
    days = np.unique(local)
    import_present, export_present = data.import_present, data.export_present
    per_day = []
    for day in days:
        cols = local == day
        m = mask[:, cols]
        per_day.append((
            day.astype(dt.date),
            m.sum(axis=1),
            (data.present[:, cols] & m).sum(axis=1),
            (m & ~import_present[:, cols]).sum(axis=1),
            (m & ~export_present[:, cols]).sum(axis=1),
            (data.estimated[:, cols] & data.present[:, cols] & m).sum(axis=1),
        ))
    for i, ppe in enumerate(ppes):
        memberships = list(ppe.memberships.all())
        for day, expected, present, no_import, no_export, estimated in per_day:
            if not expected[i]:
                continue
            member = next(
                (ms.member for ms in memberships if ms.valid_from <= day and (ms.valid_to is None or ms.valid_to >= day)),
                None,
            )
            yield PPEDayCompleteness(
                ppe_code=ppe.code, tariff_group=ppe.tariff_group,
                member_ref=member.ref if member else "", member_name=member.name if member else "",
                day=day, expected=int(expected[i]), present=int(present[i]),
                missing_import=int(no_import[i]), missing_export=int(no_export[i]) if required[i] else 0,
                estimated=int(estimated[i]), export_required=bool(required[i]),
            )
