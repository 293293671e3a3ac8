"""The settlement detail pages its long tables; the totals row still covers every member."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from reports.models import JobStatus
from reports.views.settlements import DETAIL_PAGE_SIZE, DIFF_MEMBERS_SHOWN
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

pytestmark = pytest.mark.django_db


def _detail(client, run, page=None):
    url = reverse("reports:settlement-detail", args=[run.cluster.slug, run.id])
    return client.get(url, {"page": page} if page else {})


def test_it_shows_one_page_of_members_with_totals_over_all_of_them(client, coordinator, cluster):
    run = SettlementRunFactory(cluster=cluster)
    lines = [
        SettlementLineFactory(run=run, drawn_wh=1000 * (i + 1), total=Decimal(i) + Decimal("0.01"))
        for i in range(DETAIL_PAGE_SIZE + 7)
    ]
    client.force_login(coordinator)
    first, second = _detail(client, run), _detail(client, run, page=2)
    assert len(first.context["rows"]) == DETAIL_PAGE_SIZE
    assert len(second.context["rows"]) == 7
    shown = {row["line"].id for row in first.context["rows"]} | {row["line"].id for row in second.context["rows"]}
    assert shown == {line.id for line in lines}
    for response in (first, second):
        total = response.context["line_total"]
        assert total["drawn_wh"] == sum(line.drawn_wh for line in lines)
        assert total["total"] == sum((line.total for line in lines), Decimal(0))
        by_code = [sum((Decimal(line.exemptions[code]) for line in lines), Decimal(0)) for code in lines[0].exemptions]
        assert sorted(total["exemptions"]) == sorted(by_code)
    assert "strona 2 z 2" in second.content.decode()


def test_it_pages_the_missing_data_of_a_failed_run(client, coordinator, cluster):
    missing = [{"ppe": f"PPE{i:03}", "member": "M", "hours": 5, "first": "2025-01-01T00:00:00+00:00"} for i in range(120)]
    run = SettlementRunFactory(cluster=cluster, failed=True, missing=missing)
    assert run.status == JobStatus.FAILED
    client.force_login(coordinator)
    last = _detail(client, run, page=3)
    assert [row["ppe"] for row in last.context["missing_rows"]] == [f"PPE{i:03}" for i in range(100, 120)]
    assert "PPE000" not in last.content.decode()


def test_it_lists_a_bounded_number_of_member_changes_and_counts_the_rest(client, coordinator, cluster):
    changes = [{"ref": f"R{i}", "field": "total", "old": "1.00", "new": "2.00"} for i in range(DIFF_MEMBERS_SHOWN + 5)]
    run = SettlementRunFactory(cluster=cluster, version=2, diff={"previous_version": 1, "totals": {}, "members": changes})
    client.force_login(coordinator)
    response = _detail(client, run)
    assert len(response.context["diff"]["members"]) == DIFF_MEMBERS_SHOWN
    assert response.context["diff"]["members_more"] == 5
    assert "i jeszcze 5 członków ze zmianami" in response.content.decode()


def test_it_pages_the_statements_list_and_counts_every_statement(client, coordinator, cluster):
    from reports.models import Statement
    from reports.views.statements import STATEMENTS_PAGE_SIZE

    run = SettlementRunFactory(cluster=cluster)
    for i in range(STATEMENTS_PAGE_SIZE + 3):
        line = SettlementLineFactory(run=run)
        Statement.objects.create(run=run, line=line, member=line.member, number=f"OKE/2025/R/{i:04d}-v1")
    client.force_login(coordinator)
    url = reverse("reports:statement-list", args=[cluster.slug, run.pk])
    first, last = client.get(url), client.get(url, {"page": 2})
    assert len(first.context["statements"]) == STATEMENTS_PAGE_SIZE
    assert len(last.context["statements"]) == 3
    assert first.context["counts"] == {Statement.Status.PENDING: STATEMENTS_PAGE_SIZE + 3}
    assert "strona 1 z 2" in first.content.decode()


def test_it_pages_the_completeness_table_and_keeps_the_month_in_the_links(client, coordinator, cluster):
    from reports.views.readings import COMPLETENESS_PAGE_SIZE
    from tests.factories import MemberFactory as Members
    from tests.factories import MeteringPointFactory, PPEMembershipFactory

    member = Members(cluster=cluster)
    for _ in range(COMPLETENESS_PAGE_SIZE + 2):
        PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=member, valid_from=dt.date(2025, 1, 1))
    client.force_login(coordinator)
    url = reverse("reports:completeness", args=[cluster.slug])
    first, second = client.get(url, {"month": "2025-06"}), client.get(url, {"month": "2025-06", "page": 2})
    assert len(first.context["rows"]) == COMPLETENESS_PAGE_SIZE
    assert len(second.context["rows"]) == 2
    assert first.context["totals"]["expected"] == (COMPLETENESS_PAGE_SIZE + 2) * 30 * 24
    assert "?month=2025-06&amp;page=2" in first.content.decode() or "?month=2025-06&page=2" in first.content.decode()
