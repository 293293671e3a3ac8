"""Hourly energy flows: PPE × hour arrays → shared energy per hour and per PPE-day.

For every hour h of the period, counting only PPEs that are members in h:
- renewable fed-in = Σ export × renewable share of the PPE (a PPE with renewable
  and other generators: its export is split by installed renewable capacity);
- drawn = Σ import;
- shared_h = min(renewable fed-in_h, drawn_h) (art. 38c: energy fed in and drawn
  "dla danej godziny okresu rozliczeniowego");
- cooperative settled_h = min(coefficient × renewable fed-in_h, drawn_h): the
  seller nets fed-in against drawn in the ratio 1 : 0.6 (art. 38e), hour by hour.

The PPE axis is processed in chunks so the temporaries stay small; only
PPE × day sums are kept. Floats live only here; callers get integer Wh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .allocation import keys_allocate
from .calendar import WARSAW, HourAxis, hour_axis

PRO_RATA = "pro_rata"
STATIC = "static"


@dataclass(frozen=True)
class HourlyInput:
    hours_utc: np.ndarray  # datetime64, consecutive UTC hours
    import_wh: np.ndarray  # int64[n_ppe, n_hours], drawn (A+)
    export_wh: np.ndarray  # int64[n_ppe, n_hours], fed in (A−)
    renewable_share: np.ndarray  # float[n_ppe], 0..1, renewable share of the PPE's export
    membership: np.ndarray  # int32[n_ppe, n_days]: member index on that local day, -1 = not a member
    n_members: int
    tz: str = WARSAW


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


def energy_flows(
    *,
    data: HourlyInput,
    allocation: str = PRO_RATA,
    keys: np.ndarray | None = None,
    coefficient: float = 0.6,
    chunk_rows: int = 2048,
) -> EnergyFlows:
    axis = hour_axis(data.hours_utc, tz=data.tz)
    n_ppe, n_hours = data.import_wh.shape
    n_days = len(axis.days)
    if data.export_wh.shape != (n_ppe, n_hours) or len(axis.day_of_hour) != n_hours:
        raise ValueError("import, export and hours must have the same shape")
    if data.membership.shape != (n_ppe, n_days):
        raise ValueError(f"membership must be [n_ppe, n_days] = [{n_ppe}, {n_days}]")
    if allocation not in (PRO_RATA, STATIC):
        raise ValueError(f"unknown allocation {allocation!r}")
    share = np.clip(np.asarray(data.renewable_share, dtype=np.float64), 0.0, 1.0)
    starts = axis.day_starts
    hour_index = np.arange(n_hours, dtype=np.int64)
    n_members = int(data.n_members)

    # pass 2 reuses pass 1's chunks while they fit a modest budget (else recomputes them)
    keep = n_ppe * n_hours <= 12_000_000
    kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def chunk(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if a in kept:
            return kept.pop(a)
        member = data.membership[a:b][:, axis.day_of_hour]
        drawn = data.import_wh[a:b].astype(np.float64)
        fed = data.export_wh[a:b].astype(np.float64)
        if (data.membership[a:b] < 0).any():
            outside = member < 0
            drawn[outside] = 0.0
            fed[outside] = 0.0
        if keep:
            kept[a] = (member, drawn, fed)
        return member, drawn, fed

    def per_day(values: np.ndarray) -> np.ndarray:
        if values.shape[1] == 0:
            return np.zeros((values.shape[0], 0))
        return np.add.reduceat(values, starts, axis=1)

    drawn_h = np.zeros(n_hours)
    fed_h = np.zeros(n_hours)
    renewable_h = np.zeros(n_hours)
    daily_drawn = np.zeros((n_ppe, n_days))
    daily_fed = np.zeros((n_ppe, n_days))
    daily_renewable = np.zeros((n_ppe, n_days))
    member_drawn = np.zeros((n_members, n_hours)) if allocation == STATIC else None
    for a in range(0, n_ppe, chunk_rows):
        b = min(a + chunk_rows, n_ppe)
        member, drawn, fed = chunk(a, b)
        renewable = fed * share[a:b, None]
        drawn_h += drawn.sum(axis=0)
        fed_h += fed.sum(axis=0)
        renewable_h += renewable.sum(axis=0)
        daily_drawn[a:b] = per_day(drawn)
        daily_fed[a:b] = per_day(fed)
        daily_renewable[a:b] = per_day(renewable)
        if member_drawn is not None:
            mask = member >= 0
            cell = member.astype(np.int64) * n_hours + hour_index[None, :]
            member_drawn += np.bincount(
                cell[mask], weights=drawn[mask], minlength=n_members * n_hours
            ).reshape(n_members, n_hours)

    shared_h = np.minimum(renewable_h, drawn_h)
    settled_h = np.minimum(coefficient * renewable_h, drawn_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(drawn_h > 0, shared_h / drawn_h, 0.0)
        ratio_settled = np.where(drawn_h > 0, settled_h / drawn_h, 0.0)
        factor = None
        if member_drawn is not None:
            if keys is None or len(keys) != n_members:
                raise ValueError("static allocation needs one key per member")
            alloc = keys_allocate(shared_h=shared_h, member_drawn=member_drawn, keys=np.asarray(keys))
            factor = np.where(member_drawn > 0, alloc / member_drawn, 0.0)

    daily_shared = np.zeros((n_ppe, n_days))
    daily_settled = np.zeros((n_ppe, n_days))
    for a in range(0, n_ppe, chunk_rows):
        b = min(a + chunk_rows, n_ppe)
        member, drawn, _ = chunk(a, b)
        kept.pop(a, None)
        if factor is None:
            shared = drawn * ratio
        else:
            # within a member, its hourly share goes to its PPEs pro rata to their draw
            shared = drawn * factor[np.clip(member, 0, None), hour_index[None, :]]
        daily_shared[a:b] = per_day(shared)
        daily_settled[a:b] = per_day(drawn * ratio_settled)

    return EnergyFlows(
        axis=axis,
        drawn_h=drawn_h,
        fed_h=fed_h,
        renewable_h=renewable_h,
        shared_h=shared_h,
        settled_h=settled_h,
        daily_drawn=daily_drawn,
        daily_fed=daily_fed,
        daily_renewable=daily_renewable,
        daily_shared=daily_shared,
        daily_settled=daily_settled,
    )


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
