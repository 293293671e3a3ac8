"""The member's day chart: shared energy per hour, the settlement's own figures for a settled day."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from reports.engine import hours_for_days
from reports.models import AllocationMethod, JobStatus, SettlementRun, Statement
from reports.portal.services import portal_day_shared
from reports.settlement import settlement_request
from reports.settlement.keys import allocation_keys_set
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.test_settlement_service import store

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 1, 7)


@pytest.fixture
def day_data(cluster, alice):
    """One winter day of a small cluster with uneven values, so every rounding step matters.

    Alice draws through two PPEs, Bob through one; the PV plant's PPE feeds in more than
    the members draw at noon and less in the morning and evening, nothing at night.
    """
    hours = hours_for_days(start=DAY, end=DAY)
    n = len(hours)
    rng = np.random.default_rng(20250107)
    bob = MemberFactory(cluster=cluster, ref="bob", name="Bob Kowalski")
    producer = MemberFactory(cluster=cluster, ref="pv", name="Farma PV")
    drawn = {}
    for key, member, scale in (("alice-1", alice.member, 1_300), ("alice-2", alice.member, 2_700), ("bob", bob, 5_100)):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member)
        values = rng.integers(scale // 3, scale * 2, size=n).astype(np.int64)
        store(ppe, hours, values, np.zeros(n, dtype=np.int64))
        drawn[key] = values
    pv = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=pv, member=producer)
    GeneratorFactory(ppe=pv, capacity_kw=Decimal("40"))
    sun = np.clip(np.sin(np.linspace(-0.6, np.pi + 0.6, n)), 0, None)
    fed = np.rint(sun * 21_000 + rng.integers(0, 997, size=n) * (sun > 0)).astype(np.int64)
    store(pv, hours, np.zeros(n, dtype=np.int64), fed)
    return {"hours": hours, "drawn": drawn, "fed": fed, "members": {"alice": alice.member, "bob": bob, "pv": producer}}


def _settle_one_day(cluster, capture, **kwargs) -> SettlementRun:
    with capture(execute=True):
        run = settlement_request(cluster=cluster, period_start=DAY, period_end=DAY, period_kind="custom", **kwargs)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    now = timezone.now()
    for line in run.lines.select_related("member"):
        Statement.objects.create(run=run, line=line, member=line.member, number=f"S/{run.pk}/{line.member.ref}",
                                 status=Statement.Status.PUBLISHED, published_at=now)
    SettlementRun.objects.filter(pk=run.pk).update(statements_published_at=now)
    return run


def test_a_settled_day_gives_each_member_its_settlement_figure(cluster, day_data, django_capture_on_commit_callbacks) -> None:
    before = {ref: portal_day_shared(member=m, day=DAY) for ref, m in day_data["members"].items()}
    assert all(s.run is None and s.allocation == AllocationMethod.PRO_RATA for s in before.values())

    run = _settle_one_day(cluster, django_capture_on_commit_callbacks)
    lines = {line.member.ref: line for line in run.lines.select_related("member")}
    assert lines["alice"].shared_wh > 0 and lines["bob"].shared_wh > 0
    for ref, member in day_data["members"].items():
        shared = portal_day_shared(member=member, day=DAY)
        assert shared.run == run
        assert shared.total_wh == lines[ref].shared_wh  # the settlement's own per-member figure, to the Wh
        assert shared.wh == before[ref].wh  # the preliminary figures were the same computation

    # Hour by hour: min(renewable fed-in, drawn) for the cluster, pro rata to each member's draw.
    alice = np.array(portal_day_shared(member=day_data["members"]["alice"], day=DAY).wh)
    bob = np.array(portal_day_shared(member=day_data["members"]["bob"], day=DAY).wh)
    mine = day_data["drawn"]["alice-1"] + day_data["drawn"]["alice-2"]
    total = mine + day_data["drawn"]["bob"]
    expected = np.minimum(day_data["fed"], total) * mine / total
    assert np.abs(alice - expected).max() <= 2  # one Wh of rounding per PPE at most
    assert np.abs(alice + bob - np.minimum(day_data["fed"], total)).max() <= 3
    assert alice[0] == 0 and alice[len(alice) // 2] == mine[len(alice) // 2]  # no sun at night; all of it at noon


def test_a_day_settled_by_static_keys_uses_the_runs_keys(cluster, day_data, django_capture_on_commit_callbacks) -> None:
    members = day_data["members"]
    allocation_keys_set(
        cluster=cluster, valid_from=dt.date(2025, 1, 1),
        shares_pct={members["alice"].pk: Decimal("70"), members["bob"].pk: Decimal("30"), members["pv"].pk: Decimal("0")},
    )
    run = _settle_one_day(cluster, django_capture_on_commit_callbacks, allocation=AllocationMethod.STATIC)
    lines = {line.member.ref: line for line in run.lines.select_related("member")}
    pro_rata = portal_day_shared(member=members["alice"], day=DAY - dt.timedelta(days=1))
    assert pro_rata.run is None
    for ref, member in members.items():
        shared = portal_day_shared(member=member, day=DAY)
        assert shared.run == run and shared.allocation == AllocationMethod.STATIC
        assert shared.total_wh == lines[ref].shared_wh
    # 70 % of the noon hour would be more than Alice drew, so she is capped at her draw there.
    noon = len(day_data["hours"]) // 2
    alice = portal_day_shared(member=members["alice"], day=DAY).wh
    assert alice[noon] == day_data["drawn"]["alice-1"][noon] + day_data["drawn"]["alice-2"][noon]


def test_the_chart_shows_shared_energy_says_where_it_comes_from_and_has_a_table(
    client, cluster, alice, day_data, django_capture_on_commit_callbacks
) -> None:
    client.force_login(alice)
    url = reverse("portal:data")
    page = client.get(url, {"day": DAY.isoformat()})
    chart = page.context["chart"]
    html = page.content.decode()
    assert 'data-source="preliminary"' in html and "wstępnie" in html
    assert len(chart["shared_kwh"]) == 24 and page.context["chart_data"]["shared"] == chart["shared_kwh"]

    run = _settle_one_day(cluster, django_capture_on_commit_callbacks)
    page = client.get(url, {"day": DAY.isoformat()})
    chart, html = page.context["chart"], page.content.decode()
    line = run.lines.get(member=alice.member)
    assert chart["shared_wh"] == line.shared_wh
    assert sum(round(v * 1000) for v in chart["shared_kwh"]) == line.shared_wh
    assert 'data-source="settlement"' in html and "z rozliczenia" in html and f"wersja {run.version}" in html
    # The table alternative: one row per hour with the same three values as the chart.
    table = html[html.index('id="portal-day-table"'):html.index("</table>", html.index('id="portal-day-table"'))]
    rows = re.findall(r"<tr><th scope=\"row\"[^>]*>(\d\d:\d\d)</th>", table)
    assert rows == chart["labels"]
    assert 'aria-describedby="portal-day-summary portal-day-shared-source"' in html
    assert "Energia współdzielona" in page.context["chart_data"]["names"]["shared"]


def test_another_members_settlement_is_not_mine(cluster, alice, day_data, django_capture_on_commit_callbacks) -> None:
    run = _settle_one_day(cluster, django_capture_on_commit_callbacks)
    Statement.objects.filter(run=run, member=alice.member).delete()  # Alice's statement is not published
    shared = portal_day_shared(member=alice.member, day=DAY)
    assert shared.run is None  # computed, labelled preliminary; Bob's published run is not shown as hers
    assert shared.total_wh == run.lines.get(member=alice.member).shared_wh


def test_a_settlement_whose_data_changed_since_is_said_to_be_outdated(
    client, cluster, alice, day_data, django_capture_on_commit_callbacks
) -> None:
    from reports.models import RunOutdatedReason

    run = _settle_one_day(cluster, django_capture_on_commit_callbacks)
    client.force_login(alice)
    url = reverse("portal:data")
    assert 'id="portal-day-shared-outdated"' not in client.get(url, {"day": DAY.isoformat()}).content.decode()
    RunOutdatedReason.objects.create(run=run, code=RunOutdatedReason.Code.METER_DATA, detail="PPE 1")
    assert portal_day_shared(member=alice.member, day=DAY).outdated
    assert 'id="portal-day-shared-outdated"' in client.get(url, {"day": DAY.isoformat()}).content.decode()
