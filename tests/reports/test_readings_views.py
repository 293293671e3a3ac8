from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.metering.store import meter_days_upsert
from reports.models import JobStatus, ReadingImport
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory

DATA = Path(__file__).parent / "data"
A = "590322400000000010"


def _import(cluster, **fields) -> ReadingImport:
    imp = ReadingImport(cluster=cluster, original_name="dane.csv", **fields)
    imp.file.save("dane.csv", ContentFile(b"x"), save=False)
    imp.save()
    return imp


@pytest.fixture
def ppe(cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=A)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    return ppe


def test_it_uploads_a_file_and_shows_the_finished_import(client, coordinator, cluster, ppe,
                                                         django_capture_on_commit_callbacks):
    client.force_login(coordinator)
    with (DATA / "tauron_wide.csv").open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:import-list", args=[cluster.slug]),
            {"file": handle, "format": "tauron", "ppe": ppe.pk},
        )
    imp = ReadingImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:import-detail", args=[cluster.slug, imp.pk])
    assert imp.status == JobStatus.DONE and imp.created_by == coordinator and imp.ppe == ppe
    page = client.get(response["Location"])
    assert "import-summary" in page.content.decode() and "Zapisano 24 odczyty" in page.content.decode()
    assert "import-running" not in page.content.decode()
    progress = client.get(reverse("reports:import-progress", args=[cluster.slug, imp.pk])).json()
    assert progress == {"status": "done", "status_display": "zakończono", "progress": 100,
                        "message": imp.message, "done": True}


def test_it_shows_a_polling_progress_bar_while_the_import_runs(client, coordinator, cluster):
    imp = _import(cluster, status=JobStatus.RUNNING, progress=42)
    client.force_login(coordinator)
    html = client.get(reverse("reports:import-detail", args=[cluster.slug, imp.pk])).content.decode()
    assert 'id="import-running"' in html and "width: 42%" in html
    assert reverse("reports:import-progress", args=[cluster.slug, imp.pk]) in html
    assert client.get(reverse("reports:import-progress", args=[cluster.slug, imp.pk])).json()["done"] is False


def test_it_lists_errors_with_line_and_field(client, coordinator, cluster):
    imp = _import(cluster, status=JobStatus.FAILED, message="Plik odrzucony",
                  errors=[{"line": 7, "field": "import_kwh", "message": "Energia nie może być ujemna"}])
    client.force_login(coordinator)
    html = client.get(reverse("reports:import-detail", args=[cluster.slug, imp.pk])).content.decode()
    assert 'id="import-errors"' in html and ">7<" in html and "import_kwh" in html and "ujemna" in html


def test_it_refuses_an_upload_without_a_file(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.post(reverse("reports:import-list", args=[cluster.slug]), {"format": "generic"})
    assert response.status_code == 200 and ReadingImport.objects.count() == 0
    assert response.context["form"].errors["file"]


@pytest.mark.parametrize("name", ["import-list", "completeness"])
def test_it_hides_cluster_pages_from_outsiders_and_redirects_anonymous(client, outsider, cluster, name):
    url = reverse(f"reports:{name}", args=[cluster.slug])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("name", ["import-detail", "import-progress"])
def test_it_hides_an_import_from_outsiders_and_other_clusters(client, outsider, coordinator, cluster,
                                                             other_cluster, name):
    imp = _import(cluster)
    url = reverse(f"reports:{name}", args=[cluster.slug, imp.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    # the outsider's own cluster slug with our import id: still 404
    assert client.get(reverse(f"reports:{name}", args=[other_cluster.slug, imp.pk])).status_code == 404
    client.force_login(coordinator)
    assert client.get(url).status_code == 200


def test_it_does_not_let_a_member_account_see_imports(client, alice, cluster):
    imp = _import(cluster)
    client.force_login(alice)
    assert client.get(reverse("reports:import-progress", args=[cluster.slug, imp.pk])).status_code == 404


def _count_queries(client, url: str) -> int:
    client.get(url)  # the session's first request also checks and saves the session: not the page's queries
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_lists_imports_with_a_fixed_number_of_queries(client, coordinator, cluster, ppe):
    client.force_login(coordinator)
    url = reverse("reports:import-list", args=[cluster.slug])
    _import(cluster, ppe=ppe, created_by=coordinator, status=JobStatus.DONE, summary={"readings": 24})
    one = _count_queries(client, url)
    for _ in range(5):
        _import(cluster, ppe=MeteringPointFactory(cluster=cluster), created_by=coordinator)
    assert _count_queries(client, url) == one <= 8


def test_it_shows_completeness_with_a_fixed_number_of_queries(client, coordinator, cluster, ppe):
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=[1] * 48,
                      export_wh=[0] * 48, quality=[1] * 48)
    client.force_login(coordinator)
    url = reverse("reports:completeness", args=[cluster.slug]) + "?month=2026-03"
    one = _count_queries(client, url)
    for _ in range(4):
        extra = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=extra, member=MemberFactory(cluster=cluster))
    assert _count_queries(client, url) == one <= 9  # 9th: the member names of the page's PPEs
    response = client.get(url)
    rows = {r.ppe.code: r for r in response.context["rows"]}
    assert len(rows) == 5 and rows[A].expected == 743
    # 1 March 00:00 UTC = 01:00 local: 48 hours stored, all inside March
    assert rows[A].present == 48 and rows[A].missing == 695
    html = response.content.decode()
    assert "table-warning" in html and "table-danger" in html and "6,5" in html  # 48 / 743, Polish decimal comma


def test_it_defaults_to_the_current_month_on_a_bad_month(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.get(reverse("reports:completeness", args=[cluster.slug]) + "?month=2026-13")
    assert response.status_code == 200 and response.context["month"].day == 1
    assert "Nieprawidłowy miesiąc" in response.content.decode()
