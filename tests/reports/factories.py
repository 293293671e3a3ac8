"""Factories for settlement results, filled with the documented JSON shapes
(docs/architecture.md, reports.settlement) and the seed's 70 % example
(domain.md: 2,000 MWh demand, 1,400 MWh shared, 52,442.81 zł)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from reports.models import (
    DiscountTier,
    DistributionRate,
    ExemptFee,
    JobStatus,
    SettlementLine,
    SettlementRule,
    SettlementRun,
)
from reports.settlement.results import run_snapshot_upgrade_store
from reports.settlement.selectors import fee_json, rate_json, rule_json, tier_json
from tests.factories import ClusterFactory, MemberFactory, ppe_code

MWH = 1_000_000

SEED_EXEMPTIONS = {"oze": "0.00", "cogeneration": "8652.00", "green": "3292.10", "blue": "2101.89", "white": "2905.42"}


def seed_totals() -> dict:
    return {
        "drawn_wh": 2000 * MWH,
        "shared_wh": 1400 * MWH,
        "fed_in_wh": 1700 * MWH,
        "renewable_fed_in_wh": 1650 * MWH,
        "autoconsumption_pct": "70.00",
        "tier": {"threshold_pct": "70.00", "discount_pct": "10.00"},
        "discount": "35491.40",
        "exemptions": dict(SEED_EXEMPTIONS),
        "exemptions_total": "16951.41",
        "total": "52442.81",
        "cost_without_cluster": "531955.20",
        "per_mwh": {"discount": "25.35", "exemptions": "12.11", "total": "37.46"},
        "members": 3,
        "ppes": 5,
        "hours": 8760,
        "completeness_pct": "100.00",
        "missing_hours": 0,
        "override_completeness": False,
    }


def seed_hourly_profile() -> list[dict]:
    profile = []
    for hour in range(24):
        sun = max(0, 12 - abs(hour - 12) * 2) if 5 <= hour <= 19 else 0
        drawn = 180_000 + (60_000 if 7 <= hour <= 21 else 0)
        fed = sun * 35_000
        profile.append({"hour": hour, "drawn_wh": drawn, "shared_wh": min(drawn, fed), "fed_in_wh": fed})
    return profile


def seed_monthly() -> list[dict]:
    sun = [3, 5, 8, 11, 13, 14, 14, 12, 9, 6, 3, 2]
    return [
        {"month": f"2025-{m:02d}", "drawn_wh": 170 * MWH, "shared_wh": sun[m - 1] * 10 * MWH, "fed_in_wh": sun[m - 1] * 12 * MWH}
        for m in range(1, 13)
    ]


def seed_cooperative() -> dict:
    return {
        "coefficient": "0.6",
        "settled_wh": 1200 * MWH,
        "discount_variable": "275160.00",
        "discount_quality": "29052.00",
        "discount": "304212.00",
        "exemptions": {"oze": "0.00", "cogeneration": "7416.00", "green": "2821.80", "blue": "1801.62", "white": "2490.36", "capacity": "60000.00"},
        "exemptions_total": "74529.78",
        "total": "378741.78",
        "per_mwh": {"discount": "152.11", "exemptions": "37.26", "total": "189.37"},
    }


def seed_storage() -> dict:
    return {
        "registered": {"power_kw": "10.000", "capacity_kwh": "20.000", "units": 1},
        "generating_kw": "1200.000",
        "price_spread": "180.00",
        "scenarios": [
            {"label": "Zarejestrowane magazyny", "power_kw": "10.000", "capacity_kwh": "20.000", "efficiency": "0.900",
             "autoconsumption_pct": "70.40", "tier": {"threshold_pct": "70.00", "discount_pct": "10.00"},
             "total": "52742.10", "gain": "299.29", "shared_wh": 1_406_570_000, "shifted_wh": 6_570_000,
             "charged_wh": 7_300_000, "spread_value": "1182.60"},
            {"label": "Magazyn 500 kW / 1 000 kWh", "power_kw": "500.000", "capacity_kwh": "1000.000", "efficiency": "0.900",
             "autoconsumption_pct": "80.10", "tier": {"threshold_pct": "80.00", "discount_pct": "15.00"},
             "total": "80215.44", "gain": "27772.63", "shared_wh": 1600 * MWH, "shifted_wh": 200 * MWH,
             "charged_wh": 223 * MWH, "spread_value": "36000.00"},
        ],
    }


def seed_snapshot() -> dict:
    return {
        "rates": [{"dso": None, "tariff_group": "", "variable_rate": "229.3000", "quality_rate": "24.2100", "valid_from": "2024-01-01", "valid_to": None}],
        "fees": [
            {"code": "green", "mode": "obligation", "rate": None, "obligation_pct": "5.0000", "price": "47.0300", "effective_rate": "2.3515", "valid_from": "2024-01-01"},
            {"code": "cogeneration", "mode": "rate", "rate": "6.18000", "obligation_pct": None, "price": None, "effective_rate": "6.18", "valid_from": "2024-01-01"},
        ],
        "tiers": [{"threshold_pct": f"{t}.00", "discount_pct": f"{d}.00", "valid_from": "2024-01-01"} for t, d in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)]],
        "rule": {"exemption_end_date": "2029-12-31", "cooperative_coefficient": "0.600", "completeness_gate_pct": "99.00",
                 "storage_price_spread": "180.00", "valid_from": "2024-01-01"},
        "memberships": [],
        "members": [],
    }


class SettlementRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SettlementRun
        skip_postgeneration_save = True

    cluster = factory.SubFactory(ClusterFactory)
    period_kind = SettlementRun.PeriodKind.YEAR
    period_start = dt.date(2025, 1, 1)
    period_end = dt.date(2025, 12, 31)
    version = 1
    status = JobStatus.DONE
    progress = 100
    totals = factory.LazyFunction(seed_totals)
    hourly_profile = factory.LazyFunction(seed_hourly_profile)
    monthly = factory.LazyFunction(seed_monthly)
    cooperative = factory.LazyFunction(seed_cooperative)
    storage = factory.LazyFunction(seed_storage)
    snapshot = factory.LazyFunction(seed_snapshot)
    diff = factory.LazyFunction(dict)

    @factory.post_generation
    def contract(self, create, extracted, **kwargs):
        """A finished run's ``snapshot`` (given in the short form above) as a run records it: the typed
        snapshot contract, filled and with its scenarios computed as migration 0009 does for old runs."""
        if create and self.status == JobStatus.DONE and "schema" not in (self.snapshot or {}):
            run_snapshot_upgrade_store(self)
            if kwargs.get("eligible", True):
                # Recorded as a run of a cluster eligible for support over the whole period (the
                # factories' members do not model a JST); ``contract__eligible=False`` keeps the verdict
                # evaluated from the registry.
                status = self.snapshot["status"]
                status["eligibility"] = status["eligibility"] | {
                    "eligible": True, "benefit_from": self.period_start.isoformat(), "reasons": [],
                    "masked_days": 0, "evaluated": "run",
                }
                self.save(update_fields=["snapshot"])

    class Params:
        queued = factory.Trait(status=JobStatus.QUEUED, progress=0, totals={}, hourly_profile=[], monthly=[], cooperative={}, storage={}, snapshot={})
        running = factory.Trait(status=JobStatus.RUNNING, progress=40, message="Dopasowanie godzinowe", totals={}, hourly_profile=[], monthly=[], cooperative={}, storage={}, snapshot={})
        failed = factory.Trait(
            status=JobStatus.FAILED, progress=0, totals={}, hourly_profile=[], monthly=[], cooperative={}, storage={}, snapshot={},
            error="Brak danych pomiarowych: kompletność 97,50 % < 99,00 %.",
            missing=factory.LazyFunction(lambda: [
                {"ppe": ppe_code(11), "member": "m1", "hours": 48, "first": "2025-03-01T00:00:00+00:00",
                 "last": "2025-03-02T23:00:00+00:00", "ranges_more": 0,
                 "ranges": [["2025-03-01T00:00:00+00:00", "2025-03-01T22:00:00+00:00"], ["2025-03-02T04:00:00+00:00", "2025-03-02T23:00:00+00:00"]]},
            ]),
        )


class SettlementLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SettlementLine

    run = factory.SubFactory(SettlementRunFactory)
    member = factory.SubFactory(MemberFactory, cluster=factory.SelfAttribute("..run.cluster"))
    member_ref = factory.SelfAttribute("member.ref")
    member_name = factory.SelfAttribute("member.name")
    member_address = "ul. Gliwicka 7, 43-180 Orzesze"
    member_identifiers = factory.LazyFunction(lambda: {"nip": "5213017228"})
    drawn_wh = 800 * MWH
    shared_wh = 560 * MWH
    fed_in_wh = 700 * MWH
    discount = Decimal("14196.56")
    exemptions = factory.LazyFunction(
        lambda: {"oze": "0.00", "cogeneration": "3460.80", "green": "1316.84", "blue": "840.76", "white": "1162.17"}
    )
    exemptions_total = Decimal("6780.57")
    total = Decimal("20977.13")
    cost_without_cluster = Decimal("212782.08")
    ppes = factory.LazyFunction(
        lambda: [
            {"code": ppe_code(101), "drawn_wh": 500 * MWH, "shared_wh": 350 * MWH, "fed_in_wh": 700 * MWH},
            {"code": ppe_code(102), "drawn_wh": 300 * MWH, "shared_wh": 210 * MWH, "fed_in_wh": 0},
        ]
    )
    monthly = factory.LazyFunction(
        lambda: [{"month": f"2025-{m:02d}", "drawn_wh": 800 * MWH // 12, "shared_wh": 560 * MWH // 12} for m in range(1, 13)]
    )


def snapshot_from_tariff_rows(on: dt.date = dt.date(2025, 12, 31)) -> dict:
    """The seeded tariff rows in force, recorded as a settlement run records them."""
    return {
        "rates": [rate_json(r) for r in DistributionRate.objects.in_force(on)],
        "fees": [fee_json(f) for f in ExemptFee.objects.in_force(on)],
        "tiers": [tier_json(t) for t in DiscountTier.objects.in_force(on)],
        "rule": rule_json(SettlementRule.objects.in_force(on).get()),
    }


def march_run(cluster, *, version: int = 1, **fields) -> SettlementRun:
    """The statement tests' settlement: March 2026 (month) recorded with the seeded tariff rows."""
    return SettlementRunFactory(
        cluster=cluster, period_kind="month", period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
        version=version, snapshot=snapshot_from_tariff_rows(), **fields,
    )
