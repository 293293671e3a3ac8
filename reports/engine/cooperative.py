"""The energy cooperative's settlement under the 2022 regulation (pure, no Django).

Dz.U. 2022 poz. 703 (the climate minister's regulation of 23 March 2022): per hour
the cooperative's members' renewable energy fed in and energy drawn balance 1 : 1;
what remains of the hour is a surplus (fed in above drawn) or a deficit (drawn above
fed in). The seller nets the period's surplus against its deficit in the ratio
1 : ``coefficient`` (0.6: art. 38e ustawy o OZE), and surplus not used is carried
forward for at most ``carry_months`` months (the seed's "energy stored in the grid"):

    settled = Σ_h min(fed_h, drawn_h) + min(coefficient × (Σ_h surplus_h + carried), Σ_h deficit_h)

Carried surplus is used oldest first, so it is spent before it expires. Energy is
integer Wh; the netted amount is rounded half-up to the Wh once, and the surplus it
uses is the exact quotient rounded up (a Wh of deficit is never settled for less
than its 1 / coefficient Wh of surplus).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np


@dataclass(frozen=True)
class CarriedSurplus:
    """Surplus (fed-in Wh) left unused at the end of the netting period starting ``origin``."""

    origin: dt.date
    wh: int


@dataclass(frozen=True)
class CooperativeNetting:
    balanced_wh: int  # Σ_h min(fed_h, drawn_h)
    surplus_wh: int  # Σ_h max(fed_h − drawn_h, 0) of this period
    deficit_wh: int  # Σ_h max(drawn_h − fed_h, 0)
    carried_in_wh: int  # surplus brought from earlier periods and still usable
    expired_wh: int  # surplus brought in that was older than the carry-forward limit
    netted_wh: int  # drawn energy settled against surplus: min(coefficient × available, deficit)
    used_surplus_wh: int  # fed-in Wh that netting used (carried first, oldest first)
    carried_out: tuple[CarriedSurplus, ...]  # what the next period may use

    @property
    def settled_wh(self) -> int:
        return self.balanced_wh + self.netted_wh


def hourly_balance(*, fed_h: np.ndarray, drawn_h: np.ndarray) -> tuple[int, int, int]:
    """(balanced, surplus, deficit) Wh over the hours: the 1 : 1 hourly balancing."""
    fed = np.asarray(fed_h, dtype=np.float64)
    drawn = np.asarray(drawn_h, dtype=np.float64)
    balanced = np.minimum(fed, drawn)
    return (
        int(np.rint(balanced.sum())),
        int(np.rint(np.maximum(fed - drawn, 0.0).sum())),
        int(np.rint(np.maximum(drawn - fed, 0.0).sum())),
    )


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def cooperative_netting(
    *,
    balanced_wh: int,
    surplus_wh: int,
    deficit_wh: int,
    coefficient: Decimal,
    period_start: dt.date,
    carried_in: Sequence[CarriedSurplus] = (),
    carry_months: int = 12,
) -> CooperativeNetting:
    """Net one period's surplus (with what earlier periods carried) against its deficit."""
    if coefficient <= 0:
        raise ValueError("the netting coefficient must be positive")
    if min(balanced_wh, surplus_wh, deficit_wh) < 0:
        raise ValueError("energy must not be negative")
    usable = sorted(
        (c for c in carried_in if c.wh > 0 and months_between(c.origin, period_start) <= carry_months),
        key=lambda c: c.origin,
    )
    expired = sum(c.wh for c in carried_in if c.wh > 0) - sum(c.wh for c in usable)
    pool = [*usable, CarriedSurplus(origin=period_start, wh=surplus_wh)]
    available = sum(c.wh for c in pool)
    netted = min(
        int((coefficient * available).to_integral_value(rounding=ROUND_HALF_UP)),
        deficit_wh,
    )
    needed = min(int((Decimal(netted) / coefficient).to_integral_value(rounding=ROUND_CEILING)), available)
    left: list[CarriedSurplus] = []
    remaining_need = needed
    for entry in pool:
        take = min(entry.wh, remaining_need)
        remaining_need -= take
        if entry.wh - take > 0:
            left.append(CarriedSurplus(origin=entry.origin, wh=entry.wh - take))
    return CooperativeNetting(
        balanced_wh=balanced_wh,
        surplus_wh=surplus_wh,
        deficit_wh=deficit_wh,
        carried_in_wh=sum(c.wh for c in usable),
        expired_wh=expired,
        netted_wh=netted,
        used_surplus_wh=needed,
        carried_out=tuple(left),
    )
