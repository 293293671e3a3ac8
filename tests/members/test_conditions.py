from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from members.models import ClusterKind, ConditionRule
from members.services.conditions import cluster_conditions, cluster_status
from members.services.datastamp import MeasuredEnergy
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 6, 1)


def _ppe(cluster, *, demand_kwh: str | None = None, member=None, valid_to: dt.date | None = None):
    ppe = MeteringPointFactory(cluster=cluster, annual_demand_kwh=Decimal(demand_kwh) if demand_kwh else None)
    PPEMembershipFactory(ppe=ppe, member=member or MemberFactory(cluster=cluster), valid_to=valid_to)
    return ppe


def _generation(cluster, *, pv_kw: str, conventional_kw: str = "0", demand_kwh: str | None = "1000000"):
    ppe = _ppe(cluster, demand_kwh=demand_kwh)
    GeneratorFactory(ppe=ppe, source="pv", capacity_kw=Decimal(pv_kw))
    if Decimal(conventional_kw):
        GeneratorFactory(ppe=ppe, source="conventional", capacity_kw=Decimal(conventional_kw))
    return ppe


def _by_code(results) -> dict:
    return {r.code: r for r in results}


def test_it_passes_a_res_share_of_exactly_30_percent(cluster) -> None:
    # PV 300 kW × 1000 h = 300 MWh; conventional 175 kW × 4000 h = 700 MWh
    _generation(cluster, pv_kw="300", conventional_kw="175")
    res = _by_code(cluster_conditions(cluster=cluster, on=ON))["res_share"]
    assert (res.ok, res.value, res.threshold, res.estimated) == (True, Decimal("30.00"), Decimal("30"), True)


def test_it_fails_a_res_share_of_29_99_percent(cluster) -> None:
    _generation(cluster, pv_kw="299.9", conventional_kw="175")
    res = _by_code(cluster_conditions(cluster=cluster, on=ON))["res_share"]
    assert res.ok is False
    assert res.value == Decimal("29.99")


def test_it_applies_the_50_percent_res_share_from_2027(cluster) -> None:
    # PV 400 MWh, conventional 600 MWh: 40 %
    _generation(cluster, pv_kw="400", conventional_kw="150")
    before = _by_code(cluster_conditions(cluster=cluster, on=dt.date(2026, 12, 31)))["res_share"]
    after = _by_code(cluster_conditions(cluster=cluster, on=dt.date(2027, 1, 1)))["res_share"]
    assert (before.ok, before.threshold) == (True, Decimal("30"))
    assert (after.ok, after.threshold) == (False, Decimal("50"))


def test_it_passes_storage_of_exactly_2_percent_and_fails_below(cluster) -> None:
    ppe = _generation(cluster, pv_kw="500")
    unit = StorageUnitFactory(ppe=ppe, power_kw=Decimal("10"))
    storage = _by_code(cluster_conditions(cluster=cluster, on=ON))["storage_share"]
    assert (storage.ok, storage.value, storage.estimated) == (True, Decimal("2.00"), False)
    unit.power_kw = Decimal("9.999")
    unit.save()
    storage = _by_code(cluster_conditions(cluster=cluster, on=ON))["storage_share"]
    assert storage.ok is False
    assert storage.value == Decimal("1.99")


def test_it_passes_exactly_150_mw_and_fails_above(cluster) -> None:
    ppe = _generation(cluster, pv_kw="150000")
    capacity = _by_code(cluster_conditions(cluster=cluster, on=ON))["capacity_max"]
    assert (capacity.ok, capacity.value, capacity.unit) == (True, Decimal("150.00"), "MW")
    GeneratorFactory(ppe=ppe, source="pv", capacity_kw=Decimal("1"))
    capacity = _by_code(cluster_conditions(cluster=cluster, on=ON))["capacity_max"]
    assert capacity.ok is False
    assert capacity.value == Decimal("150.01")  # rounded up: never shown as passing


def test_it_estimates_demand_coverage_from_declared_demand(cluster) -> None:
    _generation(cluster, pv_kw="400", demand_kwh="1000000")  # 400 MWh of 1,000 MWh
    coverage = _by_code(cluster_conditions(cluster=cluster, on=ON))["demand_coverage"]
    assert (coverage.ok, coverage.value, coverage.estimated) == (True, Decimal("40.00"), True)
    _ppe(cluster, demand_kwh="1")
    assert _by_code(cluster_conditions(cluster=cluster, on=ON))["demand_coverage"].ok is False


def test_it_cannot_judge_coverage_without_demand_data(cluster) -> None:
    _generation(cluster, pv_kw="400", demand_kwh=None)
    coverage = _by_code(cluster_conditions(cluster=cluster, on=ON))["demand_coverage"]
    assert coverage.ok is None and coverage.value is None
    assert "zapotrzebowaniu" in coverage.note


def test_it_counts_only_installations_of_active_memberships(cluster) -> None:
    _generation(cluster, pv_kw="100")
    gone = _ppe(cluster, valid_to=dt.date(2026, 5, 31))
    GeneratorFactory(ppe=gone, source="pv", capacity_kw=Decimal("900"))
    later = _ppe(cluster)
    later.memberships.update(valid_from=dt.date(2026, 6, 2))
    GeneratorFactory(ppe=later, source="pv", capacity_kw=Decimal("900"))
    capacity = _by_code(cluster_conditions(cluster=cluster, on=ON))["capacity_max"]
    assert capacity.value == Decimal("0.10")


def test_it_uses_measured_energy_when_given(cluster) -> None:
    _generation(cluster, pv_kw="100", conventional_kw="100")
    measured = MeasuredEnergy(
        year=2025, fed_in_wh=1_000_000, renewable_fed_in_wh=600_000, drawn_wh=2_000_000, generated_wh=1_000_000
    )
    results = _by_code(cluster_conditions(cluster=cluster, on=ON, measured=measured))
    assert (results["res_share"].value, results["res_share"].estimated) == (Decimal("60.00"), False)
    assert (results["demand_coverage"].value, results["demand_coverage"].estimated) == (Decimal("50.00"), False)


def test_it_checks_cooperative_rules_for_a_cooperative(cluster) -> None:
    cluster.kind = ClusterKind.COOPERATIVE
    cluster.save()
    ppe = _generation(cluster, pv_kw="700", demand_kwh="1000000")
    GeneratorFactory(ppe=ppe, source="biogas", capacity_kw=Decimal("0"), thermal_kw=Decimal("31000"),
                     biogas_m3_per_year=Decimal("1000"))
    results = _by_code(cluster_conditions(cluster=cluster, on=ON))
    assert set(results) == {"demand_coverage", "capacity_max", "thermal_max", "biogas_max"}
    assert (results["demand_coverage"].ok, results["demand_coverage"].threshold) == (True, Decimal("70"))
    assert (results["thermal_max"].ok, results["thermal_max"].value) == (False, Decimal("31.00"))
    assert results["biogas_max"].ok is True


def test_it_follows_rules_edited_in_the_admin(cluster) -> None:
    ConditionRule.objects.filter(code="capacity_max", applies_to="cluster").update(threshold=Decimal("100"))
    _generation(cluster, pv_kw="120000")
    assert _by_code(cluster_conditions(cluster=cluster, on=ON))["capacity_max"].ok is False


def test_it_warns_when_no_jst_is_a_member(cluster) -> None:
    _generation(cluster, pv_kw="100")
    status = cluster_status(cluster=cluster, on=ON)
    assert any("samorządu terytorialnego" in w for w in status["warnings"])
    MemberFactory(cluster=cluster, legal_form="jst", name="Miasto Orzesze")
    status = cluster_status(cluster=cluster, on=ON)
    assert not any("samorządu terytorialnego" in w for w in status["warnings"])


def test_it_reports_status_with_strings_for_decimals(cluster) -> None:
    ppe = _generation(cluster, pv_kw="400", conventional_kw="150")
    StorageUnitFactory(ppe=ppe, power_kw=Decimal("20"))
    status = cluster_status(cluster=cluster, on=ON)
    assert status["area_ok"] is True and status["area_errors"] == []
    assert status["installed_mw"] == "0.550"
    assert status["ppes"] == 1
    res = next(c for c in status["conditions"] if c["code"] == "res_share")
    assert {k: res[k] for k in ("ok", "value", "threshold", "estimated")} == {
        "ok": True, "value": "40.00", "threshold": "30", "estimated": True,
    }
