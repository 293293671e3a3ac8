from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.models import JobStatus, SettlementRun
from tests.factories import MemberFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

NBSP = "\u00a0"


def _urls(cluster, run, line) -> list[tuple[str, str]]:
    slug = cluster.slug
    return [
        ("get", reverse("reports:settlement-list", args=[slug])),
        ("get", reverse("reports:settlement-detail", args=[slug, run.id])),
        ("get", reverse("reports:settlement-progress", args=[slug, run.id])),
        ("get", reverse("reports:settlement-member", args=[slug, run.id, line.id])),
        ("post", reverse("reports:settlement-list", args=[slug])),
        ("post", reverse("reports:settlement-rerun", args=[slug, run.id])),
    ]


@pytest.fixture
def done_run(cluster):
    run = SettlementRunFactory(cluster=cluster)
    SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster, ref="gmina", name="Miasto Orzesze"))
    SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster, ref="zs", name="Spółdzielnia Socjalna Zielone Śląskie"))
    return run


def _month_post(**extra) -> dict:
    return {"period_kind": "month", "year": "2025", "month": "3", "allocation": "pro_rata", **extra}


def test_it_shows_the_run_list_grouped_by_period_with_polish_figures(client, coordinator, done_run) -> None:
    SettlementRunFactory(cluster=done_run.cluster, version=2)
    SettlementRunFactory(cluster=done_run.cluster, period_kind="month", period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 31), failed=True)
    client.force_login(coordinator)
    response = client.get(reverse("reports:settlement-list", args=[done_run.cluster.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"52{NBSP}442,81{NBSP}zł" in html
    assert f"70,00{NBSP}%" in html
    assert "01.01.2025 – 31.12.2025" in html and "01.03.2025 – 31.03.2025" in html
    assert html.index("01.03.2025 – 31.03.2025") < html.index("01.01.2025 – 31.12.2025")  # latest start first
    assert [len(p["runs"]) for p in response.context["periods"]] == [1, 2]
    assert "Oblicz rozliczenie" in html


def test_it_lists_runs_without_n_plus_one_queries(client, coordinator, cluster) -> None:
    client.force_login(coordinator)
    url = reverse("reports:settlement-list", args=[cluster.slug])
    SettlementRunFactory(cluster=cluster, created_by=coordinator)
    client.get(url)  # a session's first request does its own bookkeeping (idle timeout, role)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for month in range(1, 12):
        start = dt.date(2024, month, 1)
        SettlementRunFactory(cluster=cluster, period_kind="month", period_start=start, period_end=start.replace(day=28), created_by=coordinator)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["periods"]) == 12
    assert len(many) == len(few)


def test_it_shows_a_done_run_with_totals_members_comparisons_and_rates(client, coordinator, done_run) -> None:
    client.force_login(coordinator)
    response = client.get(reverse("reports:settlement-detail", args=[done_run.cluster.slug, done_run.id]))
    assert response.status_code == 200
    html = response.content.decode()
    for figure in [
        f"2{NBSP}000,000{NBSP}MWh", f"1{NBSP}400,000{NBSP}MWh", f"70,00{NBSP}%", f"35{NBSP}491,40{NBSP}zł",
        f"8{NBSP}652,00{NBSP}zł", f"16{NBSP}951,41{NBSP}zł", f"52{NBSP}442,81{NBSP}zł", f"37,46{NBSP}zł/MWh",
        # cooperative (seed's Table 8) and the storage per-MWh comparison 37,46 + 180,00
        f"378{NBSP}741,78{NBSP}zł", f"60{NBSP}000,00{NBSP}zł", f"189,37{NBSP}zł/MWh", f"217,46{NBSP}zł/MWh",
        # members: two lines of the factory and their total row
        "Miasto Orzesze", "Spółdzielnia Socjalna Zielone Śląskie", f"41{NBSP}954,26{NBSP}zł", f"1{NBSP}600,000{NBSP}MWh",
        "Opłata kogeneracyjna", "Zielone certyfikaty", "229,30", "id=\"chart-data\"", "vendor/chart.umd.min.js",
    ]:
        assert figure in html, figure
    assert response.context["line_total"]["total"] == Decimal("41954.26")
    assert response.context["chart_data"]["hourly"]["labels"][0] == "0:00"
    assert len(response.context["chart_data"]["monthly"]["labels"]) == 12
    assert "Zmiany względem wersji" not in html
    assert reverse("reports:statement-list", args=[done_run.cluster.slug, done_run.id]) in html


def test_it_shows_what_changed_from_the_previous_version(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, version=2, diff={
        "previous_version": 1,
        "totals": {
            "total": ["52000.00", "52442.81"], "shared_wh": [1_390_000_000, 1_400_000_000],
            "exemptions": [{"oze": "0.00", "green": "3000.00"}, {"oze": "0.00", "green": "3292.10"}],
        },
        "members": [{"ref": "gmina", "field": "total", "old": "20000.00", "new": "20977.13"}],
    })
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).content.decode()
    assert "Zmiany względem wersji 1" in html
    assert f"52{NBSP}000,00{NBSP}zł" in html and f"1{NBSP}390,000{NBSP}MWh" in html and f"20{NBSP}977,13{NBSP}zł" in html
    rows = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).context["diff"]["totals"]
    assert {"label": "Zielone certyfikaty", "old": f"3{NBSP}000,00{NBSP}zł", "new": f"3{NBSP}292,10{NBSP}zł"} in rows
    assert "Opłata OZE" not in [r["label"] for r in rows]  # unchanged fee


@pytest.mark.parametrize("trait", ["queued", "running"])
def test_it_shows_progress_and_polls_while_the_run_is_active(client, coordinator, cluster, trait) -> None:
    run = SettlementRunFactory(cluster=cluster, **{trait: True})
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).content.decode()
    progress_url = reverse("reports:settlement-progress", args=[cluster.slug, run.id])
    assert "progress-bar" in html and progress_url in html and "setTimeout(poll, 1000)" in html
    data = client.get(progress_url).json()
    assert data["status"] == trait and data["done"] is False and data["progress"] == run.progress


def test_it_reports_done_in_the_progress_json(client, coordinator, done_run) -> None:
    client.force_login(coordinator)
    data = client.get(reverse("reports:settlement-progress", args=[done_run.cluster.slug, done_run.id])).json()
    assert data == {
        "id": done_run.id, "status": "done", "status_display": "zakończono", "progress": 100, "message": "",
        "error": "", "done": True, "url": reverse("reports:settlement-detail", args=[done_run.cluster.slug, done_run.id]),
    }


def test_it_shows_the_error_and_missing_data_of_a_failed_run(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).content.decode()
    assert "Rozliczenie nie powiodło się" in html and "kompletność 97,50 %" in html
    assert run.missing[0]["ppe"] in html and ">48<" in html
    assert "01.03.2025 01:00 – 01.03.2025 23:00; 02.03.2025 05:00 – 03.03.2025 00:00" in html  # local time
    assert reverse("reports:settlement-rerun", args=[cluster.slug, run.id]) in html


def test_it_shows_one_members_line_per_ppe_and_month(client, coordinator, done_run) -> None:
    line = done_run.lines.get(member_ref="gmina")
    client.force_login(coordinator)
    response = client.get(reverse("reports:settlement-member", args=[done_run.cluster.slug, done_run.id, line.id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Miasto Orzesze" in html and line.ppes[0]["code"] in html and line.ppes[1]["code"] in html
    assert f"500,000{NBSP}MWh" in html and f"800,000{NBSP}MWh" in html and f"20{NBSP}977,13{NBSP}zł" in html
    assert "grudzień 2025" in html and f"70,00{NBSP}%" in html  # 560 / 800 MWh


def test_it_does_not_show_a_line_of_another_run(client, coordinator, done_run) -> None:
    other = SettlementLineFactory(run=SettlementRunFactory(cluster=done_run.cluster, version=2))
    client.force_login(coordinator)
    response = client.get(reverse("reports:settlement-member", args=[done_run.cluster.slug, done_run.id, other.id]))
    assert response.status_code == 404


@pytest.mark.parametrize("count", [5, 30])
def test_it_renders_the_detail_page_in_a_constant_number_of_queries(client, coordinator, cluster, count, django_assert_max_num_queries) -> None:
    run = SettlementRunFactory(cluster=cluster)
    SettlementLineFactory.create_batch(count, run=run)
    client.force_login(coordinator)
    url = reverse("reports:settlement-detail", args=[cluster.slug, run.id])
    client.get(url)  # warm caches (session, content types)
    with django_assert_max_num_queries(11):  # + the panel of PPEs without an authorisation on record (3, constant)
        response = client.get(url)
    assert len(response.context["rows"]) == count


def test_it_hides_every_settlement_url_from_staff_of_another_cluster(client, outsider, done_run) -> None:
    client.force_login(outsider)
    line = done_run.lines.first()
    for method, url in _urls(done_run.cluster, done_run, line):
        response = getattr(client, method)(url, _month_post() if method == "post" else None)
        assert response.status_code == 404, url
    assert SettlementRun.objects.count() == 1


def test_it_sends_anonymous_users_to_the_login_page(client, done_run) -> None:
    for method, url in _urls(done_run.cluster, done_run, done_run.lines.first()):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_it_refuses_member_accounts(client, alice, done_run) -> None:
    client.force_login(alice)
    for method, url in _urls(done_run.cluster, done_run, done_run.lines.first()):
        assert getattr(client, method)(url).status_code == 404, url


@pytest.mark.parametrize(
    ("post", "error"),
    [
        ({"period_kind": "custom", "year": "2025", "start": "2025-03-10", "end": "2025-03-01"}, "jest przed jego początkiem"),
        ({"period_kind": "custom", "year": "2025", "start": "2024-01-01", "end": "2025-03-01"}, "najwyżej rok"),
        ({"period_kind": "year", "year": str(dt.date.today().year + 0), "start": "", "end": "", "confirm_provisional": "on"}, None),
        ({"period_kind": "year", "year": str(dt.date.today().year + 0), "start": "", "end": ""}, "jeszcze się nie skończył"),
        ({"period_kind": "custom", "year": "2025", "start": "", "end": "2025-03-01"}, "Podaj pierwszy dzień okresu"),
        ({"period_kind": "custom", "year": "2025", "start": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
          "end": (dt.date.today() + dt.timedelta(days=40)).isoformat()}, "zaczyna się w przyszłości"),
        ({"period_kind": "month", "year": "2025", "month": "3", "allocation": "static"}, "nie ma stałych kluczy"),
    ],
)
def test_it_validates_the_period_and_allocation(client, coordinator, cluster, post, error) -> None:
    from reports.forms import SettlementRequestForm

    form = SettlementRequestForm({"allocation": "pro_rata", **post}, cluster=cluster)
    if error is None:
        assert form.is_valid(), form.errors
        assert form.cleaned_data["period_start"] == dt.date(dt.date.today().year, 1, 1)
        assert form.cleaned_data["period_end"] == dt.date(dt.date.today().year, 12, 31)
    else:
        assert not form.is_valid()
        assert error in str(form.errors)
        client.force_login(coordinator)
        response = client.post(reverse("reports:settlement-list", args=[cluster.slug]), {"allocation": "pro_rata", **post})
        assert response.status_code == 200 and error in response.content.decode()
        assert not SettlementRun.objects.exists()


def test_it_computes_quarter_and_month_bounds(cluster) -> None:
    from reports.forms import SettlementRequestForm

    form = SettlementRequestForm({"period_kind": "quarter", "year": "2024", "quarter": "1", "allocation": "pro_rata"}, cluster=cluster)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["period_start"], form.cleaned_data["period_end"]) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    form = SettlementRequestForm(_month_post(year="2024", month="2"), cluster=cluster)
    assert form.is_valid() and form.cleaned_data["period_end"] == dt.date(2024, 2, 29)


def _cluster_with_meter_data(cluster, *, days: int = 33) -> None:
    """Two members (one with PV) and hourly data covering March 2025 in local time."""
    from reports.metering.store import meter_days_upsert
    from tests.factories import GeneratorFactory, MeteringPointFactory, PPEMembershipFactory

    hours = days * 24
    start = dt.datetime(2025, 2, 28, tzinfo=dt.UTC)
    sun = [max(0, 6 - abs(h % 24 - 11)) * 4_000 for h in range(hours)]  # PV around noon UTC
    for ref, name, pv in [("gmina", "Miasto Orzesze", True), ("zs", "Spółdzielnia Socjalna Zielone Śląskie", False)]:
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster, ref=ref, name=name))
        if pv:
            GeneratorFactory(ppe=ppe)
        meter_days_upsert(
            ppe_id=ppe.id, start_utc=start, resolution_min=60,
            import_wh=[5_000] * hours, export_wh=sun if pv else [0] * hours, quality=[1] * hours,
        )


def test_it_starts_a_run_from_the_form_and_shows_the_result(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    _cluster_with_meter_data(cluster)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:settlement-list", args=[cluster.slug]), _month_post())
    run = SettlementRun.objects.get(cluster=cluster)
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:settlement-detail", args=[cluster.slug, run.id])
    assert (run.period_start, run.period_end, run.period_kind, run.created_by) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31), "month", coordinator)
    assert run.status == JobStatus.DONE, run.error  # tasks run eagerly in tests
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Miasto Orzesze" in html and "Spółdzielnia Socjalna Zielone Śląskie" in html
    assert len(page.context["rows"]) == 2 and len(page.context["chart_data"]["hourly"]["labels"]) == 24
    assert page.context["line_total"]["total"] == Decimal(run.totals["total"])
    line = run.lines.get(member_ref="gmina")
    assert client.get(reverse("reports:settlement-member", args=[cluster.slug, run.id, line.id])).status_code == 200

    # a second version shows what changed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:settlement-rerun", args=[cluster.slug, run.id]), {})
    second = SettlementRun.objects.get(cluster=cluster, version=2)
    assert second.status == JobStatus.DONE and not second.override_completeness
    assert client.get(response["Location"]).status_code == 200


def test_it_fails_on_missing_data_and_reruns_with_the_override(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    _cluster_with_meter_data(cluster, days=20)  # data ends 19 March
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:settlement-list", args=[cluster.slug]), _month_post())
    failed = SettlementRun.objects.get(cluster=cluster)
    assert failed.status == JobStatus.FAILED
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, failed.id])).content.decode()
    assert "Niekompletne dane pomiarowe" in html and failed.missing[0]["ppe"] in html and "20.03.2025 01:00" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:settlement-rerun", args=[cluster.slug, failed.id]), {"override_completeness": "on"})
    rerun = SettlementRun.objects.get(cluster=cluster, version=2)
    assert response["Location"] == reverse("reports:settlement-detail", args=[cluster.slug, rerun.id])
    assert rerun.override_completeness and rerun.status == JobStatus.DONE, rerun.error


def test_it_shows_the_services_refusal_as_a_message(client, coordinator, cluster) -> None:
    SettlementRunFactory(cluster=cluster, period_kind="month", period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 31), running=True)
    client.force_login(coordinator)
    response = client.post(reverse("reports:settlement-list", args=[cluster.slug]), _month_post(), follow=True)
    assert response.status_code == 200
    assert SettlementRun.objects.filter(cluster=cluster).count() == 1
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
