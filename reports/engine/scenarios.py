"""The seed's worked examples as functions (Tables 1–3, 5–6 and 8).

A what-if for a given annual demand: the cluster at each autoconsumption tier,
the energy cooperative at its settlement coefficient, and the per-MWh comparison
with storage. The hourly engine (``settle``) uses the same rounding rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .money import ZERO, money_round, money_str, per_mwh, wh_amount
from .types import Fee, Tier

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PerMWh:
    discount: Decimal
    exemptions: Decimal
    total: Decimal

    @classmethod
    def over(cls, *, discount: Decimal, exemptions: Decimal, total: Decimal, wh: int) -> PerMWh:
        """Rounded amounts divided by the energy they cover (money.py, rounding point 5)."""
        return cls(
            discount=per_mwh(amount=discount, wh=wh),
            exemptions=per_mwh(amount=exemptions, wh=wh),
            total=per_mwh(amount=total, wh=wh),
        )

    def as_json(self) -> dict[str, str]:
        return {"discount": str(self.discount), "exemptions": str(self.exemptions), "total": str(self.total)}


@dataclass(frozen=True)
class TierScenario:
    threshold_pct: Decimal
    discount_pct: Decimal
    demand_wh: int
    shared_wh: int
    # Table 2, unit figures (zł per MWh of shared energy, display rounding only)
    unit_discount_quality: Decimal
    unit_discount_variable: Decimal
    unit_discount: Decimal
    unit_exemptions: dict[str, Decimal]
    unit_exemptions_total: Decimal
    # Table 3, amounts
    discount: Decimal
    exemptions: dict[str, Decimal]
    exemptions_total: Decimal
    total: Decimal
    per_mwh: PerMWh

    def as_json(self) -> dict:
        return {
            "threshold_pct": str(self.threshold_pct),
            "discount_pct": str(self.discount_pct),
            "demand_wh": self.demand_wh,
            "shared_wh": self.shared_wh,
            "unit": {
                "discount_quality": str(self.unit_discount_quality),
                "discount_variable": str(self.unit_discount_variable),
                "discount": str(self.unit_discount),
                "exemptions": {k: str(v) for k, v in self.unit_exemptions.items()},
                "exemptions_total": str(self.unit_exemptions_total),
            },
            "discount": str(self.discount),
            "exemptions": {k: str(v) for k, v in self.exemptions.items()},
            "exemptions_total": str(self.exemptions_total),
            "total": str(self.total),
            "per_mwh": self.per_mwh.as_json(),
        }


@dataclass(frozen=True)
class CooperativeScenario:
    coefficient: Decimal
    demand_wh: int
    settled_wh: int
    discount_variable: Decimal
    discount_quality: Decimal
    discount: Decimal
    exemptions: dict[str, Decimal]
    exemptions_total: Decimal
    total: Decimal
    # per MWh of members' demand (Table 8: 152.11 + 37.26 = 189.37)
    per_mwh: PerMWh
    unit_rate: Decimal = field(default=ZERO)

    def as_json(self) -> dict:
        return {
            "coefficient": str(self.coefficient),
            "settled_wh": self.settled_wh,
            "discount_variable": str(self.discount_variable),
            "discount_quality": str(self.discount_quality),
            "discount": str(self.discount),
            "exemptions": {k: str(v) for k, v in self.exemptions.items()},
            "exemptions_total": str(self.exemptions_total),
            "total": str(self.total),
            "per_mwh": self.per_mwh.as_json(),
        }


def fee_amounts(*, fees: Sequence[Fee], wh: int) -> dict[str, Decimal]:
    """Each fee on ``wh``, rounded separately (money.py point 3)."""
    return {fee.code: money_round(wh_amount(wh=wh, rate=fee.rate)) for fee in fees}


def tier_scenarios(
    *,
    demand_wh: int,
    tiers: Sequence[Tier],
    variable_rate: Decimal,
    quality_rate: Decimal,
    fees: Sequence[Fee],
) -> list[TierScenario]:
    """Table 2/3: for each tier, shared energy = threshold × demand and its benefits.

    Only fees exempt in a cluster (``Fee.cluster``) count; the capacity fee does not.
    """
    cluster_fees = [f for f in fees if f.cluster]
    rows = []
    for tier in sorted(tiers, key=lambda t: t.threshold_pct):
        share = tier.discount_pct / HUNDRED
        shared_wh = int(money_round(Decimal(demand_wh) * tier.threshold_pct / HUNDRED).to_integral_value())
        discount = money_round(wh_amount(wh=shared_wh, rate=share * (variable_rate + quality_rate)))
        exemptions = fee_amounts(fees=cluster_fees, wh=shared_wh)
        exemptions_total = sum(exemptions.values(), ZERO)
        total = discount + exemptions_total
        unit_exemptions = {f.code: money_round(f.rate) for f in cluster_fees}
        rows.append(
            TierScenario(
                threshold_pct=tier.threshold_pct,
                discount_pct=tier.discount_pct,
                demand_wh=demand_wh,
                shared_wh=shared_wh,
                unit_discount_quality=money_round(share * quality_rate),
                unit_discount_variable=money_round(share * variable_rate),
                unit_discount=money_round(share * (variable_rate + quality_rate)),
                unit_exemptions=unit_exemptions,
                unit_exemptions_total=money_round(sum((f.rate for f in cluster_fees), Decimal(0))),
                discount=discount,
                exemptions=exemptions,
                exemptions_total=exemptions_total,
                total=total,
                per_mwh=PerMWh.over(discount=discount, exemptions=exemptions_total, total=total, wh=shared_wh),
            )
        )
    return rows


def cooperative_scenario(
    *,
    demand_wh: int,
    coefficient: Decimal,
    variable_rate: Decimal,
    quality_rate: Decimal,
    fees: Sequence[Fee],
) -> CooperativeScenario:
    """Tables 5, 6, 8: the cooperative on ``coefficient × demand`` settled energy.

    Art. 38e Prawa energetycznego: the seller nets energy fed in against energy
    drawn in the ratio 1 : 0.6, and on the settled energy the cooperative pays
    no quantity-dependent distribution charge (100 % of variable + quality rate)
    and none of the exempt fees, the capacity fee included (``Fee.cooperative``).
    The table assumes the cooperative feeds in as much as its members draw, so
    settled = coefficient × demand; the hourly engine nets hour by hour.
    Per-MWh figures are per MWh of DEMAND (Table 8: 378,741.78 / 2,000 = 189.37).
    """
    coop_fees = [f for f in fees if f.cooperative]
    settled_wh = int((Decimal(demand_wh) * coefficient).to_integral_value())
    return cooperative_amounts(
        demand_wh=demand_wh,
        settled_wh=settled_wh,
        coefficient=coefficient,
        variable_exact=wh_amount(wh=settled_wh, rate=variable_rate),
        quality_exact=wh_amount(wh=settled_wh, rate=quality_rate),
        fees_exact={f.code: wh_amount(wh=settled_wh, rate=f.rate) for f in coop_fees},
        unit_rate=money_round(coefficient * (variable_rate + quality_rate)),
    )


def cooperative_amounts(
    *,
    demand_wh: int,
    settled_wh: int,
    coefficient: Decimal,
    variable_exact: Decimal,
    quality_exact: Decimal,
    fees_exact: dict[str, Decimal],
    unit_rate: Decimal = ZERO,
) -> CooperativeScenario:
    """Round exact cooperative amounts (money.py point 3) and derive totals and per-MWh figures."""
    discount_variable = money_round(variable_exact)
    discount_quality = money_round(quality_exact)
    discount = discount_variable + discount_quality
    exemptions = {code: money_round(value) for code, value in fees_exact.items()}
    exemptions_total = sum(exemptions.values(), ZERO)
    total = discount + exemptions_total
    return CooperativeScenario(
        coefficient=coefficient,
        demand_wh=demand_wh,
        settled_wh=settled_wh,
        discount_variable=discount_variable,
        discount_quality=discount_quality,
        discount=discount,
        exemptions=exemptions,
        exemptions_total=exemptions_total,
        total=total,
        per_mwh=PerMWh.over(discount=discount, exemptions=exemptions_total, total=total, wh=demand_wh),
        unit_rate=unit_rate,
    )


@dataclass(frozen=True)
class StorageComparison:
    cluster_preferences: Decimal
    cluster_price_spread: Decimal
    cluster_total: Decimal
    cooperative_preferences: Decimal
    cooperative_price_spread: Decimal
    cooperative_total: Decimal

    def as_json(self) -> dict[str, str]:
        return {k: money_str(v) for k, v in self.__dict__.items()}


def storage_comparison(
    *, cluster: TierScenario, cooperative: CooperativeScenario, price_spread: Decimal
) -> StorageComparison:
    """The seed's last slide: zł per MWh, cluster with storage vs cooperative.

    The cluster's storage earns the price spread on the energy it shifts (seed:
    180 zł/MWh); the cooperative "stores" in the grid and earns no spread.
    """
    spread = money_round(price_spread)
    return StorageComparison(
        cluster_preferences=cluster.per_mwh.total,
        cluster_price_spread=spread,
        cluster_total=cluster.per_mwh.total + spread,
        cooperative_preferences=cooperative.per_mwh.total,
        cooperative_price_spread=ZERO,
        cooperative_total=cooperative.per_mwh.total,
    )
