"""Reads over meter data: completeness per PPE and month, measured energy per year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.core.cache import caches
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from members.models import Cluster, Generator, MeteringPoint, PPEMembership, StorageUnit
from members.services.datastamp import MeasuredEnergy, cluster_data_stamp
from members.services.regimes import regime_matrix
from reports.metering.production import production_attribution, renewable_split_wh
from reports.metering.store import hourly_matrix, local_dates
from reports.models import ReadingImport

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC


@dataclass(frozen=True)
class PPECompleteness:
    ppe: MeteringPoint
    expected: int  # hours of the local month within the PPE's membership
    present: int
    missing: int
    estimated: int
    missing_import: int = 0  # expected hours without drawn energy
    missing_export: int = 0  # expected hours without fed-in energy, counted only where it is required
    export_required: bool = True
    missing_balanced: int = 0  # expected hours of a prosumer regime without the balanced series

    @property
    def percent(self) -> Decimal:
        if not self.expected:
            return Decimal(100)
        return (Decimal(self.present * 100) / self.expected).quantize(Decimal("0.1"))


def local_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of local midnight at ``start`` and at ``end`` (exclusive)."""
    return (
        dt.datetime.combine(start, dt.time(), WARSAW).astimezone(UTC),
        dt.datetime.combine(end, dt.time(), WARSAW).astimezone(UTC),
    )


def hours_local_dates(hours: np.ndarray) -> np.ndarray:
    """Local (Europe/Warsaw) date of each UTC hour start (datetime64), as datetime64[D]."""
    return local_dates(hours.astype("datetime64[s]").astype(np.int64))


def membership_inside(memberships: Iterable[PPEMembership], local: np.ndarray) -> np.ndarray:
    """bool per local date of ``local`` (datetime64[D]): inside one of the PPE's ``memberships``
    (``valid_from`` … ``valid_to`` inclusive, open-ended without ``valid_to``).

    The one answer to "was this PPE a member in that hour": an hour belongs to its local day.
    """
    inside = np.zeros(local.shape, dtype=bool)
    for m in memberships:
        hi = np.datetime64(m.valid_to) if m.valid_to else np.datetime64("9999-12-31")
        inside |= (local >= np.datetime64(m.valid_from)) & (local <= hi)
    return inside


def membership_mask(*, ppes: Sequence[MeteringPoint], hours: np.ndarray) -> np.ndarray:
    """bool[n_ppe, n_hours]: the PPE belonged to a member in that hour (prefetch ``memberships``)."""
    local = hours_local_dates(hours)
    mask = np.zeros((len(ppes), len(hours)), dtype=bool)
    for i, ppe in enumerate(ppes):
        mask[i] = membership_inside(ppe.memberships.all(), local)
    return mask


def balanced_hours_of(*, regimes: np.ndarray, first_day: dt.date, hours: np.ndarray) -> dict[int, np.ndarray]:
    """Which hours each PPE is settled on its balanced series: ``{row: bool[n_hours]}`` for the rows of
    ``regimes`` (per PPE and local day from ``first_day``, ``members.services.regimes.regime_matrix``:
    above 0 = a prosumer regime) with a prosumer regime on any day. An hour belongs to its local day."""
    prosumer = regimes > 0
    rows = np.flatnonzero(prosumer.any(axis=1))
    if not len(rows):
        return {}
    day = (hours_local_dates(hours) - np.datetime64(first_day)).astype(np.int64)
    inside = (day >= 0) & (day < regimes.shape[1])
    day = np.clip(day, 0, max(regimes.shape[1] - 1, 0))
    return {int(r): prosumer[r, day] & inside for r in rows}


def ppe_balanced_hours(*, ppes: Sequence[MeteringPoint], hours: np.ndarray) -> dict[int, np.ndarray]:
    """``balanced_hours_of`` for ``ppes`` over ``hours`` (the regimes read in one query)."""
    if not len(hours) or not len(ppes):
        return {}
    local = hours_local_dates(hours)
    first, last = local[0].astype(dt.date), local[-1].astype(dt.date)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    regimes = regime_matrix(ppe_ids=[p.pk for p in ppes], days=days)
    return balanced_hours_of(regimes=regimes, first_day=first, hours=hours)


def ppe_export_required(*, ppes: Sequence[MeteringPoint]) -> np.ndarray:
    """bool per PPE: its fed-in energy (A−) must be present for an hour to be complete.

    The completeness rule: drawn energy (A+) is required for every member PPE;
    fed-in energy only for PPEs with a generator or a storage unit, which can
    feed energy into the grid. A PPE with neither whose fed-in energy was
    never imported (an eLicznik "pobór" file alone) counts 0 fed-in energy.
    """
    ids = [p.pk for p in ppes]
    with_units = set(
        MeteringPoint.objects.filter(pk__in=ids)
        .filter(Exists(Generator.objects.filter(ppe=OuterRef("pk"))) | Exists(StorageUnit.objects.filter(ppe=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    return np.array([pk in with_units for pk in ids], dtype=bool)


def _member_ppes(cluster: Cluster, start: dt.date, end: dt.date) -> list[MeteringPoint]:
    """PPEs of the cluster with a membership overlapping local ``[start, end)``."""
    overlapping = Q(memberships__valid_from__lt=end) & (
        Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=start)
    )
    return list(
        MeteringPoint.objects.filter(overlapping, cluster=cluster)
        .distinct()
        .order_by("code")
        .prefetch_related(Prefetch("memberships", queryset=PPEMembership.objects.order_by("valid_from")))
    )


def completeness(*, cluster: Cluster, year: int, month: int) -> list[PPECompleteness]:
    """Hours present per PPE in a local calendar month (743 h in March, 745 h in October).

    Counted in settlement hours: a 15-minute hour is present only when all its
    quarters are. Only hours within the PPE's membership are expected. An hour
    is present when drawn energy is, and fed-in energy too for a PPE with a
    generator or storage unit (``ppe_export_required``). On the days of a
    prosumer regime both come from the balanced series, as in the settlement.
    """
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    ppes = _member_ppes(cluster, first, after)
    start, end = local_bounds(first, after)
    required = ppe_export_required(ppes=ppes)
    hours = np.arange(np.datetime64(start.replace(tzinfo=None), "s"), np.datetime64(end.replace(tzinfo=None), "s"),
                      np.timedelta64(3600, "s"))
    balanced = ppe_balanced_hours(ppes=ppes, hours=hours)
    data = hourly_matrix(ppe_ids=[p.id for p in ppes], start_utc=start, end_utc=end, export_required=required,
                         balanced=balanced)
    mask = membership_mask(ppes=ppes, hours=data.hours)
    present = data.present & mask
    rows = []
    for i, ppe in enumerate(ppes):
        expected = int(mask[i].sum())
        got = int(present[i].sum())
        rows.append(PPECompleteness(
            ppe=ppe, expected=expected, present=got, missing=expected - got,
            estimated=int((data.estimated[i] & present[i]).sum()),
            missing_import=int((mask[i] & ~data.import_present[i]).sum()),
            missing_export=int((mask[i] & ~data.export_present[i]).sum()) if required[i] else 0,
            export_required=bool(required[i]),
            missing_balanced=int((mask[i] & ~data.present[i] & balanced[i]).sum()) if i in balanced else 0,
        ))
    return rows


_COMPLETENESS_KEY = "oke:completeness:{cluster_id}:{year}-{month:02d}"


def completeness_cached(*, cluster: Cluster, year: int, month: int) -> list[PPECompleteness]:
    """``completeness`` computed once per change of the cluster's data (the dashboard's stamp, see
    ``members.services.conditions``): a 1,000-PPE month reads ~30,000 day rows, a cached view one query."""
    stamp = cluster_data_stamp(cluster_id=cluster.pk)
    if stamp is None:
        return completeness(cluster=cluster, year=year, month=month)
    cache = caches[settings.OKE_STATUS_CACHE]
    key = _COMPLETENESS_KEY.format(cluster_id=cluster.pk, year=year, month=month)
    hit = cache.get(key)
    if hit is not None and hit[0] == stamp:
        ppes = MeteringPoint.objects.in_bulk([n[0] for n in hit[1]])
        if len(ppes) == len(hit[1]):
            return [PPECompleteness(ppes[n[0]], *n[1:]) for n in hit[1]]
    rows = completeness(cluster=cluster, year=year, month=month)
    numbers = [(r.ppe.pk, r.expected, r.present, r.missing, r.estimated, r.missing_import, r.missing_export,
                r.export_required, r.missing_balanced) for r in rows]
    cache.set(key, (stamp, numbers), timeout=settings.OKE_STATUS_CACHE_SECONDS)
    return rows


def measured_energy(*, cluster: Cluster, year: int) -> MeasuredEnergy | None:
    """A local calendar year of meter data for the member PPEs, or None unless it is complete.

    Complete means every hour in which a PPE belonged to a member is present
    (measured or estimated by the DSO; fed-in energy required only for PPEs
    with a generator or storage unit, see ``ppe_export_required``). Only
    member hours count. Fed-in energy of a PPE with both renewable and other
    units is attributed as the settlement does (``reports.metering.production``):
    by the generators' production where it is metered for all of them, by
    installed capacity elsewhere. ``generated_wh`` is the energy fed in by PPEs with generating
    units: a net meter does not see self-consumption behind it.
    """
    first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    ppes = _member_ppes(cluster, first, after)
    if not ppes:
        return None
    generators = list(Generator.objects.filter(ppe__in=ppes))
    prefetch_related_objects(ppes, "generators")  # the attribution reads ``ppe.generators.all()``
    start, end = local_bounds(first, after)
    data = hourly_matrix(ppe_ids=[p.id for p in ppes], start_utc=start, end_utc=end,
                         export_required=ppe_export_required(ppes=ppes))
    mask = membership_mask(ppes=ppes, hours=data.hours)
    if not mask.any() or (mask & ~data.present).any():
        return None
    total_kw: dict[int, Decimal] = {}
    renewable_kw: dict[int, Decimal] = {}
    for g in generators:
        total_kw[g.ppe_id] = total_kw.get(g.ppe_id, Decimal(0)) + g.capacity_kw
        if g.is_renewable:
            renewable_kw[g.ppe_id] = renewable_kw.get(g.ppe_id, Decimal(0)) + g.capacity_kw
    exported = np.where(mask, data.export_wh, 0)
    fed = exported.sum(axis=1)
    drawn = np.where(mask, data.import_wh, 0).sum(axis=1)
    attribution = production_attribution(ppes=ppes, hours=data.hours)
    renewable = 0
    generated = 0
    for i, ppe in enumerate(ppes):
        if total_kw.get(ppe.id):
            generated += int(fed[i])
            share = renewable_kw.get(ppe.id, Decimal(0)) / total_kw[ppe.id]
            renewable += renewable_split_wh(export_wh=exported[i], capacity_share=share,
                                            metered=attribution.override.get(i))
    return MeasuredEnergy(
        year=year, fed_in_wh=int(fed.sum()), renewable_fed_in_wh=renewable, drawn_wh=int(drawn.sum()),
        generated_wh=generated,
    )


def reading_imports_recent(*, cluster: Cluster, limit: int = 30) -> QuerySet[ReadingImport]:
    return ReadingImport.objects.filter(cluster=cluster).select_related("ppe", "created_by")[:limit]
