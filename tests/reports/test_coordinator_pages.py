"""Coordinator pages: completeness opens on the last ended month, provisional runs, recompute, archive."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports.forms import SettlementRequestForm
from reports.models import JobStatus, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.archive import settlement_archive
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementRunFactory

pytestmark = pytest.mark.django_db


def _list(cluster) -> str:
    return reverse("reports:settlement-list", args=[cluster.slug])


def _detail(run) -> str:
    return reverse("reports:settlement-detail", args=[run.cluster.slug, run.id])


# --- completeness --------------------------------------------------------------------------


def test_completeness_opens_on_the_last_ended_month_with_member_names_and_a_coloured_legend(client, coordinator, cluster) -> None:
    member = MemberFactory(cluster=cluster, name="Spółdzielnia Zielone Śląskie")
    PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=member)
    client.force_login(coordinator)
    response = client.get(reverse("reports:completeness", args=[cluster.slug]))
    last_ended = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    assert response.context["month"] == last_ended.replace(day=1)
    html = response.content.decode()
    assert "Spółdzielnia Zielone Śląskie" in html
    legend = html[html.index('id="completeness-legend"'):]
    for colour in ("table-success", "table-info", "table-warning", "table-danger"):
        assert f"legend-swatch {colour}" in legend


def test_completeness_names_members_in_one_query_however_many_ppes(client, coordinator, cluster) -> None:
    url = reverse("reports:completeness", args=[cluster.slug]) + "?month=2026-03"
    client.force_login(coordinator)
    PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=MemberFactory(cluster=cluster))
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(5):
        PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=MemberFactory(cluster=cluster))
    client.get(url)  # the completeness figures are cached per data change; count a cached page as above
    with CaptureQueriesContext(connection) as six:
        response = client.get(url)
    assert len(six) == len(one)
    assert len(response.context["row_members"]) == 6 and all(names for _r, names in response.context["row_members"])


# --- provisional -----------------------------------------------------------------------------


def test_settling_the_current_month_asks_for_confirmation(client, coordinator, cluster) -> None:
    today = timezone.localdate()
    post = {"period_kind": "month", "year": str(today.year), "month": str(today.month), "allocation": "pro_rata"}
    form = SettlementRequestForm(post, cluster=cluster)
    assert not form.is_valid()
    last_day = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    assert f"jeszcze się nie skończył (ostatni dzień: {last_day:%d.%m.%Y})" in str(form.errors["confirm_provisional"])
    client.force_login(coordinator)
    response = client.post(_list(cluster), post)
    assert response.status_code == 200 and "Zaznacz to pole, aby rozliczyć go wstępnie" in response.content.decode()
    assert not SettlementRun.objects.exists()
    assert SettlementRequestForm({**post, "confirm_provisional": "on"}, cluster=cluster).is_valid()


def test_an_ended_month_needs_no_confirmation(cluster) -> None:
    form = SettlementRequestForm({"period_kind": "month", "year": "2025", "month": "3", "allocation": "pro_rata"}, cluster=cluster)
    assert form.is_valid(), form.errors


def test_a_run_of_an_unfinished_period_is_provisional_and_shows_the_badge(client, coordinator, cluster) -> None:
    today = timezone.localdate()
    current = settlement_request(cluster=cluster, period_start=today.replace(day=1), period_end=today, dispatch=False)
    ended = settlement_request(cluster=cluster, period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 31), dispatch=False)
    assert current.provisional and not ended.provisional
    client.force_login(coordinator)
    listing = client.get(_list(cluster)).content.decode()
    assert listing.count('data-provisional="1"') == 1 and "wstępne" in listing
    assert 'data-provisional="1"' in client.get(_detail(current)).content.decode()
    assert 'data-provisional="1"' not in client.get(_detail(ended)).content.decode()


# --- recompute ---------------------------------------------------------------------------------


def test_a_finished_run_offers_a_confirmed_recompute(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    run = SettlementRunFactory(cluster=cluster)
    client.force_login(coordinator)
    html = client.get(_detail(run)).content.decode()
    form = html[html.index('id="run-recompute"') - 200:html.index('id="run-recompute"') + 600]
    assert reverse("reports:settlement-rerun", args=[cluster.slug, run.id]) in form
    assert "data-confirm=" in form and "Przelicz ponownie" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:settlement-rerun", args=[cluster.slug, run.id]))
    assert response.status_code == 302
    assert SettlementRun.objects.filter(cluster=cluster, period_start=run.period_start, version=2).exists()


def test_a_failed_run_offers_no_recompute_button_but_can_be_archived(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(coordinator)
    html = client.get(_detail(run)).content.decode()
    assert 'id="run-recompute"' not in html and 'id="run-archive"' in html


# --- archive -------------------------------------------------------------------------------------


def test_archived_runs_leave_the_list_until_shown_and_come_back_when_restored(client, coordinator, cluster) -> None:
    failed = SettlementRunFactory(cluster=cluster, failed=True, period_start=dt.date(2025, 2, 1), period_end=dt.date(2025, 2, 28))
    SettlementRunFactory(cluster=cluster)
    client.force_login(coordinator)
    response = client.post(reverse("reports:settlement-archive", args=[cluster.slug, failed.id]))
    assert response.status_code == 302 and response["Location"] == _list(cluster)
    failed.refresh_from_db()
    assert failed.archived_at is not None
    listing = client.get(_list(cluster)).content.decode()
    assert _detail(failed) not in listing and "pokaż zarchiwizowane (1)" in listing
    shown = client.get(_list(cluster) + "?archived=1").content.decode()
    assert _detail(failed) in shown and 'data-archived="1"' in shown
    client.post(reverse("reports:settlement-unarchive", args=[cluster.slug, failed.id]))
    failed.refresh_from_db()
    assert failed.archived_at is None
    assert _detail(failed) in client.get(_list(cluster)).content.decode()


def test_a_finished_run_cannot_be_archived_and_the_refusal_names_the_run(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster)
    client.force_login(coordinator)
    response = client.post(reverse("reports:settlement-archive", args=[cluster.slug, run.id]), follow=True)
    html = response.content.decode()
    assert "01.01.2025 – 31.12.2025, wersja 1" in html and "tylko rozliczenie zakończone błędem albo anulowane" in html
    run.refresh_from_db()
    assert run.archived_at is None


def test_a_cancelled_run_can_be_archived(cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, status=JobStatus.CANCELLED)
    assert settlement_archive(run=run).archived_at is not None


def test_archive_views_refuse_get(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(coordinator)
    assert client.get(reverse("reports:settlement-archive", args=[cluster.slug, run.id])).status_code == 405
    run.refresh_from_db()
    assert run.archived_at is None


def test_staff_of_another_cluster_cannot_archive(client, outsider, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(outsider)
    assert client.post(reverse("reports:settlement-archive", args=[cluster.slug, run.id])).status_code == 404
    run.refresh_from_db()
    assert run.archived_at is None


@pytest.mark.parametrize("count", [2, 12])
def test_the_list_takes_a_constant_number_of_queries(client, coordinator, cluster, count, django_assert_max_num_queries) -> None:
    for i in range(count):
        SettlementRunFactory(cluster=cluster, period_start=dt.date(2024, 1, 1) + dt.timedelta(days=i),
                             period_end=dt.date(2024, 1, 1) + dt.timedelta(days=i), failed=bool(i % 2),
                             archived_at=timezone.now() if i % 4 == 1 else None)
    client.force_login(coordinator)
    client.get(_list(cluster))
    with django_assert_max_num_queries(9):
        response = client.get(_list(cluster) + "?archived=1")
    assert sum(len(p["runs"]) for p in response.context["periods"]) == count
