"""Hourly energy flows: PPE × hour arrays → shared energy per hour and per PPE-day.

For every hour h of the period, counting only PPEs that are members in h:
- renewable fed-in = Σ export × renewable share of the PPE. A PPE with renewable
  and other generators: in the hours ``share_override`` gives (production data of
  all its generators, total production > 0) the share is RES production / total
  production in that hour; in its other hours with fed-in energy the share by
  installed capacity is an estimate, counted per PPE in ``estimated_hours``;
- drawn = Σ import;
- generation fed-in = Σ export of the PPEs with at least one generator (``generating``;
  a storage-only PPE's export is not generation);
- shared_h = min(renewable fed-in_h, drawn_h) (art. 38c: energy fed in and drawn
  "dla danej godziny okresu rozliczeniowego"); the fee exemptions use it;
- the autoconsumption level's numerator is either Σ_h shared_h (renewable only) or
  Σ_h min(generation fed-in_h, drawn_h) (all member sources, the seed's definition);
  both are computed, the rule picks the one that sets the tier (``results.settle``);
- cooperative: per hour renewable fed-in and drawn balance 1 : 1 (Dz.U. 2022 poz. 703),
  the hourly surplus and deficit then net in the ratio 1 : coefficient over each netting
  period (month or year) with surplus carried forward (art. 38e ustawy o OZE;
  ``cooperative.cooperative_netting``). A PPE's settled energy: its pro-rata share of the
  balanced energy in the hour, plus its draw in the hour × deficit_h / drawn_h scaled by
  netted / Σ deficit of the netting period.
- tariff time zones: a zoned PPE's shared and settled energy is also summed per zone and day
  (the zone of each hour comes from its scheme's ``zone_of_hour``: local clock hours, so a 23-
  or 25-hour day maps hour by hour), so ``results.settle`` prices each zone at its own rate.

The PPE axis is processed in chunks so the temporaries stay small; only
PPE × day sums and the members' hourly draw (int32 where it fits) are kept.
The meter data may arrive as a stream of PPE chunks (``HourlyStream``), so a
caller never has to hold the PPE × hour export or quality matrices. Floats
live only here; callers get integer Wh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from .allocation import keys_allocate
from .calendar import WARSAW, HourAxis, hour_axis
from .cooperative import CarriedSurplus, CooperativeNetting, cooperative_netting, hourly_balance

PRO_RATA = "pro_rata"
STATIC = "static"
# the cooperative's netting period (``SettlementRule.cooperative_netting_period``)
NETTING_MONTH = "month"
NETTING_YEAR = "year"


@dataclass(frozen=True)
class HourlyInput:
    hours_utc: np.ndarray  # datetime64, consecutive UTC hours
    import_wh: np.ndarray  # int64[n_ppe, n_hours], drawn (A+)
    export_wh: np.ndarray  # int64[n_ppe, n_hours], fed in (A−)
    renewable_share: np.ndarray  # float[n_ppe], 0..1, renewable share of the PPE's export
    membership: np.ndarray  # int32[n_ppe, n_days]: member index on that local day, -1 = not a member
    n_members: int
    tz: str = WARSAW
    # sparse, PPE row → (hour indices, renewable share in those hours): metered attribution; read for
    # the rows of ``estimated_rows`` only (a PPE with one kind of generator has its exact share already)
    share_override: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None
    # rows of PPEs whose share is estimated outside ``share_override`` (renewable and other generators)
    estimated_rows: tuple[int, ...] = ()
    # bool[n_ppe]: the PPE has at least one generator, its export is generation; None: every PPE's export is
    generating: np.ndarray | None = None
    # tariff time zones: int[n_ppe] zone scheme of each PPE (-1: priced at one rate in every hour) and
    # int8[n_schemes, n_hours] the zone of each hour in each scheme (0: the all-hours rate; 1..n_zones-1 the
    # run's zone codes). None: no PPE is zoned (the per-zone sums are not computed)
    zone_scheme: np.ndarray | None = None
    zone_of_hour: np.ndarray | None = None
    n_zones: int = 1


@dataclass(frozen=True)
class HourlyStream:
    """``HourlyInput`` with the meter data as ``(import_wh, export_wh)`` chunks of consecutive PPE rows.

    The chunks are consumed once, in order, and must cover all ``n_ppe`` rows.
    """

    hours_utc: np.ndarray
    chunks: Iterable[tuple[np.ndarray, np.ndarray]]
    renewable_share: np.ndarray
    membership: np.ndarray
    n_members: int
    tz: str = WARSAW
    # sparse, PPE row → (hour indices, renewable share in those hours): metered attribution; read for
    # the rows of ``estimated_rows`` only (a PPE with one kind of generator has its exact share already)
    share_override: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None
    # rows of PPEs whose share is estimated outside ``share_override`` (renewable and other generators)
    estimated_rows: tuple[int, ...] = ()
    # bool[n_ppe]: the PPE has at least one generator, its export is generation; None: every PPE's export is
    generating: np.ndarray | None = None
    # tariff time zones: int[n_ppe] zone scheme of each PPE (-1: priced at one rate in every hour) and
    # int8[n_schemes, n_hours] the zone of each hour in each scheme (0: the all-hours rate; 1..n_zones-1 the
    # run's zone codes). None: no PPE is zoned (the per-zone sums are not computed)
    zone_scheme: np.ndarray | None = None
    zone_of_hour: np.ndarray | None = None
    n_zones: int = 1


# PPE rows per temporary: ~1 M cells keeps each float64 temporary near 8 MB
CELL_BUDGET = 1 << 20
INT32_MAX = np.iinfo(np.int32).max


@dataclass
class EnergyFlows:
    axis: HourAxis
    drawn_h: np.ndarray
    fed_h: np.ndarray
    renewable_h: np.ndarray
    shared_h: np.ndarray
    settled_h: np.ndarray
    # float[n_ppe, n_days] sums over the hours the PPE was a member
    daily_drawn: np.ndarray
    daily_fed: np.ndarray
    daily_renewable: np.ndarray
    daily_shared: np.ndarray
    daily_settled: np.ndarray
    # PPE row → member hours with fed-in energy whose renewable share was estimated (``estimated_rows`` only)
    estimated_hours: dict[int, int] = field(default_factory=dict)
    # members' generation fed-in per hour (PPEs with a generator; renewable or not)
    generation_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the cooperative's netting, one entry per netting period of the run, in order
    netting: tuple[CooperativeNetting, ...] = ()
    # zoned PPEs only (``zone_scheme`` ≥ 0): their rows, and their shared / settled energy per zone and day,
    # float[n_zones, len(zone_rows), n_days] (Σ over zones = the rows of ``daily_shared`` / ``daily_settled``)
    zone_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    zone_daily_shared: np.ndarray | None = None
    zone_daily_settled: np.ndarray | None = None


def energy_flows(
    *,
    data: HourlyInput | HourlyStream,
    allocation: str = PRO_RATA,
    keys: np.ndarray | None = None,
    coefficient: Decimal | float = Decimal("0.6"),
    chunk_rows: int = 2048,
    netting_period: str = NETTING_MONTH,
    carried_in: Sequence[CarriedSurplus] = (),
    carry_months: int = 12,
) -> EnergyFlows:
    axis = hour_axis(data.hours_utc, tz=data.tz)
    n_hours = len(axis.day_of_hour)
    n_ppe, n_days = data.membership.shape
    if n_days != len(axis.days):
        raise ValueError(f"membership must be [n_ppe, n_days] = [{n_ppe}, {len(axis.days)}]")
    if allocation not in (PRO_RATA, STATIC):
        raise ValueError(f"unknown allocation {allocation!r}")
    step = max(1, min(chunk_rows, CELL_BUDGET // max(n_hours, 1)))
    sums = _sum_rows(data, axis, static=allocation == STATIC, step=step, chunk_rows=chunk_rows)

    shared_h = np.minimum(sums.renewable_h, sums.drawn_h)
    netting, settled_h = _cooperative(
        axis, renewable_h=sums.renewable_h, drawn_h=sums.drawn_h, coefficient=coefficient,
        netting_period=netting_period, carried_in=carried_in, carry_months=carry_months,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sums.drawn_h > 0, shared_h / sums.drawn_h, 0.0)
        ratio_settled = np.where(sums.drawn_h > 0, settled_h / sums.drawn_h, 0.0)
        factor = None
        if sums.member_drawn is not None:
            if keys is None or len(keys) != int(data.n_members):
                raise ValueError("static allocation needs one key per member")
            alloc = keys_allocate(shared_h=shared_h, member_drawn=sums.member_drawn, keys=np.asarray(keys))
            factor = np.where(sums.member_drawn > 0, alloc / sums.member_drawn, 0.0)
    zones = _ZoneSums.of(data, n_days=n_days, n_hours=n_hours)
    daily_shared, daily_settled = _share_rows(
        data, axis, drawn_store=sums.drawn_store, ratio=ratio, ratio_settled=ratio_settled, factor=factor, step=step,
        zones=zones,
    )
    return EnergyFlows(
        axis=axis,
        drawn_h=sums.drawn_h,
        fed_h=sums.fed_h,
        renewable_h=sums.renewable_h,
        shared_h=shared_h,
        settled_h=settled_h,
        daily_drawn=sums.daily_drawn,
        daily_fed=sums.daily_fed,
        daily_renewable=sums.daily_renewable,
        daily_shared=daily_shared,
        daily_settled=daily_settled,
        estimated_hours=sums.estimated_hours,
        generation_h=sums.generation_h,
        netting=netting,
        zone_rows=zones.rows if zones else np.zeros(0, dtype=np.int64),
        zone_daily_shared=zones.shared if zones else None,
        zone_daily_settled=zones.settled if zones else None,
    )


@dataclass
class _ZoneSums:
    """Pass 2's per-zone sums of the zoned PPEs (``HourlyInput.zone_scheme`` ≥ 0)."""

    rows: np.ndarray  # int64[n_zoned] PPE rows
    slot: np.ndarray  # int64[n_ppe] index into ``rows`` (-1: not zoned)
    scheme: np.ndarray  # int64[n_ppe]
    zone_of_hour: np.ndarray  # int[n_schemes, n_hours]
    shared: np.ndarray  # float[n_zones, n_zoned, n_days]
    settled: np.ndarray

    @classmethod
    def of(cls, data: HourlyInput | HourlyStream, *, n_days: int, n_hours: int) -> _ZoneSums | None:
        if data.zone_scheme is None or data.zone_of_hour is None:
            return None
        scheme = np.asarray(data.zone_scheme, dtype=np.int64)
        rows = np.nonzero(scheme >= 0)[0]
        if not len(rows):
            return None
        zone_of_hour = np.asarray(data.zone_of_hour)
        n_zones = int(data.n_zones)
        if zone_of_hour.ndim != 2 or zone_of_hour.shape[1] != n_hours:
            raise ValueError("zone_of_hour must be [n_schemes, n_hours]")
        if zone_of_hour.size and (zone_of_hour.min() < 0 or zone_of_hour.max() >= n_zones):
            raise ValueError(f"zone_of_hour holds zones outside 0..{n_zones - 1}")
        if scheme.max() >= len(zone_of_hour):
            raise ValueError("zone_scheme names a scheme zone_of_hour does not have")
        slot = np.full(len(scheme), -1, dtype=np.int64)
        slot[rows] = np.arange(len(rows))
        shape = (n_zones, len(rows), n_days)
        return cls(rows, slot, scheme, zone_of_hour, np.zeros(shape), np.zeros(shape))

    def add(self, a: int, b: int, shared: np.ndarray, settled: np.ndarray, axis: HourAxis) -> None:
        """Rows a..b of pass 2: split the zoned rows' hourly energy by the zone of the hour."""
        rows = self.rows[(self.rows >= a) & (self.rows < b)]
        if not len(rows):
            return
        zone = self.zone_of_hour[self.scheme[rows]]  # [k, n_hours]
        slots = self.slot[rows]
        for z in range(self.shared.shape[0]):
            in_zone = zone == z
            self.shared[z, slots] = _per_day(np.where(in_zone, shared[rows - a], 0.0), axis.day_starts)
            self.settled[z, slots] = _per_day(np.where(in_zone, settled[rows - a], 0.0), axis.day_starts)


def _cooperative(
    axis: HourAxis, *, renewable_h: np.ndarray, drawn_h: np.ndarray, coefficient: Decimal | float, netting_period: str,
    carried_in: Sequence[CarriedSurplus], carry_months: int,
) -> tuple[tuple[CooperativeNetting, ...], np.ndarray]:
    """Net each netting period (calendar month or year of the local days) in order, carrying the
    unused surplus; the hourly settled energy = balanced_h + deficit_h × netted / Σ deficit of its period."""
    if netting_period not in (NETTING_MONTH, NETTING_YEAR):
        raise ValueError(f"unknown netting period {netting_period!r}")
    coef = Decimal(repr(coefficient)) if isinstance(coefficient, float) else Decimal(coefficient)
    key_of_day = [m if netting_period == NETTING_MONTH else m[:4] for m in axis.month_of_day]
    keys = list(dict.fromkeys(key_of_day))
    period_of_hour = np.array([keys.index(key_of_day[d]) for d in range(len(axis.days))], dtype=np.int64)[
        axis.day_of_hour
    ] if len(axis.day_of_hour) else np.zeros(0, dtype=np.int64)
    deficit_h = np.maximum(drawn_h - renewable_h, 0.0)
    scale = np.zeros(len(keys))
    out: list[CooperativeNetting] = []
    carry: Sequence[CarriedSurplus] = carried_in
    for i, key in enumerate(keys):
        hours = period_of_hour == i
        balanced, surplus, deficit = hourly_balance(fed_h=renewable_h[hours], drawn_h=drawn_h[hours])
        start = dt.date(int(key[:4]), int(key[5:7]) if netting_period == NETTING_MONTH else 1, 1)
        result = cooperative_netting(
            balanced_wh=balanced, surplus_wh=surplus, deficit_wh=deficit, coefficient=coef,
            period_start=start, carried_in=carry, carry_months=carry_months,
        )
        scale[i] = result.netted_wh / deficit if deficit else 0.0
        carry = result.carried_out
        out.append(result)
    settled_h = np.minimum(renewable_h, drawn_h) + deficit_h * scale[period_of_hour]
    return tuple(out), settled_h


@dataclass
class _RowSums:
    """Pass 1: hourly totals, PPE × day sums, and each PPE's member draw kept for pass 2."""

    drawn_store: np.ndarray  # int32 (int64 when a value does not fit) [n_ppe, n_hours]
    drawn_h: np.ndarray
    fed_h: np.ndarray
    renewable_h: np.ndarray
    daily_drawn: np.ndarray
    daily_fed: np.ndarray
    daily_renewable: np.ndarray
    member_drawn: np.ndarray | None  # float[n_members, n_hours], static allocation only
    estimated_hours: dict[int, int] = field(default_factory=dict)
    generation_h: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _per_day(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if values.shape[1] == 0:
        return np.zeros((values.shape[0], 0))
    return np.add.reduceat(values, starts, axis=1)


def _member_of(data: HourlyInput | HourlyStream, axis: HourAxis, a: int, b: int) -> np.ndarray:
    """Member index of PPE rows a..b in each hour (-1: not a member)."""
    return data.membership[a:b][:, axis.day_of_hour]


def _input_chunks(
    data: HourlyInput | HourlyStream, *, n_ppe: int, n_hours: int, chunk_rows: int
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    if isinstance(data, HourlyStream):
        return data.chunks
    if data.import_wh.shape != (n_ppe, n_hours) or data.export_wh.shape != (n_ppe, n_hours):
        raise ValueError("import, export and hours must have the same shape")
    return (
        (data.import_wh[a : a + chunk_rows], data.export_wh[a : a + chunk_rows]) for a in range(0, n_ppe, chunk_rows)
    )


def _sum_rows(
    data: HourlyInput | HourlyStream, axis: HourAxis, *, static: bool, step: int, chunk_rows: int
) -> _RowSums:
    n_hours = len(axis.day_of_hour)
    n_ppe, n_days = data.membership.shape
    n_members = int(data.n_members)
    chunks = _input_chunks(data, n_ppe=n_ppe, n_hours=n_hours, chunk_rows=chunk_rows)
    share = np.clip(np.asarray(data.renewable_share, dtype=np.float64), 0.0, 1.0)
    hour_index = np.arange(n_hours, dtype=np.int64)
    # pass 2 needs each PPE's member draw again: kept as integers, 4 bytes a cell while they fit
    sums = _RowSums(
        drawn_store=np.zeros((n_ppe, n_hours), dtype=np.int32),
        drawn_h=np.zeros(n_hours),
        fed_h=np.zeros(n_hours),
        renewable_h=np.zeros(n_hours),
        daily_drawn=np.zeros((n_ppe, n_days)),
        daily_fed=np.zeros((n_ppe, n_days)),
        daily_renewable=np.zeros((n_ppe, n_days)),
        member_drawn=np.zeros((n_members, n_hours)) if static else None,
        generation_h=np.zeros(n_hours),
    )
    generating = None if data.generating is None else np.asarray(data.generating, dtype=bool)
    # renewable_h is summed row by row within blocks of ``chunk_rows`` PPEs whatever the
    # chunking of the input, so the float result does not depend on how the data arrive
    renewable_block: np.ndarray | None = None
    for a, b, imp, exp in _row_pieces(chunks, n_ppe=n_ppe, n_hours=n_hours, step=step, block=chunk_rows):
        member = _member_of(data, axis, a, b)
        if (data.membership[a:b] < 0).any():
            outside = member < 0
            imp = np.where(outside, 0, imp)
            exp = np.where(outside, 0, exp)
        if sums.drawn_store.dtype == np.int32 and imp.size and (imp.max() > INT32_MAX or imp.min() < -INT32_MAX):
            sums.drawn_store = sums.drawn_store.astype(np.int64)
        sums.drawn_store[a:b] = imp
        drawn = imp.astype(np.float64)
        fed = exp.astype(np.float64)
        renewable = fed * share[a:b, None]
        if data.estimated_rows:
            _attribute(data, renewable, fed, a, b, sums.estimated_hours)
        sums.drawn_h += drawn.sum(axis=0)
        sums.fed_h += fed.sum(axis=0)
        sums.generation_h += (fed if generating is None else fed[generating[a:b]]).sum(axis=0)
        if renewable_block is None:
            renewable_block = renewable.sum(axis=0)
        else:
            renewable_block = np.vstack((renewable_block[None, :], renewable)).sum(axis=0)
        if b % chunk_rows == 0 or b == n_ppe:
            sums.renewable_h += renewable_block
            renewable_block = None
        sums.daily_drawn[a:b] = _per_day(drawn, axis.day_starts)
        sums.daily_fed[a:b] = _per_day(fed, axis.day_starts)
        sums.daily_renewable[a:b] = _per_day(renewable, axis.day_starts)
        if sums.member_drawn is not None:
            mask = member >= 0
            cell = member.astype(np.int64) * n_hours + hour_index[None, :]
            sums.member_drawn += np.bincount(
                cell[mask], weights=drawn[mask], minlength=n_members * n_hours
            ).reshape(n_members, n_hours)
    return sums


def _attribute(
    data: HourlyInput | HourlyStream, renewable: np.ndarray, fed: np.ndarray, a: int, b: int, estimated: dict[int, int]
) -> None:
    """Rows a..b: metered renewable shares where ``share_override`` has them (in place), and the
    count of the other member hours with fed-in energy of the ``estimated_rows`` PPEs."""
    override = data.share_override or {}
    for row in data.estimated_rows:
        if not a <= row < b:
            continue
        i = row - a
        unmetered = fed[i] > 0  # ``fed`` is 0 outside membership
        if row in override:
            hours, shares = override[row]
            renewable[i, hours] = fed[i, hours] * np.clip(np.asarray(shares, dtype=np.float64), 0.0, 1.0)
            unmetered[hours] = False
        estimated[row] = estimated.get(row, 0) + int(unmetered.sum())


def _share_rows(
    data: HourlyInput | HourlyStream,
    axis: HourAxis,
    *,
    drawn_store: np.ndarray,
    ratio: np.ndarray,
    ratio_settled: np.ndarray,
    factor: np.ndarray | None,
    step: int,
    zones: _ZoneSums | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2: each PPE's shared and cooperative-settled energy per day (and per zone: ``zones``)."""
    n_ppe, n_days = data.membership.shape
    hour_index = np.arange(len(axis.day_of_hour), dtype=np.int64)
    daily_shared = np.zeros((n_ppe, n_days))
    daily_settled = np.zeros((n_ppe, n_days))
    for a in range(0, n_ppe, step):
        b = min(a + step, n_ppe)
        drawn = drawn_store[a:b].astype(np.float64)
        if factor is None:
            shared = drawn * ratio
        else:
            # within a member, its hourly share goes to its PPEs pro rata to their draw
            shared = drawn * factor[np.clip(_member_of(data, axis, a, b), 0, None), hour_index[None, :]]
        daily_shared[a:b] = _per_day(shared, axis.day_starts)
        if zones is None:
            daily_settled[a:b] = _per_day(drawn * ratio_settled, axis.day_starts)
        else:
            settled = drawn * ratio_settled
            daily_settled[a:b] = _per_day(settled, axis.day_starts)
            zones.add(a, b, shared, settled, axis)
    return daily_shared, daily_settled


def _row_pieces(
    chunks: Iterable[tuple[np.ndarray, np.ndarray]], *, n_ppe: int, n_hours: int, step: int, block: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Cut the input chunks into ``(a, b, import, export)`` pieces of at most ``step`` rows
    that never cross a multiple of ``block``."""
    a = 0
    for imp, exp in chunks:
        imp, exp = np.asarray(imp), np.asarray(exp)
        if imp.ndim != 2 or imp.shape[1] != n_hours or exp.shape != imp.shape:
            raise ValueError("import, export and hours must have the same shape")
        if a + len(imp) > n_ppe:
            raise ValueError("more meter data rows than PPEs in the membership")
        i = 0
        while i < len(imp):
            row = a + i
            size = min(step, len(imp) - i, block - row % block)
            yield row, row + size, imp[i : i + size], exp[i : i + size]
            i += size
        a += len(imp)
    if a != n_ppe:
        raise ValueError("import, export and hours must have the same shape")


def int_split(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative floats to integers that add up to ``total`` (largest remainder)."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    floors = np.floor(values + 1e-9).astype(np.int64)
    left = int(total) - int(floors.sum())
    if left < 0 or left > len(values):
        return np.rint(values).astype(np.int64)
    if left:
        order = np.argsort(-(values - floors), kind="stable")[:left]
        floors[order] += 1
    return floors
