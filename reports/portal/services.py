"""Member-facing reads: year-to-date totals and the member's own hourly meter data.

Everything here takes the member (``member_for_user``) and shows nothing of
another member: hourly data covers only the member's PPEs, and only the hours
(local dates) within its memberships. The member's shared energy per hour
(``portal_day_shared``) is computed from the whole cluster's hourly totals, as
the settlement computes it, but only the member's own share leaves this module.
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
from reports.engine import HourlyInput, energy_flows, hours_for_days
from reports.engine.allocation import keys_allocate
from reports.engine.hourly import EnergyFlows, int_split
from reports.metering.production import production_attribution
from reports.metering.selectors import membership_inside, ppe_balanced_hours, ppe_export_required
from reports.metering.store import hourly_matrix, local_dates
from reports.models import AllocationMethod, SettlementRun
from reports.settlement.gather import allocation_keys, membership_matrix, period_memberships, renewable_shares
from reports.statements.services import statements_for_member

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
    # bool [n_ppe, n_hours]: values from the balanced series (prosumer PPEs; ``settled=True`` only)
    balanced: np.ndarray | None = None


def portal_hourly(*, member: Member, start: dt.date, end: dt.date, settled: bool = False) -> MemberHourly:
    """The member's own hourly draw and feed-in over local dates ``[start, end]``.

    ``settled``: the values the settlement uses, i.e. the balanced series ("po zbilansowaniu") of
    prosumer PPEs in the days of a prosumer regime; otherwise the raw meter readings (the CSV export).
    """
    memberships = portal_memberships(member=member, start=start, end=end)
    ppes: dict[int, MeteringPoint] = {}
    for m in memberships:
        ppes.setdefault(m.ppe_id, m.ppe)
    ids = list(ppes)
    start_utc, _ = _day_bounds_utc(start)
    _, end_utc = _day_bounds_utc(end)
    balanced = None
    if settled and ids:
        hours = np.arange(np.datetime64(start_utc.replace(tzinfo=None), "s"),
                          np.datetime64(end_utc.replace(tzinfo=None), "s"), np.timedelta64(3600, "s"))
        balanced = ppe_balanced_hours(ppes=list(ppes.values()), hours=hours)
    data = hourly_matrix(ppe_ids=ids, start_utc=start_utc, end_utc=end_utc, balanced=balanced)
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
        estimated=data.estimated & inside, balanced=data.balanced & inside if data.balanced is not None else None,
    )


@dataclass(frozen=True)
class DayShared:
    """The member's shared energy in each hour of one local day (integer Wh), and where it comes from.

    ``run`` is the member's published settlement covering the day (newest
    version) when there is one: the values use its allocation method and, for
    static keys, the keys it used, so they are the settlement's own figures for
    that day. Without one the day is computed the same way, pro rata to the
    draw, as a preliminary figure. ``outdated``: something the run used changed
    after it (``RunOutdatedReason``), so today's figures may differ from it.
    """

    wh: list[int]
    run: SettlementRun | None
    allocation: str
    outdated: bool = False
    # member PPE-hours of the cluster whose renewable share was estimated from installed capacity (no
    # production data for all generators of a PPE with renewable and other units): the settlement's "szacunek"
    estimated_hours: int = 0

    @property
    def total_wh(self) -> int:
        return sum(self.wh)


def _published_run(*, member: Member, day: dt.date) -> SettlementRun | None:
    statement = (
        statements_for_member(member=member)
        .filter(run__period_start__lte=day, run__period_end__gte=day)
        .order_by("-run__version", "-run__pk")
        .first()
    )
    return statement.run if statement is not None else None


def _ppe_hourly_shared(
    *, flows: EnergyFlows, drawn: np.ndarray, member_of: np.ndarray, n_members: int, keys: np.ndarray | None
) -> np.ndarray:
    """Each member PPE's shared energy per hour (float Wh), as the engine splits ``shared_h``:
    pro rata, every PPE gets ``shared_h / drawn_h`` of its draw; by static keys, each member
    gets ``keys_allocate``'s share, split among its PPEs by their draw."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if keys is None:
            ratio = np.where(flows.drawn_h > 0, flows.shared_h / flows.drawn_h, 0.0)
            return drawn * ratio
        n_hours = drawn.shape[1]
        inside = member_of >= 0
        cell = member_of.astype(np.int64) * n_hours + np.arange(n_hours, dtype=np.int64)[None, :]
        member_drawn = np.bincount(cell[inside], weights=drawn[inside], minlength=n_members * n_hours).reshape(
            n_members, n_hours
        )
        alloc = keys_allocate(shared_h=flows.shared_h, member_drawn=member_drawn, keys=keys)
        factor = np.where(member_drawn > 0, alloc / member_drawn, 0.0)
        return drawn * factor[np.clip(member_of, 0, None), np.arange(n_hours)[None, :]]


def portal_day_shared(*, member: Member, day: dt.date) -> DayShared:
    """The member's shared energy per hour of ``day``, computed by the settlement's engine.

    The cluster's member PPEs of that day, their meter data, renewable shares and
    memberships are gathered as a settlement gathers them, and ``energy_flows``
    gives each hour's ``shared_h = min(renewable fed-in, drawn)`` and each PPE's
    shared energy of the day. Whole Wh follow the settlement's rounding: each
    PPE's day figure is the settlement's largest-remainder split of the cluster's
    shared energy (for a one-day settlement exactly its figures), and its hours
    are split to add up to it.
    """
    run = _published_run(member=member, day=day)
    allocation = run.allocation if run is not None else AllocationMethod.PRO_RATA
    outdated = run is not None and run.outdated_reasons.exists()
    hours = hours_for_days(start=day, end=day)
    empty = DayShared(wh=[0] * len(hours), run=run, allocation=allocation, outdated=outdated)
    memberships = period_memberships(cluster=member.cluster, start=day, end=day)
    ppes = list(
        MeteringPoint.objects.filter(pk__in={m.ppe_id for m in memberships}).prefetch_related("generators").order_by("code")
    )
    members = sorted({m.member for m in memberships}, key=lambda m: m.ref)
    if member not in members:
        return empty
    member_row = {m.pk: i for i, m in enumerate(members)}
    membership = membership_matrix(
        memberships=memberships, ppe_row={p.pk: i for i, p in enumerate(ppes)}, member_row=member_row, days=[day]
    )
    keys = None
    if allocation == AllocationMethod.STATIC and run is not None:
        keys = allocation_keys(cluster=member.cluster, members=members, on=run.period_start)
        if not keys.any():
            return empty  # a static settlement always had keys; nothing to split by otherwise
    # The settlement's attribution: a mixed PPE's renewable share from production data where all its
    # generators have them, installed capacity only as the labelled estimate; prosumers on balanced values.
    shares, _ = renewable_shares(ppes)
    attribution = production_attribution(ppes=ppes, hours=hours)
    first = dt.datetime.fromtimestamp(int(hours[0].astype(np.int64)), dt.UTC)
    data = hourly_matrix(
        ppe_ids=[p.pk for p in ppes], start_utc=first, end_utc=first + dt.timedelta(hours=len(hours)),
        export_required=ppe_export_required(ppes=ppes), balanced=ppe_balanced_hours(ppes=ppes, hours=hours),
    )
    flows = energy_flows(
        data=HourlyInput(hours_utc=hours, import_wh=data.import_wh, export_wh=data.export_wh, renewable_share=shares,
                         membership=membership, n_members=len(members), share_override=attribution.override,
                         estimated_rows=attribution.mixed,
                         generating=np.array([any(True for _ in p.generators.all()) for p in ppes], dtype=bool)),
        allocation=allocation, keys=keys,
    )
    member_of = np.repeat(membership[:, :1], len(hours), axis=1)
    drawn = np.where(member_of >= 0, data.import_wh, 0).astype(np.float64)
    hourly = _ppe_hourly_shared(flows=flows, drawn=drawn, member_of=member_of, n_members=len(members), keys=keys)
    # The settlement's cells: every member PPE of the day, split to the cluster's rounded total.
    rows = np.nonzero(membership[:, 0] >= 0)[0]
    cells = int_split(flows.daily_shared[rows, 0], int(np.rint(flows.shared_h.sum())))
    total = np.zeros(len(hours), dtype=np.int64)
    for row, cell in zip(rows.tolist(), cells.tolist(), strict=True):
        if membership[row, 0] == member_row[member.pk]:
            total += int_split(hourly[row], cell)
    return DayShared(wh=[int(v) for v in total], run=run, allocation=allocation, outdated=outdated,
                     estimated_hours=sum(flows.estimated_hours.values()))


def portal_day_chart(*, member: Member, day: dt.date) -> dict[str, Any]:
    """One local day of the member's PPEs summed per hour, in kWh, for the chart (23, 24 or 25 hours).

    Drawn and fed-in energy are the meter data the settlement uses (a prosumer PPE's balanced values on
    the days of a prosumer regime); shared energy is ``portal_day_shared`` (shown for the hours with
    drawn energy on record).
    """
    data = portal_hourly(member=member, start=day, end=day, settled=True)
    drawn = data.import_wh.sum(axis=0) if data.ppes else np.zeros(len(data.local), dtype=np.int64)
    fed = data.export_wh.sum(axis=0) if data.ppes else np.zeros(len(data.local), dtype=np.int64)
    any_drawn = data.import_present.any(axis=0) if data.ppes else np.zeros(len(data.local), dtype=bool)
    any_fed = data.export_present.any(axis=0) if data.ppes else np.zeros(len(data.local), dtype=bool)
    has_data = bool(any_drawn.any() or any_fed.any())
    shared = portal_day_shared(member=member, day=day) if has_data else None
    shared_wh = shared.wh if shared is not None else [0] * len(data.local)
    labels = [h.strftime("%H:%M") for h in data.local]
    drawn_kwh = [round(int(v) / 1000, 3) if p else None for v, p in zip(drawn, any_drawn, strict=True)]
    fed_kwh = [round(int(v) / 1000, 3) if p else None for v, p in zip(fed, any_fed, strict=True)]
    shared_kwh = [round(v / 1000, 3) if p else None for v, p in zip(shared_wh, any_drawn, strict=True)]
    return {
        "day": day,
        "labels": labels,
        "drawn_kwh": drawn_kwh,
        "fed_kwh": fed_kwh,
        "shared_kwh": shared_kwh,
        "rows": list(zip(labels, drawn_kwh, fed_kwh, shared_kwh, strict=True)),
        "drawn_wh": int(drawn.sum()),
        "fed_wh": int(fed.sum()),
        "shared_wh": sum(shared_wh),
        "shared": shared,
        "has_data": has_data,
        "ppe_count": len(data.ppes),
        # the member's PPEs shown with their balanced values (prosumers), as the settlement uses them
        "balanced_ppes": [p.code for i, p in enumerate(data.ppes)
                          if data.balanced is not None and bool(data.balanced[i].any())],
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
