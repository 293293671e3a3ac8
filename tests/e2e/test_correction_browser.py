"""Chromium end to end: a transfer inside a published period, the outdated badge, one-click recompute,
and publishing the new version as corrections of the published statements."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import numpy as np
import pytest

from members.models import Source
from reports.engine import hours_for_days
from reports.models import JobStatus, SettlementRun, Statement
from reports.settlement import settlement_request
from reports.statements.services import statements_generate, statements_publish
from tests.browser import login
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)
from tests.reports.test_settlement_service import store

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]

START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 10)


@pytest.fixture
def published(transactional_db, cluster, coordinator):
    """Two consuming members and a PV plant, settled and published for 1–10 January 2025."""
    hours = hours_for_days(start=START, end=END)
    n = len(hours)
    drawn = np.full(n, 8_000_000, dtype=np.int64)
    fed = np.where(np.arange(n) % 24 < 12, 10_000_000, 0).astype(np.int64)
    gmina = MemberFactory(cluster=cluster, ref="gmina", name="Miasto Orzesze", legal_form="jst")
    firma = MemberFactory(cluster=cluster, ref="firma", name="Firma sp. z o.o.")
    pv = MemberFactory(cluster=cluster, ref="pv", name="Klastry Energii sp. z o.o.")
    ppes = {}
    for member, imp, exp in ((gmina, drawn, 0 * fed), (firma, drawn // 2, 0 * fed), (pv, 0 * fed, fed)):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2024, 1, 1))
        store(ppe, hours, imp, exp)
        ppes[member.ref] = ppe
    GeneratorFactory(ppe=ppes["pv"], capacity_kw=20000, source=Source.PV)
    # storage of 5 % of the PV's power: the cluster meets the statutory conditions, so the run publishes
    StorageUnitFactory(ppe=ppes["pv"], power_kw=Decimal("1000"), capacity_kwh=Decimal("2000"))
    run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    statements_generate(run=run, user=coordinator)
    statements_publish(run=run, user=coordinator)
    return run, ppes, firma


def test_a_transfer_outdates_the_run_and_the_recompute_is_published_as_corrections(live_server, page, published) -> None:
    run, ppes, firma = published
    base = f"{live_server.url}/c/{run.cluster.slug}"
    login(page, live_server, "koordynator")

    # The gmina's PPE goes to the company from 6 January, inside the published period.
    page.goto(f"{base}/ppe/{ppes['gmina'].pk}/")
    page.select_option("#id_to_member", str(firma.pk))
    page.fill("#id_on", "2025-01-06")
    page.click("form[action$='/transfer/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/transfer/$"))
    assert "01.01.2025 – 10.01.2025" in page.inner_text("#runs")
    page.click("text=Potwierdzam")
    page.wait_for_url(re.compile(r"/ppe/\d+/$"))

    # The run is outdated, with the reason; one click recomputes it.
    page.goto(f"{base}/settlements/")
    assert page.locator("[data-outdated]").count() == 1
    page.goto(f"{base}/settlements/{run.pk}/")
    assert "przeniesienie PPE" in page.inner_text("#run-outdated")
    page.once("dialog", lambda dialog: dialog.accept())  # the recompute asks for confirmation
    page.click("#run-outdated button:has-text('Przelicz ponownie')")
    page.wait_for_url(re.compile(r"/settlements/\d+/$"))
    new = SettlementRun.objects.get(cluster=run.cluster, period_start=START, version=2)
    assert new.status == JobStatus.DONE, new.error

    # Generate and publish the new version: each member gets a correction of its statement.
    page.goto(f"{base}/settlements/{new.pk}/statements/")
    page.click("#btn-generate")
    page.wait_for_selector("#btn-publish")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-publish")
    page.wait_for_selector("text=Opublikowano")
    corrections = {s.member.ref: s for s in Statement.objects.filter(run=new).select_related("member", "line", "corrects__line")}
    assert all(s.corrects is not None and s.number == f"{s.corrects.number}/K1" for s in corrections.values())
    assert corrections["firma"].line.total != corrections["firma"].corrects.line.total
    table = page.inner_text("#statement-table")
    assert corrections["firma"].number in table
