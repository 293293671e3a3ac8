"""Plain value types shared by the engine modules (no Django)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Fee:
    """A fee not charged on shared energy, zł/MWh (unrounded, see money.py)."""

    code: str
    rate: Decimal
    cluster: bool = True
    cooperative: bool = True


@dataclass(frozen=True)
class Tier:
    """Autoconsumption threshold → discount on the variable + quality rate."""

    threshold_pct: Decimal
    discount_pct: Decimal

    def as_json(self) -> dict[str, str]:
        return {"threshold_pct": str(self.threshold_pct), "discount_pct": str(self.discount_pct)}


@dataclass(frozen=True)
class Tariff:
    """Distribution rates of one PPE, zł/MWh."""

    variable_rate: Decimal
    quality_rate: Decimal

    @property
    def rate(self) -> Decimal:
        return self.variable_rate + self.quality_rate


def tier_for(*, tiers: list[Tier] | tuple[Tier, ...], shared_wh: int, drawn_wh: int) -> Tier | None:
    """The highest tier whose threshold the level reaches (exact integer comparison).

    ``shared / drawn ≥ threshold / 100`` is tested as ``shared × 100 ≥ threshold × drawn``
    so 1,400 MWh of 2,000 MWh is exactly 70 % and no float can push it below.
    """
    if drawn_wh <= 0:
        return None
    reached = [t for t in tiers if Decimal(int(shared_wh)) * 100 >= t.threshold_pct * Decimal(int(drawn_wh))]
    return max(reached, key=lambda t: t.threshold_pct, default=None)
