"""Storage simulation: what storage dispatched for the cluster's balance would change.

A simple, documented dispatch on the cluster's hourly totals:
- in an hour with renewable surplus (renewable fed-in > drawn) the storage
  charges from the surplus, limited by its power and free capacity;
- in an hour with a deficit it discharges into the deficit, limited by its
  power and state of charge;
- round-trip losses are taken on charging (stored = charged × efficiency);
- it starts empty; several units act as one (powers and capacities add up).

Discharged energy is renewable energy fed in again in a deficit hour, so each
discharged Wh becomes shared energy (charging takes only surplus, which was
not shared). The meter data already contain the registered units as they were
operated; the "registered" scenario shows them dispatched for the cluster.

Money for the added shared energy uses the period's average rates per Wh of
shared energy (exact, from the settlement): the tier discount on the average
variable + quality rate and the average exempt fees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .money import money_round, money_str, pct_of, wh_amount
from .types import Tier, tier_for

DEFAULT_PRICE_SPREAD = Decimal("180.00")  # zł/MWh, the seed's "różnice cen energii"


@dataclass(frozen=True)
class StorageSpec:
    label: str
    power_kw: Decimal
    capacity_kwh: Decimal
    efficiency: Decimal


@dataclass(frozen=True)
class StorageScenario:
    label: str
    power_kw: Decimal
    capacity_kwh: Decimal
    efficiency: Decimal
    shared_wh: int
    autoconsumption_pct: Decimal
    tier: Tier | None
    total: Decimal
    gain: Decimal
    shifted_wh: int
    charged_wh: int
    spread_value: Decimal

    def as_json(self) -> dict:
        return {
            "label": self.label,
            "power_kw": str(self.power_kw),
            "capacity_kwh": str(self.capacity_kwh),
            "efficiency": str(self.efficiency),
            "shared_wh": self.shared_wh,
            "autoconsumption_pct": str(self.autoconsumption_pct),
            "tier": self.tier.as_json() if self.tier else None,
            "total": money_str(self.total),
            "gain": money_str(self.gain),
            "shifted_wh": self.shifted_wh,
            "charged_wh": self.charged_wh,
            "spread_value": money_str(self.spread_value),
        }


def storage_dispatch(
    *, renewable_h: np.ndarray, drawn_h: np.ndarray, power_wh: float, capacity_wh: float, efficiency: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hourly (charge, discharge) in Wh for one aggregated storage."""
    surplus = (np.asarray(renewable_h, dtype=np.float64) - np.asarray(drawn_h, dtype=np.float64)).tolist()
    charge = [0.0] * len(surplus)
    discharge = [0.0] * len(surplus)
    soc = 0.0
    eff = max(float(efficiency), 1e-9)
    for h, s in enumerate(surplus):
        if s > 0:
            c = min(s, power_wh, (capacity_wh - soc) / eff)
            if c > 0:
                charge[h] = c
                soc += c * eff
        elif s < 0:
            d = min(-s, power_wh, soc)
            if d > 0:
                discharge[h] = d
                soc -= d
    return np.asarray(charge), np.asarray(discharge)


def storage_simulate(
    *,
    renewable_h: np.ndarray,
    drawn_h: np.ndarray,
    shared_wh: int,
    drawn_wh: int,
    tiers: Sequence[Tier],
    shared_rate_exact: Decimal,
    shared_fees_exact: Decimal,
    specs: Sequence[StorageSpec],
    price_spread: Decimal = DEFAULT_PRICE_SPREAD,
    prices: np.ndarray | None = None,
) -> list[StorageScenario]:
    """One scenario per spec. ``prices`` (zł/MWh per hour) replaces the flat spread when given:
    the value is then Σ discharge × price − Σ charge × price."""
    rate_per_wh = shared_rate_exact / shared_wh if shared_wh else Decimal(0)
    fees_per_wh = shared_fees_exact / shared_wh if shared_wh else Decimal(0)

    def benefit(shared: int) -> Decimal:
        tier = tier_for(tiers=list(tiers), shared_wh=shared, drawn_wh=drawn_wh)
        share = tier.discount_pct / 100 if tier else Decimal(0)
        return money_round(Decimal(shared) * (share * rate_per_wh + fees_per_wh))

    # the gain is measured against the same average-rate formula, so no storage means no gain
    base = benefit(int(shared_wh))
    out = []
    for spec in specs:
        charge, discharge = storage_dispatch(
            renewable_h=renewable_h,
            drawn_h=drawn_h,
            power_wh=float(spec.power_kw) * 1000.0,
            capacity_wh=float(spec.capacity_kwh) * 1000.0,
            efficiency=float(spec.efficiency),
        )
        shifted = int(np.rint(discharge.sum()))
        new_shared = int(shared_wh) + shifted
        tier = tier_for(tiers=list(tiers), shared_wh=new_shared, drawn_wh=drawn_wh)
        total = benefit(new_shared)
        if prices is None:
            spread_value = money_round(wh_amount(wh=shifted, rate=price_spread))
        else:
            p = np.asarray(prices, dtype=np.float64)
            spread_value = money_round(Decimal(repr(float((discharge * p).sum() - (charge * p).sum()) / 1e6)))
        out.append(
            StorageScenario(
                label=spec.label,
                power_kw=spec.power_kw,
                capacity_kwh=spec.capacity_kwh,
                efficiency=spec.efficiency,
                shared_wh=new_shared,
                autoconsumption_pct=pct_of(part=new_shared, whole=drawn_wh),
                tier=tier,
                total=total,
                gain=total - base,
                shifted_wh=shifted,
                charged_wh=int(np.rint(charge.sum())),
                spread_value=spread_value,
            )
        )
    return out
