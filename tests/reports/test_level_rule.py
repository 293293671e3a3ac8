"""The autoconsumption level's numerator is a rule: all member sources (the seed) or renewable only.

Hand-computed hours: a PV PPE, a gas CHP PPE, a storage-only PPE and two consumers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest

from reports.engine import Fee, HourlyInput, RateSegment, Tariff, Tier, hour_axis, hours_for_days, settle
from reports.engine.results import ALL_SOURCES, RENEWABLE

MWH = 1_000_000
TARIFF = Tariff(D("229.30"), D("24.21"))
FEES = (
    Fee("oze", D("0.00")),
    Fee("cogeneration", D("6.18")),
    Fee("green", D("2.3515")),
    Fee("blue", D("1.50135")),
    Fee("white", D("2.0753")),
    Fee("capacity", D("50.00"), cluster=False),
)
TIERS = tuple(Tier(D(t), D(d)) for t, d in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)])

# MWh in hours 0, 1, 2 of one day (the other hours are zero)
PV = [30, 60, 0]
CHP = [20, 20, 40]
STORAGE = [10, 0, 20]  # a PPE with a storage unit and no generator: its export is not generation
A = [60, 30, 50]
B = [40, 20, 0]


def dataset(*, generating=(True, True, False, False, False)) -> HourlyInput:
    hours = hours_for_days(start=dt.date(2025, 6, 2), end=dt.date(2025, 6, 2))
    n = len(hours)

    def row(values):
        return np.pad(np.asarray(values, dtype=np.int64) * MWH, (0, n - len(values)))

    zero = row([])
    n_days = len(hour_axis(hours).days)
    return HourlyInput(
        hours_utc=hours,
        import_wh=np.vstack([zero, zero, zero, row(A), row(B)]),
        export_wh=np.vstack([row(PV), row(CHP), row(STORAGE), zero, zero]),
        renewable_share=np.array([1.0, 0.0, 0.0, 0.0, 0.0]),
        membership=np.array([[m] * n_days for m in range(5)], dtype=np.int32),
        n_members=5,
        generating=np.array(generating, dtype=bool),
    )


def run(numerator: str, **kwargs):
    data = dataset(**kwargs)
    segments = [RateSegment(0, data.membership.shape[1], (TARIFF,), np.zeros(5, dtype=np.int64), FEES, True)]
    return settle(data=data, tiers=TIERS, segments=segments, level_numerator=numerator)


def test_both_levels_are_computed_hour_by_hour():
    r = run(ALL_SOURCES)
    # drawn 100 + 50 + 50 = 200 MWh
    # renewable: min(30, 100) + min(60, 50) + min(0, 50) = 80 MWh → 40 %
    # all sources: min(30 + 20, 100) + min(60 + 20, 50) + min(40, 50) = 50 + 50 + 40 = 140 MWh → 70 %
    assert (r.drawn_wh, r.shared_wh, r.generation_shared_wh) == (200 * MWH, 80 * MWH, 140 * MWH)
    assert (r.renewable_level_pct, r.all_sources_level_pct) == (D("40.00"), D("70.00"))


def test_all_member_sources_set_the_tier_by_default():
    r = run(ALL_SOURCES)
    assert r.tier == Tier(D(70), D(10))
    assert r.autoconsumption_pct == D("70.00")
    # the discount is on the renewable shared energy: 10 % × 253.51 × 80 MWh
    assert r.discount == D("2028.08")
    assert r.totals_json()["level_numerator"] == "all_sources"
    assert r.totals_json()["all_sources_level_pct"] == "70.00"


def test_renewable_only_gives_no_tier():
    r = run(RENEWABLE)
    assert r.tier is None  # 40 % < 60 %
    assert r.autoconsumption_pct == D("40.00")
    assert r.discount == D("0.00")


def test_exemptions_stay_on_renewable_shared_energy_under_both_rules():
    a, b = run(ALL_SOURCES), run(RENEWABLE)
    # 80 MWh: cogeneration 494.40, green 188.12, blue 120.11, white 166.02, OZE 0
    expected = {"oze": D("0.00"), "cogeneration": D("494.40"), "green": D("188.12"), "blue": D("120.11"), "white": D("166.02")}
    assert a.exemptions == b.exemptions == expected
    assert a.shared_wh == b.shared_wh == 80 * MWH


def test_a_storage_only_ppe_feeds_in_no_generation():
    # counted as generation the storage export would make it min(60, 100) + 50 + min(60, 50) = 160 MWh → 80 %
    assert run(ALL_SOURCES, generating=(True, True, True, False, False)).all_sources_level_pct == D("80.00")
    assert run(ALL_SOURCES).all_sources_level_pct == D("70.00")


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError):
        run("everything")


def test_the_cooperative_nets_the_hourly_surplus_against_the_deficit():
    r = run(ALL_SOURCES)
    # renewable fed vs drawn: hour 0 30/100 → balanced 30, deficit 70; hour 1 60/50 → 50, surplus 10;
    # hour 2 0/50 → deficit 50. Netted min(0.6 × 10, 120) = 6 → settled 80 + 6 = 86 MWh
    (netting,) = r.netting
    assert (netting.balanced_wh, netting.surplus_wh, netting.deficit_wh, netting.netted_wh) == (
        80 * MWH, 10 * MWH, 120 * MWH, 6 * MWH)
    assert r.cooperative.settled_wh == 86 * MWH
    assert r.carried_out == ()
    # consumer A: balanced 60 × 0.3 + 30 = 48; deficit draw 60 × 0.7 + 50 = 92 of 120, × 6 / 120 = 4.6 → 52.6 MWh
    # consumer B: 40 × 0.3 + 20 = 32; 40 × 0.7 = 28 → 1.4 → 33.4 MWh
    settled = r.flows.daily_settled.sum(axis=1)
    assert np.allclose(settled, [0, 0, 0, 52.6 * MWH, 33.4 * MWH])


# --- through a settlement run ----------------------------------------------------------

DAY = dt.date(2025, 6, 2)


@pytest.fixture
def mixed_cluster(cluster):
    """One day: a consumer draws 10 MWh in hours 0–9; a PV PPE feeds in 4 MWh, a gas CHP PPE 3 MWh
    and a storage-only PPE 2 MWh in each of those hours."""
    from members.models import Source
    from reports.metering.store import Block, meter_blocks_upsert
    from reports.models import Quality
    from tests.factories import (
        GeneratorFactory,
        MemberFactory,
        MeteringPointFactory,
        PPEMembershipFactory,
        StorageUnitFactory,
    )

    hours = hours_for_days(start=DAY, end=DAY)
    n = len(hours)
    first = dt.datetime.fromtimestamp(int(hours[0].astype("datetime64[s]").astype(np.int64)), dt.UTC)

    def series(mwh):
        out = np.zeros(n, dtype=np.int64)
        out[:10] = mwh * MWH
        return out

    for ref, imp, exp, kind in (
        ("odbiorca", series(10), series(0), None),
        ("pv", series(0), series(4), Source.PV),
        ("cieplownia", series(0), series(3), Source.CHP_GAS),
        ("magazyn", series(0), series(2), "storage"),
    ):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster, ref=ref))
        meter_blocks_upsert(blocks=[Block(ppe.pk, first, 60, imp, exp, np.full(n, Quality.MEASURED, dtype=np.uint8))])
        if kind == "storage":
            StorageUnitFactory(ppe=ppe)
        elif kind:
            GeneratorFactory(ppe=ppe, source=kind, capacity_kw=D("500"))
    return cluster


def _settle(cluster):
    from reports.models import JobStatus
    from reports.settlement import settlement_request
    from reports.settlement.tasks import settlement_run_task

    run = settlement_request(cluster=cluster, period_start=DAY, period_end=DAY, dispatch=False)
    settlement_run_task(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    return run


def test_a_run_records_both_levels_and_the_rule_that_set_the_tier(mixed_cluster):
    from reports.settlement.snapshot import run_snapshot_read

    run = _settle(mixed_cluster)
    totals = run_snapshot_read(run).totals
    # renewable 10 × min(4, 10) = 40 MWh → 40 %; all member sources 10 × min(4 + 3, 10) = 70 MWh → 70 %
    # (the storage PPE's 2 MWh an hour are not generation: counted they would give 90 %)
    assert (totals.renewable_level_pct, totals.all_sources_level_pct) == (D("40.00"), D("70.00"))
    assert totals.generation_shared_wh == 70 * MWH and totals.shared_wh == 40 * MWH
    assert totals.level_numerator == "all_sources" and totals.autoconsumption_pct == D("70.00")
    assert totals.tier == Tier(D("70.00"), D("10.00"))


def test_the_renewable_only_rule_gives_no_tier_and_the_same_exemptions(mixed_cluster):
    from reports.models import SettlementRule

    default = _settle(mixed_cluster)
    SettlementRule.objects.update(level_numerator="renewable")
    renewable = _settle(mixed_cluster)
    assert renewable.totals["level_numerator"] == "renewable"
    assert renewable.totals["tier"] is None and renewable.totals["discount"] == "0.00"
    assert renewable.totals["autoconsumption_pct"] == "40.00"
    assert default.totals["discount"] != "0.00"
    assert renewable.totals["exemptions"] == default.totals["exemptions"]


def test_the_rule_form_edits_the_level_and_netting_rules(db):
    from reports.admin import SettlementRuleForm

    data = {"exemption_end_date": "2029-12-31", "cooperative_coefficient": "0.6", "completeness_gate_pct": "99",
            "storage_price_spread": "180", "valid_from": "2023-01-01", "valid_to": "2023-12-31"}
    form = SettlementRuleForm({**data, "level_numerator": "renewable", "cooperative_netting_period": "year",
                               "cooperative_carry_months": "6"})
    assert form.is_valid(), form.errors
    rule = form.save()
    assert (rule.level_numerator, rule.cooperative_netting_period, rule.cooperative_carry_months) == ("renewable", "year", 6)
    # left out: the defaults (all member sources, monthly netting, 12 months)
    rule = SettlementRuleForm({**data, "valid_from": "2022-01-01", "valid_to": "2022-12-31"}).save()
    assert (rule.level_numerator, rule.cooperative_netting_period, rule.cooperative_carry_months) == (
        "all_sources", "month", 12)
    assert "level_numerator" in SettlementRuleForm({**data, "level_numerator": "everything"}).errors


def test_the_result_page_says_which_level_set_the_tier(client, coordinator, mixed_cluster):
    from django.urls import reverse

    run = _settle(mixed_cluster)
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[mixed_cluster.slug, run.id])).content.decode()
    level = html.split('id="level-numerator"')[1].split("</div>")[0]
    assert "poziom autokonsumpcji liczony ze wszystkich źródeł członków" in level
    assert "40,00" in level and "70,00" in level
