"""Eligibility through a settlement run: the verdict stored in the snapshot, hours before the support
starts without a benefit, publishing an ineligible run only on a written reason, ``settle --json``
and the cluster report reading the status from the snapshot."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from io import StringIO
from unittest import mock

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from members.models import LegalForm
from reports.engine import hours_for_days
from reports.engine.money import money_round, wh_amount
from reports.models import JobStatus, Statement
from reports.settlement import settlement_request
from reports.settlement.results import run_snapshot_upgrade
from reports.settlement.snapshot import run_snapshot_read
from reports.statements.cluster_report import cluster_report_data, cluster_report_pdf
from reports.statements.services import statements_generate, statements_publish
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import END, START, seventy, store  # noqa: F401

NO_JST = "jednostki samorządu terytorialnego"
REASON = "Wpis do rejestru URE w toku; uchwała zarządu z 12.03.2025 r."


def settled(cluster, start=START, end=END, *, capture):
    with capture(execute=True):
        run = settlement_request(cluster=cluster, period_start=start, period_end=end, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    return run


@pytest.fixture
def eligible(cluster, seventy):  # noqa: F811
    """The seed's 70 % example meeting every statutory condition: storage of 5 % of the PV's 20 MW."""
    StorageUnitFactory(ppe=seventy["ppes"][2], power_kw=D("1000"), capacity_kwh=D("2000"))
    return seventy


@pytest.fixture
def without_jst(cluster, eligible):
    """The same cluster without a JST: the gmina is a company now."""
    gmina = eligible["members"][0]
    gmina.legal_form = LegalForm.SMALL
    gmina.save()
    return eligible


def test_an_ineligible_run_is_computed_as_if_eligible_and_stores_the_verdict(
    cluster, without_jst, django_capture_on_commit_callbacks
):
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    verdict = run_snapshot_read(run).status.eligibility
    assert verdict.eligible is False and verdict.benefit_from is None and verdict.evaluated == "run"
    blocking = [r.render_in("pl") for r in verdict.reasons if "nie można ocenić" not in r.render_in("pl")]
    assert len(blocking) == 1 and NO_JST in blocking[0]
    # the figures are the comparison "as if eligible": the seed's 70 % example
    assert run.totals["total"] == "52442.81"
    assert run.snapshot["schema"] >= 3 and run.snapshot["status"]["eligibility"]["eligible"] is False


def test_publishing_an_ineligible_run_needs_a_written_reason_recorded_and_printed(
    cluster, without_jst, coordinator, django_capture_on_commit_callbacks
):
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=coordinator)
    assert set(run.statements.values_list("status", flat=True)) == {Statement.Status.READY}
    with pytest.raises(ValidationError, match="nie spełnia warunków wsparcia"):
        statements_publish(run=run, user=coordinator)
    with pytest.raises(ValidationError, match="co najmniej 10 znaków"):
        statements_publish(run=run, user=coordinator, override_reason="  bo tak  ")
    run.refresh_from_db()
    assert run.eligibility_override_at is None and run.statements_published_at is None
    assert set(run.statements.values_list("status", flat=True)) == {Statement.Status.READY}

    with django_capture_on_commit_callbacks(execute=True):
        count = statements_publish(run=run, user=coordinator, override_reason=REASON)
    run.refresh_from_db()
    assert count == 3 and run.statements_published_at is not None
    assert run.eligibility_override_reason == REASON and run.eligibility_override_by == coordinator
    assert run.eligibility_override_at is not None
    for statement in run.statements.all():
        assert statement.status == Statement.Status.PUBLISHED
        text = " ".join(pdf_text(statement.file.read()).split())
        assert f"Publikacja mimo niespełnienia warunków wsparcia: {REASON}" in text
        assert NO_JST in text
    report = run.cluster_report
    report.refresh_from_db()
    assert report.status == Statement.Status.READY
    text = " ".join(pdf_text(report.file.read()).split())
    assert f"Publikacja mimo niespełnienia warunków wsparcia: {REASON}" in text


def test_the_publish_step_asks_for_the_reason_and_the_result_page_shows_the_reasons_on_top(
    client, cluster, without_jst, coordinator, django_capture_on_commit_callbacks
):
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="run-eligibility"' in page and NO_JST in page
    assert page.index('id="run-eligibility"') < page.index('id="settlement-export"') + 2000  # in the header area
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=coordinator)
    listing = client.get(reverse("reports:statement-list", args=[cluster.slug, run.pk])).content.decode()
    assert 'name="override_reason"' in listing
    url = reverse("reports:statements-publish", args=[cluster.slug, run.pk])
    client.post(url, {})
    run.refresh_from_db()
    assert run.statements_published_at is None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"override_reason": REASON})
    run.refresh_from_db()
    assert run.statements_published_at is not None and run.eligibility_override_reason == REASON


def two_day_cluster(cluster, *, register_date: dt.date):
    """A consumer drawing 1 MWh and a PV producer feeding 1 MWh every hour of 2 days: equal shared energy each day."""
    start, end = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
    cluster.ure_register_number, cluster.ure_register_date = "KE/7/2025", register_date
    cluster.save()
    hours = hours_for_days(start=start, end=end)
    ones, zeros = np.full(len(hours), 1_000_000, dtype=np.int64), np.zeros(len(hours), dtype=np.int64)
    city = MemberFactory(cluster=cluster, ref="miasto", name="Miasto Orzesze", legal_form=LegalForm.JST)
    pv = MemberFactory(cluster=cluster, ref="pv", name="Farma PV sp. z o.o.")
    for member, imp, exp in ((city, ones, zeros), (pv, zeros, ones)):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member)
        store(ppe, hours, imp, exp)
        if member is pv:  # with storage of 5 % of the generating capacity (the statutory condition asks ≥ 2 %)
            GeneratorFactory(ppe=ppe, capacity_kw=D("2000"))
            StorageUnitFactory(ppe=ppe, power_kw=D("100"), capacity_kwh=D("200"))
    return start, end


def test_a_register_entry_mid_period_gives_a_benefit_only_from_that_day(cluster, django_capture_on_commit_callbacks):
    start, end = two_day_cluster(cluster, register_date=dt.date(2025, 3, 11))
    run = settled(cluster, start, end, capture=django_capture_on_commit_callbacks)
    snapshot = run_snapshot_read(run)
    verdict = snapshot.status.eligibility
    assert verdict.eligible, [r.render_in("pl") for r in verdict.reasons]
    assert verdict.benefit_from == dt.date(2025, 3, 11) and verdict.masked_days == 1
    t = snapshot.totals
    assert t.shared_wh == 48_000_000 and t.autoconsumption_pct == D("100.00")  # the level counts both days
    # by hand: only the second day's 24 MWh carry the tier's discount and the exemptions
    rate = snapshot.rules.rate_in_force()
    fees = [f for f in snapshot.rules.fees_in_force() if f.applies_to_cluster]
    discount = money_round(wh_amount(wh=24_000_000, rate=t.tier.discount_pct / 100 * (rate.variable_rate + rate.quality_rate)))
    exemptions = {f.code: money_round(wh_amount(wh=24_000_000, rate=f.effective_rate)) for f in fees}
    assert t.discount == discount and t.exemptions == exemptions
    assert t.total == discount + sum(exemptions.values(), D(0)) > 0

    # the same cluster registered before the period: twice the benefit, to the grosz of rounding
    cluster.ure_register_date = dt.date(2025, 1, 1)
    cluster.save()
    full = run_snapshot_read(settled(cluster, start, end, capture=django_capture_on_commit_callbacks)).totals
    assert full.shared_wh == t.shared_wh and abs(full.total - 2 * t.total) <= D("0.02")


def test_settle_json_has_the_eligibility_object(cluster, without_jst):
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--json", stdout=out)
    eligibility = json.loads(out.getvalue())["eligibility"]
    assert eligibility["eligible"] is False and eligibility["benefit_from"] is None
    assert any(NO_JST in reason for reason in eligibility["reasons"])

    gmina = without_jst["members"][0]
    gmina.legal_form = LegalForm.JST
    gmina.save()
    out = StringIO()
    call_command("settle", "oke", "--start", str(START), "--end", str(END), "--json", stdout=out)
    eligibility = json.loads(out.getvalue())["eligibility"]
    assert eligibility["eligible"] is True and eligibility["benefit_from"] == str(START)
    assert not any(NO_JST in reason for reason in eligibility["reasons"])


def test_the_cluster_report_reads_the_status_from_the_snapshot(cluster, without_jst, django_capture_on_commit_callbacks):
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    # the registry changes after the run: the report still shows what the run recorded
    gmina = without_jst["members"][0]
    gmina.legal_form = LegalForm.JST
    gmina.save()
    with mock.patch("members.services.conditions.cluster_status", side_effect=AssertionError("live registry read")), \
         mock.patch("members.services.area.area_check", side_effect=AssertionError("live registry read")):
        data = cluster_report_data(run=run)
        text = " ".join(pdf_text(cluster_report_pdf(run=run).content).split())
    assert data["status"].eligibility.eligible is False
    assert "Klaster nie spełnia warunków wsparcia w okresie rozliczenia" in text and NO_JST in text


def test_an_older_run_gets_a_verdict_marked_as_evaluated_at_conversion(cluster, eligible, django_capture_on_commit_callbacks):
    run = settled(cluster, capture=django_capture_on_commit_callbacks)
    older = dict(run.snapshot)
    older["schema"] = 2
    older["status"] = {k: v for k, v in older["status"].items() if k != "eligibility"}
    run.snapshot = older
    upgraded = run_snapshot_upgrade(run)
    assert upgraded.status.eligibility.evaluated == "conversion" and upgraded.status.eligibility.eligible is True
    assert upgraded.totals == run_snapshot_read(type(run).objects.get(pk=run.pk)).totals


def test_the_dashboard_says_when_the_register_entry_is_missing_and_the_form_records_it(client, cluster, coordinator):
    cluster.ure_register_number, cluster.ure_register_date = "", None
    cluster.save()
    client.force_login(coordinator)
    dashboard = client.get(reverse("members:dashboard", args=[cluster.slug])).content.decode()
    assert "Brak wpisu do rejestru klastrów energii URE" in dashboard
    url = reverse("members:cluster-register", args=[cluster.slug])
    refused = client.post(url, {"ure_register_number": "KE/3/2025", "ure_register_date": ""})
    assert refused.status_code == 200 and "podaj oba albo żadne" in refused.content.decode()
    client.post(url, {"ure_register_number": "KE/3/2025", "ure_register_date": "2025-02-14", "support_start": "2025-03-01"})
    cluster.refresh_from_db()
    assert (cluster.ure_register_number, cluster.ure_register_date, cluster.support_start) == (
        "KE/3/2025", dt.date(2025, 2, 14), dt.date(2025, 3, 1))
    dashboard = client.get(reverse("members:dashboard", args=[cluster.slug])).content.decode()
    assert "nr KE/3/2025 z 14.02.2025" in dashboard and "Brak wpisu" not in dashboard
