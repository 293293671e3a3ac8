"""Reads for a settlement: the cluster's member PPEs in the period, their meter
data, rates and storage, turned into the engine's arrays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from members.models import BillingRegime, Cluster, Member, MeteringPoint, PPEMembership, StorageUnit
from members.services.regimes import REGIME_ORDER, regime_matrix
from reports.engine import Fee, HourlyStream, RateSegment, Tariff, Tier, hour_axis, hours_for_days
from reports.metering.production import ShareAttribution, production_attribution
from reports.metering.selectors import balanced_hours_of, ppe_export_required
from reports.metering.store import HourlyData, hourly_chunks
from reports.settlement.keys import allocation_key_shares
from reports.settlement.selectors import TariffPlan, tariff_plan

WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass
class Gathered:
    days: list[dt.date]
    ppes: list[MeteringPoint]
    members: list[Member]
    memberships: list[PPEMembership]
    membership: np.ndarray  # int32[n_ppe, n_days]
    renewable_share: np.ndarray
    generating_kw: Decimal
    storage: list[StorageUnit]
    plan: TariffPlan
    hours: np.ndarray  # datetime64[s], the period's UTC hours
    # bool per PPE: fed-in energy needed for a complete hour (generator or storage); None = every PPE
    export_required: np.ndarray | None = None
    # metered renewable shares of PPEs with renewable and other generators (``renewable_share``: by capacity)
    attribution: ShareAttribution | None = None
    # billing regime per PPE and local day (``members.services.regimes.regime_matrix``); None = ordinary everywhere
    regimes: np.ndarray | None = None
    # hours each prosumer PPE (row) is settled on its balanced series (``balanced_hours_of``)
    balanced: dict[int, np.ndarray] | None = None

    def billing_regime(self, row: int) -> str:
        """The PPE's regime on the period's last day."""
        return REGIME_ORDER[int(self.regimes[row, -1])] if self.regimes is not None else BillingRegime.ORDINARY.value

    def series(self, row: int) -> str:
        """The meter series the run settles the PPE on: raw, balanced (a prosumer every day) or mixed."""
        if self.regimes is None or not self.balanced or row not in self.balanced:
            return "raw"  # ``balanced`` holds exactly the rows with a prosumer day
        return "balanced" if bool((self.regimes[row] > 0).all()) else "mixed"

    def meter_chunks(self, *, on_chunk: Callable[[HourlyData], None] | None = None) -> Iterator[HourlyData]:
        """The PPEs' hourly meter data over the period, in PPE chunks (rows in ``ppes`` order).

        ``present`` of each chunk is the completeness rule: drawn energy, plus
        fed-in energy for PPEs with a generator or storage unit. Prosumer PPEs are
        read from their balanced series on the days of a prosumer regime (missing
        balanced data is missing data; ``HourlyData.balanced`` marks those hours).
        """
        first = dt.datetime.fromtimestamp(int(self.hours[0].astype("datetime64[s]").astype(np.int64)), dt.UTC)
        chunks = hourly_chunks(
            ppe_ids=[p.pk for p in self.ppes], start_utc=first, end_utc=first + dt.timedelta(hours=len(self.hours)),
            export_required=self.export_required, balanced=self.balanced,
        )
        for part in chunks:
            if on_chunk is not None:
                on_chunk(part)
            yield part


def period_memberships(*, cluster: Cluster, start: dt.date, end: dt.date) -> list[PPEMembership]:
    """PPE memberships of the cluster's members overlapping [start, end]."""
    return list(
        PPEMembership.objects.filter(member__cluster=cluster, valid_from__lte=end)
        .exclude(valid_to__lt=start)
        .select_related("ppe__dso", "member")
        .order_by("ppe__code", "valid_from", "pk")
    )


def membership_matrix(
    *, memberships: list[PPEMembership], ppe_row: dict[int, int], member_row: dict[int, int], days: list[dt.date]
) -> np.ndarray:
    """Member index per PPE and local day; -1 where the PPE is not a member.

    A day counts only inside both the PPE membership and the member's own
    join/leave dates (a member that left takes its PPEs out with it)."""
    start = days[0]
    out = np.full((len(ppe_row), len(days)), -1, dtype=np.int32)
    for ms in memberships:
        member = ms.member
        first = max(ms.valid_from, member.joined_on, start)
        last = min(d for d in (ms.valid_to, member.left_on, days[-1]) if d is not None)
        if last < first:
            continue
        out[ppe_row[ms.ppe_id], (first - start).days : (last - start).days + 1] = member_row[member.pk]
    return out


def renewable_shares(ppes: list[MeteringPoint]) -> tuple[np.ndarray, Decimal]:
    """Renewable share of each PPE's export by installed capacity, and the total generating kW."""
    shares = np.zeros(len(ppes))
    total_kw = Decimal(0)
    for i, ppe in enumerate(ppes):
        generators = list(ppe.generators.all())
        kw = sum((g.capacity_kw for g in generators), Decimal(0))
        renewable = sum((g.capacity_kw for g in generators if g.is_renewable), Decimal(0))
        total_kw += kw
        shares[i] = float(renewable / kw) if kw else 0.0
    return shares, total_kw


def settlement_gather(*, cluster: Cluster, start: dt.date, end: dt.date) -> Gathered:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    memberships = period_memberships(cluster=cluster, start=start, end=end)
    ppes = list(
        MeteringPoint.objects.filter(pk__in={m.ppe_id for m in memberships})
        .select_related("dso")
        .prefetch_related("generators")
        .order_by("code")
    )
    members = sorted({m.member for m in memberships}, key=lambda m: m.ref)
    ppe_row = {p.pk: i for i, p in enumerate(ppes)}
    member_row = {m.pk: i for i, m in enumerate(members)}
    membership = membership_matrix(memberships=memberships, ppe_row=ppe_row, member_row=member_row, days=days)
    shares, generating_kw = renewable_shares(ppes)
    plan = tariff_plan(ppes=ppes, start=start, end=end)
    hours = hours_for_days(start=start, end=end)
    storage = list(StorageUnit.objects.filter(ppe__in=ppes))
    regimes = regime_matrix(ppe_ids=[p.pk for p in ppes], days=days)
    return Gathered(days, ppes, members, memberships, membership, shares, generating_kw, storage, plan, hours,
                    export_required=ppe_export_required(ppes=ppes),
                    attribution=production_attribution(ppes=ppes, hours=hours),
                    regimes=regimes, balanced=balanced_hours_of(regimes=regimes, first_day=start, hours=hours))


def engine_input(
    g: Gathered, *, on_chunk: Callable[[HourlyData], None] | None = None, meter: Iterable[HourlyData] | None = None
) -> HourlyStream:
    """The engine's input with the meter data streamed from the database (read once, by the engine).

    ``meter`` replaces ``g.meter_chunks(on_chunk=on_chunk)`` as the stream (bench_settlement times its reads).
    """
    parts = g.meter_chunks(on_chunk=on_chunk) if meter is None else meter
    attribution = g.attribution or ShareAttribution()
    zones = engine_zones(g)
    return HourlyStream(
        hours_utc=g.hours,
        chunks=((part.import_wh, part.export_wh) for part in parts),
        renewable_share=g.renewable_share,
        membership=g.membership,
        n_members=len(g.members),
        share_override=attribution.override,
        estimated_rows=attribution.mixed,
        # the level's "all member sources" counts the export of PPEs with a generator (not storage-only PPEs)
        generating=np.array([any(True for _ in p.generators.all()) for p in g.ppes], dtype=bool),
        zone_scheme=zones.scheme_of_ppe if zones else None,
        zone_of_hour=zones.zone_of_hour if zones else None,
        n_zones=len(zones.codes) if zones else 1,
    )


@dataclass(frozen=True)
class EngineZones:
    """The run's tariff time zones as the engine takes them (``HourlyStream.zone_*``)."""

    codes: tuple[str, ...]  # zone index → code; index 0 is "" (the all-hours rate)
    scheme_of_ppe: np.ndarray  # int64[n_ppe]: index into the plan's zoned (DSO, group) keys, -1 = never zoned
    zone_of_hour: np.ndarray  # int8[n_schemes, n_hours]: zone index of each hour (0 on days the group is not zoned)


def engine_zones(g: Gathered) -> EngineZones | None:
    """Per zoned (DSO, group) the zone of each UTC hour of the period, read from its local day and
    clock hour (a 23- or 25-hour day maps hour by hour); None when no PPE is priced by zone."""
    keys = sorted(g.plan.zone_days, key=lambda k: (k[0], k[1]))
    if not keys:
        return None
    codes = ("", *sorted({z for days in g.plan.zone_days.values() for zones in days.values() for z in zones} - {""}))
    index = {code: i for i, code in enumerate(codes)}
    axis = hour_axis(g.hours)
    zone_of_hour = np.zeros((len(keys), len(axis.day_of_hour)), dtype=np.int8)
    for k, key in enumerate(keys):
        days = g.plan.zone_days[key]
        for d, day in enumerate(axis.days):
            zones = days.get(day)
            if zones is None:
                continue
            lookup = np.array([index[z] for z in zones], dtype=np.int8)
            hours = slice(int(axis.day_starts[d]), int(axis.day_starts[d + 1]) if d + 1 < len(axis.days) else None)
            zone_of_hour[k, hours] = lookup[axis.local_hour[hours]]
    scheme = {key: i for i, key in enumerate(keys)}
    scheme_of_ppe = np.array([scheme.get((p.dso_id, p.tariff_group), -1) for p in g.ppes], dtype=np.int64)
    return EngineZones(codes, scheme_of_ppe, zone_of_hour)


def engine_segments(g: Gathered) -> list[RateSegment]:
    start = g.days[0]
    zones = engine_zones(g)
    zone_index = {code: i for i, code in enumerate(zones.codes)} if zones else {"": 0}
    segments = []
    for seg in g.plan.segments:
        tariffs: list[Tariff] = []
        index: dict[int, int] = {}
        of_ppe = np.full(len(g.ppes), -1, dtype=np.int64)
        zone_tariffs = np.full((len(g.ppes), len(zone_index)), -1, dtype=np.int64) if zones else None
        for i, ppe in enumerate(g.ppes):
            for zone, rate in seg.rates[ppe.pk].items():
                if rate.pk not in index:
                    index[rate.pk] = len(tariffs)
                    tariffs.append(Tariff(rate.variable_rate, rate.quality_rate))
                if zone == "":
                    of_ppe[i] = index[rate.pk]
                elif zone_tariffs is not None:
                    zone_tariffs[i, zone_index[zone]] = index[rate.pk]
        fees = tuple(
            Fee(f.code, f.effective_rate, cluster=f.applies_to_cluster, cooperative=f.applies_to_cooperative)
            for f in seg.fees
        )
        segments.append(
            RateSegment((seg.start - start).days, (seg.end - start).days + 1, tuple(tariffs), of_ppe, fees, seg.exempt,
                        zone_tariffs=zone_tariffs)
        )
    return segments


def engine_tiers(g: Gathered) -> list[Tier]:
    return [Tier(t.threshold_pct, t.discount_pct) for t in g.plan.tiers]


def allocation_keys(*, cluster: Cluster, members: list[Member], on: dt.date) -> np.ndarray:
    """Shares of the key set in force on ``on`` (the period's first day), in ``members`` order."""
    shares = allocation_key_shares(cluster=cluster, on=on)
    return np.array([float(shares.get(m.pk, 0)) for m in members])
