"""Settlement runs through the database: tariffs, memberships, completeness, versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from members.models import Source
from reports.engine import hours_for_days
from reports.metering.store import Block, meter_blocks_upsert
from reports.models import JobStatus, Quality, SettlementRun
from reports.settlement import settlement_request
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)

MWH = 1_000_000
START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 10)


def store(ppe, hours, imp, exp, *, quality=None) -> None:
    first = dt.datetime.fromtimestamp(int(hours[0].astype("datetime64[s]").astype(np.int64)), dt.UTC)
    q = np.full(len(hours), Quality.MEASURED, dtype=np.uint8) if quality is None else quality
    meter_blocks_upsert(blocks=[Block(ppe.pk, first, 60, np.asarray(imp, dtype=np.int64), np.asarray(exp, dtype=np.int64), q)])


@pytest.fixture
def seventy(cluster):
    """The seed's 70 % example as meter data: 2,000 MWh drawn, 1,400 MWh shared."""
    hours = hours_for_days(start=START, end=END)
    n = len(hours)
    drawn = np.where(np.arange(n) < 200, 8_000_000, 10_000_000)
    fed = np.zeros(n, dtype=np.int64)
    fed[:140] = 2 * drawn[:140]
    fed[200:228] = drawn[200:228]
    a = MemberFactory(cluster=cluster, ref="gmina", name="Miasto Orzesze", legal_form="jst")
    b = MemberFactory(cluster=cluster, ref="zielone", name="Spółdzielnia Socjalna Zielone Śląskie")
    c = MemberFactory(cluster=cluster, ref="pv", name="Klastry Energii sp. z o.o.")
    ppes = []
    for member, imp, exp in ((a, drawn * 5 // 8, 0 * fed), (b, drawn * 3 // 8, 0 * fed), (c, 0 * fed, fed)):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member)
        store(ppe, hours, imp, exp)
        ppes.append(ppe)
    GeneratorFactory(ppe=ppes[2], capacity_kw=D("20000"))
    return {"hours": hours, "ppes": ppes, "members": (a, b, c)}


def run_settlement(cluster, **kwargs) -> SettlementRun:
    run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom", **kwargs)
    run.refresh_from_db()
    return run


def test_it_settles_the_seed_example_with_the_default_tariffs(cluster, seventy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    t = run.totals
    assert (t["drawn_wh"], t["shared_wh"]) == (2000 * MWH, 1400 * MWH)
    assert t["tier"] == {"threshold_pct": "70.00", "discount_pct": "10.00"}
    assert (t["discount"], t["exemptions_total"], t["total"]) == ("35491.40", "16951.41", "52442.81")
    assert t["per_mwh"] == {"discount": "25.35", "exemptions": "12.11", "total": "37.46"}
    assert t["exemptions"]["green"] == "3292.10"
    assert "capacity" not in t["exemptions"]
    lines = {line.member_ref: line for line in run.lines.all()}
    assert lines["gmina"].shared_wh == 875 * MWH and lines["zielone"].shared_wh == 525 * MWH
    assert sum(line.total for line in lines.values()) == D("52442.81")
    assert lines["gmina"].member_name == "Miasto Orzesze"
    # full variable + quality + cluster-exempt fees on 875 MWh: 875 × (253.51 + 12.10815)
    assert lines["gmina"].cost_without_cluster == D("232415.88")
    # hourly 1 : 1 balancing: 140 h × 8 MWh + 28 h × 10 MWh = 1,400 MWh; the 140 h leave 1,120 MWh of surplus,
    # the other hours 600 MWh of deficit; netted min(0.6 × 1,120, 600) = 600 → all 2,000 MWh settled
    assert run.cooperative["settled_wh"] == 2000 * MWH
    netting = run.snapshot["cooperative_netting"]
    assert netting["periods"][0] | {"start": "2025-01-01"} == {
        "start": "2025-01-01", "balanced_wh": 1400 * MWH, "surplus_wh": 1120 * MWH, "deficit_wh": 600 * MWH,
        "carried_in_wh": 0, "expired_wh": 0, "netted_wh": 600 * MWH, "used_surplus_wh": 1000 * MWH,
    }
    # 120 MWh of surplus left for February
    assert netting["carried_out"] == [{"origin": "2025-01-01", "wh": 120 * MWH}]
    assert (t["level_numerator"], t["renewable_level_pct"], t["all_sources_level_pct"]) == ("all_sources", "70.00", "70.00")
    assert run.snapshot["rates"][0]["variable_rate"] == "229.3000"
    assert {m["ref"] for m in run.snapshot["members"]} == {"gmina", "zielone", "pv"}
    # the VAT terms as the registry and the rule had them: the JST does not deduct VAT, the companies do
    assert {m["ref"]: m["deducts_vat"] for m in run.snapshot["members"]} == {"gmina": False, "zielone": True, "pv": True}
    assert run.snapshot["rule"]["vat_rate_pct"] == "23.00" and run.snapshot["schema"] == 6
    assert len(run.hourly_profile) == 24 and run.monthly[0]["month"] == "2025-01"
    assert [s["label"] for s in run.storage["scenarios"]] == ["+2 % mocy wytwórczej, 2 h", "+10 % mocy wytwórczej, 2 h"]


def test_it_refuses_a_second_active_run_for_the_same_period(cluster, seventy):
    settlement_request(cluster=cluster, period_start=START, period_end=END, dispatch=False)
    with pytest.raises(ValidationError, match="już w kolejce"):
        settlement_request(cluster=cluster, period_start=START, period_end=END, dispatch=False)


def test_it_numbers_versions_and_records_the_diff(cluster, seventy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = settlement_request(cluster=cluster, period_start=START, period_end=END)
    # corrected PV data: 60 more hours at half the draw → 1,640 MWh shared, 82 % → tier 80 %
    hours = seventy["hours"]
    n = len(hours)
    drawn = np.where(np.arange(n) < 200, 8_000_000, 10_000_000)
    fed = np.zeros(n, dtype=np.int64)
    fed[:140] = 2 * drawn[:140]
    fed[140:200] = drawn[140:200] // 2
    fed[200:228] = drawn[200:228]
    store(seventy["ppes"][2], hours, np.zeros(n), fed)
    with django_capture_on_commit_callbacks(execute=True):
        second = settlement_request(cluster=cluster, period_start=START, period_end=END)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert second.status == JobStatus.DONE, second.error
    assert second.totals["shared_wh"] == 1640 * MWH
    assert second.totals["tier"]["threshold_pct"] == "80.00"
    assert second.diff["previous_version"] == 1
    assert second.diff["totals"]["shared_wh"] == [1400 * MWH, 1640 * MWH]
    assert second.diff["totals"]["total"] == ["52442.81", second.totals["total"]]
    changes = {(c["ref"], c["field"]): (c["old"], c["new"]) for c in second.diff["members"]}
    assert changes[("gmina", "shared_wh")] == (875 * MWH, 1025 * MWH)
    assert ("gmina", "drawn_wh") not in changes
    # the first version is never touched
    assert first.totals["total"] == "52442.81" and first.lines.count() == 3


def test_it_stops_below_the_completeness_gate_and_lists_the_gaps(cluster, seventy, django_capture_on_commit_callbacks):
    hours, ppe = seventy["hours"], seventy["ppes"][0]
    quality = np.full(len(hours), Quality.MEASURED, dtype=np.uint8)
    quality[10:14] = Quality.MISSING
    # re-import with a gap: MISSING slots never overwrite, so delete the stored days first
    ppe.meter_days.all().delete()
    store(ppe, hours, np.full(len(hours), 1000), np.zeros(len(hours)), quality=quality)
    cluster_ppes = len(seventy["ppes"])
    needed = cluster_ppes * len(hours)
    assert 4 / needed < 0.01  # 4 hours missing is above 99 %: passes
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE
    assert run.totals["missing_hours"] == 4 and run.missing[0]["hours"] == 4

    ppe.meter_days.all().delete()
    quality[:] = Quality.MEASURED
    quality[0:24] = Quality.MISSING
    store(ppe, hours, np.full(len(hours), 1000), np.zeros(len(hours)), quality=quality)
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "Niekompletne dane" in run.error and "99,00" in run.error
    assert run.missing == [
        {
            "ppe": ppe.code, "member": "gmina", "hours": 24,
            "first": "2024-12-31T23:00:00+00:00", "last": "2025-01-01T22:00:00+00:00",
            "ranges": [["2024-12-31T23:00:00+00:00", "2025-01-01T22:00:00+00:00"]], "ranges_more": 0,
        }
    ]
    assert run.lines.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, override_completeness=True)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE and run.totals["override_completeness"] is True


def test_it_ignores_readings_outside_membership_and_follows_a_ppe_that_moves(cluster, seventy, django_capture_on_commit_callbacks):
    a, b, _ = seventy["members"]
    ppe = seventy["ppes"][0]
    membership = ppe.memberships.get()
    membership.valid_to = dt.date(2025, 1, 5)
    membership.save()
    PPEMembershipFactory(ppe=ppe, member=b, valid_from=dt.date(2025, 1, 6))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    lines = {line.member_ref: line for line in run.lines.all()}
    # Jan 1–5 local = first 120 hours at 8 MWh/h × 5/8
    assert lines["gmina"].drawn_wh == 120 * 5_000_000
    assert lines["zielone"].drawn_wh == 2000 * MWH - 120 * 5_000_000
    assert run.totals["total"] == "52442.81"
    assert {m["member"] for m in run.snapshot["memberships"] if m["ppe"] == ppe.code} == {"gmina", "zielone"}


def test_it_fails_a_run_with_a_clear_message_when_no_rate_covers_the_period(cluster, seventy, django_capture_on_commit_callbacks):
    from reports.models import DistributionRate

    DistributionRate.objects.update(valid_from=dt.date(2025, 1, 4))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "Brak stawki dystrybucyjnej" in run.error and "2025-01-01–2025-01-03" in run.error and "C11" in run.error


def test_it_simulates_registered_storage(cluster, seventy, django_capture_on_commit_callbacks):
    StorageUnitFactory(ppe=seventy["ppes"][2], power_kw=D("1000"), capacity_kwh=D("4000"), efficiency=D("0.9"))
    GeneratorFactory(ppe=seventy["ppes"][2], source=Source.CHP_GAS, capacity_kw=D("0"))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    run.refresh_from_db()
    registered = run.storage["scenarios"][0]
    assert registered["label"] == "Zarejestrowane magazyny"
    assert registered["shifted_wh"] > 0
    assert registered["shared_wh"] == 1400 * MWH + registered["shifted_wh"]
    assert D(registered["gain"]) > 0
    assert D(registered["spread_value"]) == (D(registered["shifted_wh"]) * D("180") / MWH).quantize(D("0.01"))


def test_it_runs_the_task_only_once(cluster, seventy, django_capture_on_commit_callbacks):
    from reports.settlement.tasks import settlement_run_task

    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    settlement_run_task(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE and run.lines.count() == 3
