"""The pure settlement engine: numbers in, numbers out; no Django import.

- ``scenarios``: the seed's worked examples (tier table, cooperative, storage comparison);
- ``hourly``: ``settle`` on hourly PPE × hour arrays;
- ``storage``: ``storage_simulate`` (registered + hypothetical storage);
- ``money``: the rounding points.
"""

from __future__ import annotations

from .calendar import HourAxis, hour_axis, hours_for_days, quarters_to_hours
from .hourly import PRO_RATA, STATIC, EnergyFlows, HourlyInput, HourlyStream, energy_flows
from .money import grosze_split, money_round, per_mwh, wh_amount
from .results import MemberResult, PPEResult, RateSegment, SettlementResult, settle
from .scenarios import (
    CooperativeScenario,
    PerMWh,
    StorageComparison,
    TierScenario,
    cooperative_scenario,
    storage_comparison,
    tier_scenarios,
)
from .storage import DEFAULT_PRICE_SPREAD, StorageScenario, StorageSpec, storage_dispatch, storage_simulate
from .types import Fee, Tariff, Tier, tier_for

__all__ = [
    "DEFAULT_PRICE_SPREAD",
    "PRO_RATA",
    "STATIC",
    "CooperativeScenario",
    "EnergyFlows",
    "HourAxis",
    "HourlyInput",
    "HourlyStream",
    "MemberResult",
    "PPEResult",
    "RateSegment",
    "SettlementResult",
    "StorageScenario",
    "StorageSpec",
    "energy_flows",
    "hour_axis",
    "hours_for_days",
    "quarters_to_hours",
    "settle",
    "storage_dispatch",
    "storage_simulate",
    "Fee",
    "PerMWh",
    "StorageComparison",
    "Tariff",
    "Tier",
    "TierScenario",
    "cooperative_scenario",
    "grosze_split",
    "money_round",
    "per_mwh",
    "storage_comparison",
    "tier_for",
    "tier_scenarios",
    "wh_amount",
]
