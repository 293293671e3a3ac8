"""The cooperative comparison through settlement runs: monthly netting with surplus carried
from the previous month's run (Dz.U. 2022 poz. 703; art. 38e ustawy o OZE)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from members.models import Source
from reports.engine import hours_for_days
from reports.metering.store import Block, meter_blocks_upsert
from reports.models import JobStatus, Quality, SettlementRule, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.snapshot import run_snapshot_read
from reports.settlement.tasks import settlement_run_task
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory

MWH = 1_000_000
JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)
MONTH_END = {JAN: dt.date(2025, 1, 31), FEB: dt.date(2025, 2, 28), MAR: dt.date(2025, 3, 31)}


@pytest.fixture
def quarter(cluster):
    """A PV member and a consumer, January to March 2025, every hour metered.

    January: hour 0 PV 10 MWh, drawn 2 MWh; hour 1 drawn 1 MWh. February and March: 3 MWh drawn
    in their first hour. Nothing else."""
    hours = hours_for_days(start=JAN, end=MONTH_END[MAR])
    n = len(hours)
    feb, mar = 31 * 24, 31 * 24 + 28 * 24
    drawn = np.zeros(n, dtype=np.int64)
    drawn[[0, 1, feb, mar]] = [2 * MWH, 1 * MWH, 3 * MWH, 3 * MWH]
    fed = np.zeros(n, dtype=np.int64)
    fed[0] = 10 * MWH
    first = dt.datetime.fromtimestamp(int(hours[0].astype("datetime64[s]").astype(np.int64)), dt.UTC)
    q = np.full(n, Quality.MEASURED, dtype=np.uint8)
    for ref, imp, exp in (("odbiorca", drawn, 0 * fed), ("pv", 0 * drawn, fed)):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster, ref=ref))
        meter_blocks_upsert(blocks=[Block(ppe.pk, first, 60, imp, exp, q)])
        if ref == "pv":
            GeneratorFactory(ppe=ppe, source=Source.PV, capacity_kw=D("50"))
    return cluster


def settle_month(cluster, start: dt.date) -> SettlementRun:
    run = settlement_request(cluster=cluster, period_start=start, period_end=MONTH_END[start], dispatch=False)
    settlement_run_task(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    return run


def test_the_second_month_uses_the_surplus_the_first_months_run_carried(quarter):
    jan = settle_month(quarter, JAN)
    # January: balanced min(10, 2) = 2 MWh, surplus 8, deficit 1 → netted min(0.6 × 8, 1) = 1 MWh,
    # using ⌈1 / 0.6⌉ = 1,666,667 Wh of surplus; 6,333,333 Wh carried
    assert jan.cooperative["settled_wh"] == 3 * MWH
    netting = run_snapshot_read(jan).cooperative_netting
    assert netting.carried_from_run is None and netting.carried_in == ()
    assert [(c.origin, c.wh) for c in netting.carried_out] == [(JAN, 6_333_333)]

    feb = settle_month(quarter, FEB)
    # February alone has no surplus (0 settled); with January's: 0.6 × 6,333,333 = 3.8 MWh ≥ 3 MWh deficit
    assert feb.cooperative["settled_wh"] == 3 * MWH
    netting = run_snapshot_read(feb).cooperative_netting
    assert netting.carried_from_run == jan.pk
    (period,) = netting.periods
    assert (period.start, period.balanced_wh, period.surplus_wh, period.deficit_wh) == (FEB, 0, 0, 3 * MWH)
    assert (period.carried_in_wh, period.netted_wh, period.used_surplus_wh) == (6_333_333, 3 * MWH, 5 * MWH)
    assert [(c.origin, c.wh) for c in netting.carried_out] == [(JAN, 1_333_333)]

    mar = settle_month(quarter, MAR)
    # March: 0.6 × 1,333,333 = 799,999.8 → 800,000 Wh netted; nothing left
    assert mar.cooperative["settled_wh"] == 800_000
    assert run_snapshot_read(mar).cooperative_netting.carried_out == ()


def test_the_latest_version_of_the_previous_period_is_carried(quarter):
    settle_month(quarter, JAN)
    again = settle_month(quarter, JAN)
    feb = settle_month(quarter, FEB)
    assert run_snapshot_read(feb).cooperative_netting.carried_from_run == again.pk


def test_without_a_previous_run_nothing_is_carried(quarter):
    feb = settle_month(quarter, FEB)
    assert feb.cooperative["settled_wh"] == 0
    assert run_snapshot_read(feb).cooperative_netting.carried_from_run is None


def test_surplus_expires_after_the_carry_months(quarter):
    SettlementRule.objects.update(cooperative_carry_months=1)
    settle_month(quarter, JAN)
    settle_month(quarter, FEB)  # January's surplus is one month old: still usable
    mar = settle_month(quarter, MAR)
    (period,) = run_snapshot_read(mar).cooperative_netting.periods
    # January's 1,333,333 Wh left after February are two months old in March: expired
    assert (period.expired_wh, period.carried_in_wh, period.netted_wh) == (1_333_333, 0, 0)
    assert mar.cooperative["settled_wh"] == 0


def test_a_yearly_netting_period_nets_the_run_as_one(quarter):
    SettlementRule.objects.update(cooperative_netting_period="year")
    run = settlement_request(cluster=quarter, period_start=JAN, period_end=MONTH_END[FEB], dispatch=False)
    settlement_run_task(run.pk)
    run.refresh_from_db()
    (period,) = run_snapshot_read(run).cooperative_netting.periods
    # one period: surplus 8 MWh, deficit 1 + 3 MWh → netted 4 MWh
    assert (period.start, period.surplus_wh, period.deficit_wh, period.netted_wh) == (JAN, 8 * MWH, 4 * MWH, 4 * MWH)


def test_settle_json_reports_the_netted_cooperative(quarter):
    settle_month(quarter, JAN)
    out = StringIO()
    call_command("settle", quarter.slug, "--start", str(FEB), "--end", str(MONTH_END[FEB]), "--json", stdout=out)
    coop = json.loads(out.getvalue())["cooperative"]
    assert coop["settled_wh"] == 3 * MWH
    assert coop["netting"]["carried_out"] == [{"origin": "2025-01-01", "wh": 1_333_333}]


def test_the_cluster_report_shows_the_runs_cooperative_figure_and_the_level_rule(quarter):
    from django.template.loader import render_to_string

    from reports.statements.cluster_report import cluster_report_data

    settle_month(quarter, JAN)
    feb = settle_month(quarter, FEB)
    data = cluster_report_data(run=feb)
    html = render_to_string("reports/pdf/cluster_report.html", {**data, "pdf_created": "x"})
    assert data["coop_actual"].settled_wh == feb.cooperative["settled_wh"] == 3 * MWH
    # page 1 and Table 8 show the run's settled energy (3.000 MWh), not 0.6 × demand
    row = html.split('id="coop-actual"')[1].split("</tr>")[0]
    assert "3,00" in row
    assert "Dz.U. 2022 poz. 703" in html
    assert "Poziom autokonsumpcji liczony ze wszystkich źródeł członków" in html


def test_the_statement_says_which_level_set_the_tier(quarter):
    from django.template.loader import render_to_string

    from reports.statements.services import statement_data, statements_prepare

    def statement_html(run) -> str:
        statements_prepare(run=run)
        statement = run.statements.order_by("pk").first()
        return render_to_string("reports/pdf/statement.html", {**statement_data(statement=statement), "pdf_created": "x"})

    html = statement_html(settle_month(quarter, JAN))
    assert "poziom liczony ze wszystkich źródeł członków" in html and "za okres rozliczeniowy OSD" in html
    SettlementRule.objects.update(level_numerator="renewable")
    assert "poziom liczony tylko z OZE" in statement_html(settle_month(quarter, JAN))


def test_a_schema_3_run_is_converted_recording_the_renewable_level_and_no_netting(quarter):
    from reports.settlement.results import run_snapshot_upgrade

    run = settle_month(quarter, JAN)
    old = dict(run.snapshot)
    old["schema"] = 3
    del old["cooperative_netting"]
    old["totals"] = {k: v for k, v in old["totals"].items()
                     if k not in ("level_numerator", "renewable_level_pct", "all_sources_level_pct",
                                  "generation_shared_wh")}
    run.snapshot = old
    snapshot = run_snapshot_upgrade(run)
    # before the rule the level counted renewable energy only; the other level and the netting were not recorded
    assert snapshot.totals.level_numerator == "renewable"
    assert snapshot.totals.renewable_level_pct == snapshot.totals.autoconsumption_pct
    assert snapshot.totals.all_sources_level_pct is None and snapshot.totals.generation_shared_wh is None
    assert snapshot.cooperative_netting is None
    # a run converted so carries nothing into the next period
    run.snapshot = {**run.snapshot, "cooperative_netting": None}
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=run.snapshot)
    feb = settle_month(quarter, FEB)
    netting = run_snapshot_read(feb).cooperative_netting
    assert netting.carried_from_run == run.pk and netting.carried_in == ()
