"""The snapshot contract: typed values, one JSON encoding, strict decoding, readers that only read."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
from decimal import Decimal as D

import pytest
from django.apps import apps as django_apps

import members.services.conditions as conditions
import reports.engine.scenarios as scenarios
from reports.models import JobStatus, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.snapshot import (
    SCHEMA,
    RunSnapshot,
    SnapshotError,
    line_exemptions,
    run_snapshot_read,
    snapshot_from_json,
    snapshot_to_json,
)
from reports.statements.cluster_report import cluster_report_data, cluster_report_pdf
from reports.statements.services import statement_data, statement_pdf, statements_prepare
from tests.reports.factories import (
    SettlementLineFactory,
    SettlementRunFactory,
    seed_snapshot,
    snapshot_from_tariff_rows,
)
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401 (fixture)

MWH = 1_000_000
migration = importlib.import_module("reports.migrations.0009_snapshot_schema")


@pytest.fixture
def run(cluster, alice):
    run = SettlementRunFactory(
        cluster=cluster, period_kind="month", period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
        snapshot=snapshot_from_tariff_rows(),
    )
    SettlementLineFactory(run=run, member=alice.member)
    return run


# --- types and the round trip -----------------------------------------------------


def test_a_snapshot_reads_back_typed_and_encodes_to_the_same_json(run) -> None:
    snapshot = run_snapshot_read(run)
    assert isinstance(snapshot, RunSnapshot) and run.snapshot["schema"] == SCHEMA
    assert snapshot.totals.drawn_wh == 2000 * MWH and type(snapshot.totals.drawn_wh) is int
    assert snapshot.totals.total == D("52442.81") and snapshot.totals.autoconsumption_pct == D("70.00")
    assert snapshot.totals.tier.threshold_pct == D("70.00")
    assert snapshot.rules.rule.exemption_end_date == dt.date(2029, 12, 31)
    assert all(isinstance(r.variable_rate, D) and isinstance(r.valid_from, dt.date) for r in snapshot.rules.rates)
    assert snapshot.status.on == dt.date(2026, 3, 31) and snapshot.status.conditions
    assert snapshot.cluster.name == run.cluster.name
    assert snapshot_to_json(snapshot) == run.snapshot
    assert snapshot_to_json(snapshot_from_json(snapshot_to_json(snapshot))) == run.snapshot


def test_mappings_read_back_in_fee_order_whatever_order_the_database_keeps(run) -> None:
    data = copy.deepcopy(run.snapshot)
    data["totals"]["exemptions"] = dict(sorted(data["totals"]["exemptions"].items(), reverse=True))
    assert list(snapshot_from_json(data).totals.exemptions) == ["oze", "cogeneration", "green", "blue", "white"]
    line = run.lines.get()
    line.exemptions = dict(sorted(line.exemptions.items()))
    assert list(line_exemptions(line)) == ["oze", "cogeneration", "green", "blue", "white"]
    assert line_exemptions(line)["green"] == D("1316.84")


# --- strict decoding names the field ------------------------------------------------


def _broken(data: dict, path: tuple, value=None, *, delete: bool = False) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "delete", "field"),
    [
        (("totals", "tier"), None, True, "totals.tier"),
        (("totals", "discount"), 35491.4, False, "totals.discount"),
        (("totals", "drawn_wh"), "2000000000", False, "totals.drawn_wh"),
        (("totals", "per_mwh", "total"), "dużo", False, "totals.per_mwh.total"),
        (("rates", 0, "variable_rate"), None, False, "rates[0].variable_rate"),
        (("rule", "exemption_end_date"), "31.12.2029", False, "rule.exemption_end_date"),
        (("rule", "cooperative_coefficient"), None, True, "rule.cooperative_coefficient"),
        (("status", "conditions", 0, "ok"), "tak", False, "status.conditions[0].ok"),
        (("scenarios", "tiers", 1, "total"), None, True, "scenarios.tiers[1].total"),
        (("cluster", "nickname"), "OKE", False, "cluster.nickname"),
        (("price_spread",), None, True, "price_spread"),
        (("schema",), None, True, "schema"),
        (("schema",), 1, False, "schema"),
    ],
)
def test_a_missing_or_malformed_field_is_refused_naming_it(run, path, value, delete, field) -> None:
    with pytest.raises(SnapshotError) as caught:
        snapshot_from_json(_broken(run.snapshot, path, value, delete=delete))
    assert caught.value.field == field
    assert f"„{field}”" in str(caught.value)


def test_a_statement_of_a_run_without_the_contract_fails_naming_the_run_and_field(run) -> None:
    statements_prepare(run=run)
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=seed_snapshot())
    statement = run.statements.select_related("run", "line").get()
    with pytest.raises(SnapshotError, match=rf"rozliczenie {run.pk}: schema"):
        statement_data(statement=statement)


# --- readers only read ----------------------------------------------------------------


def _boom(*args, **kwargs):
    raise AssertionError("recomputed at render time")


@pytest.fixture
def no_recompute(monkeypatch):
    """Scenario functions and the live registry's status raise, however a module imported them."""
    for function in (scenarios.tier_scenarios, scenarios.cooperative_scenario, scenarios.storage_comparison,
                     conditions.cluster_status, conditions.rules_in_force):
        monkeypatch.setattr(function, "__code__", _boom.__code__)


def test_the_report_and_the_statement_read_the_run_s_figures_and_status(run, no_recompute) -> None:
    data = copy.deepcopy(run.snapshot)
    # The stored figures are what the documents show: change them and the PDF follows.
    data["scenarios"]["tiers"][1]["total"] = "12345.67"
    data["scenarios"]["cooperative"]["total"] = "7654.32"
    data["status"]["conditions"][0]["note"] = "ocena zapisana w rozliczeniu"
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=data)
    run.refresh_from_db()
    report = cluster_report_data(run=run)
    assert report["scenarios"][1].total == D("12345.67") and report["coop"].total == D("7654.32")
    text = pdf_text(cluster_report_pdf(run=run).content)
    assert "12 345,67 zł" in text and "7 654,32 zł" in text and "ocena zapisana w rozliczeniu" in text
    statements_prepare(run=run)
    statement = run.statements.select_related("run", "line").get()
    assert statement_data(statement=statement)["autoconsumption_pct"] == D("70.00")
    assert "20 977,13 zł" in pdf_text(statement_pdf(statement=statement).content)


def test_the_no_recompute_fixture_does_catch_a_scenario_call(no_recompute) -> None:
    from reports.engine import tier_scenarios

    with pytest.raises(AssertionError, match="recomputed"):
        tier_scenarios(demand_wh=1, tiers=[], variable_rate=D(1), quality_rate=D(1), fees=[])


# --- the writer ----------------------------------------------------------------------


def test_a_settlement_records_the_scenarios_and_the_status_once(cluster, seventy, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    snapshot = run_snapshot_read(run)
    seventy_row = next(s for s in snapshot.scenarios.tiers if s.threshold_pct == D("70.00"))
    # The seed's Table 3 at 70 %: 35,491.40 + 16,951.41 = 52,442.81 zł on 1,400 MWh.
    assert (seventy_row.discount, seventy_row.exemptions_total, seventy_row.total) == (D("35491.40"), D("16951.41"), D("52442.81"))
    assert snapshot.scenarios.reached_threshold_pct == D("70.00") == snapshot.scenarios.storage_level_pct
    assert snapshot.scenarios.storage.cluster_total == seventy_row.per_mwh.total + D("180.00")
    assert snapshot.status.on == END and {c.code for c in snapshot.status.conditions}
    assert snapshot.totals.total == D("52442.81") and run.totals["total"] == "52442.81"
    assert run.totals == snapshot_to_json(snapshot)["totals"]


# --- the data migration -------------------------------------------------------------


def test_the_migration_brings_an_old_run_to_the_contract(run) -> None:
    old = snapshot_from_tariff_rows()  # as runs recorded it before the contract: no schema, no scenarios, no status
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=old, cooperative={k: v for k, v in run.cooperative.items()
                                                                              if k not in ("demand_wh", "unit_rate")})
    migration.convert(django_apps, None)
    run.refresh_from_db()
    snapshot = run_snapshot_read(run)
    assert [str(s.total) for s in snapshot.scenarios.tiers] == ["29740.38", "52442.81", "80215.44", "113058.27", "150971.30"]
    assert snapshot.scenarios.cooperative.total == D("378741.78")
    assert snapshot.rules.rates[0].used_from == run.period_start and snapshot.rules.rates[0].used_to == run.period_end
    assert snapshot.rules.rule.storage_price_spread == D("180.00")
    assert snapshot.cooperative.demand_wh == 2000 * MWH
    assert snapshot.status.on == run.period_end


def test_the_migration_stops_on_a_run_it_cannot_read_naming_run_and_field(run) -> None:
    totals = dict(run.totals)
    del totals["cost_without_cluster"]
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=seed_snapshot(), totals=totals)
    with pytest.raises(SnapshotError) as caught:
        migration.convert(django_apps, None)
    assert caught.value.field == f"rozliczenie {run.pk}: totals.cost_without_cluster"


def test_migration_0018_brings_a_schema_5_run_to_schema_6(cluster, seventy, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    """A run stored before schema 6: no evaluation period, VAT, tariff zones or billing regimes (see ``_SCHEMA_6_STEPS``)."""
    from reports.settlement import settlement_request

    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    old = dict(run.snapshot) | {"schema": 5}
    old["rule"] = {k: v for k, v in old["rule"].items() if k not in ("evaluation_period", "vat_rate_pct")}
    old["members"] = [{k: v for k, v in m.items() if k != "deducts_vat"} for m in old["members"]]
    old["ppes"] = [{k: v for k, v in p.items() if k not in ("billing_regime", "series")} for p in old["ppes"]]
    old["rates"] = [{k: v for k, v in r.items() if k != "zone"} for r in old["rates"]]
    del old["zone_hours"]
    SettlementRun.objects.filter(pk=run.pk).update(snapshot=old)
    importlib.import_module("reports.migrations.0018_snapshot_schema_6").convert(django_apps, None)
    run.refresh_from_db()
    snapshot = run_snapshot_read(run)
    assert run.snapshot["schema"] == SCHEMA == 6
    assert snapshot.rules.rule.evaluation_period == "month" and snapshot.rules.rule.vat_rate_pct == D("23.00")
    # the legal form's default: the municipality does not deduct VAT, the companies do
    assert {m.ref: m.deducts_vat for m in snapshot.members} == {"gmina": False, "zielone": True, "pv": True}
    assert {r.zone for r in snapshot.rules.rates} == {""} and snapshot.rules.zone_hours == ()
    assert {(p.billing_regime, p.series) for p in snapshot.ppes} == {("ordinary", "raw")}
    assert snapshot.totals.total == D("52442.81")
