"""Every coordinator page of reports/urls.py refuses anyone but the cluster's staff.

Across the boundary the answer is 404 (staff of another cluster, member
accounts, and objects of another cluster under one's own slug) or the login page
(anonymous), for GET and POST alike, and a refused request changes nothing.
The portal's boundary (one member against another) is in test_portal.py.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse

from members.models import Member
from reports.models import AnnualStatement, ClusterReport, ReadingImport, Statement
from tests.dbstate import database_state
from tests.factories import MemberFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

pytestmark = pytest.mark.django_db


def money_objects(cluster) -> dict[str, int]:
    """A finished run with a line, its statement and report, a reading import and a member."""
    member = MemberFactory(cluster=cluster, email="czlonek@example.pl")
    run = SettlementRunFactory(cluster=cluster)
    line = SettlementLineFactory(run=run, member=member)
    statement = Statement.objects.create(run=run, line=line, member=member, number=f"{cluster.slug}/x-v1")
    ClusterReport.objects.create(run=run)
    reading_import = ReadingImport(cluster=cluster, original_name="dane.csv")
    reading_import.file.save("dane.csv", ContentFile(b"x"), save=False)
    reading_import.save()
    annual = AnnualStatement.objects.create(
        cluster=cluster, member=member, year=2025, number=f"{cluster.slug}/2025/ROK-v1", evaluation_period="month",
        total=0, shown_total=0,
    )
    annual.file.save("roczne.pdf", ContentFile(b"%PDF-1.7"), save=True)
    return {"run_id": run.pk, "line_id": line.pk, "statement_id": statement.pk, "member_id": member.pk,
            "pk": reading_import.pk, "fmt": "xlsx", "annual_id": annual.pk, "year": 2025}


URL_KWARGS = {
    "import-list": (), "completeness": (), "import-detail": ("pk",), "import-progress": ("pk",),
    "settlement-list": (), "settlement-detail": ("run_id",), "settlement-progress": ("run_id",),
    "settlement-rerun": ("run_id",), "settlement-member": ("run_id", "line_id"),
    "settlement-archive": ("run_id",), "settlement-unarchive": ("run_id",),
    "statement-list": ("run_id",), "statements-generate": ("run_id",), "statements-publish": ("run_id",),
    "cluster-report-download": ("run_id",), "statement-download": ("statement_id",),
    "member-portal-invite": ("member_id",),
    "allocation-keys": (),
    "settlement-cancel": ("run_id",), "settlement-retry": ("run_id",), "import-cancel": ("pk",), "import-retry": ("pk",),
    "statements-cancel": ("run_id",),
    "settlement-lines-export": ("run_id", "fmt"), "settlement-diff-export": ("run_id", "fmt"),
    "statements-zip": ("run_id",), "completeness-export": ("fmt",), "import-errors-export": ("pk", "fmt"),
    "annual-list": (), "annual-year": ("year",), "annual-issue": ("year",), "annual-publish": ("year",),
    "annual-download": ("annual_id",),
}
WITH_OBJECTS = [name for name, keys in URL_KWARGS.items() if set(keys) - {"fmt", "year"}]  # fmt, year name no object


def all_urls(slug: str, objects: dict[str, int], names=URL_KWARGS) -> list[str]:
    """Every URL in reports/urls.py (the test fails if one is added and not listed here)."""
    from reports.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(URL_KWARGS)
    return [
        reverse(f"reports:{name}", kwargs={"cluster_slug": slug, **{k: objects[k] for k in URL_KWARGS[name]}})
        for name in names
    ]


def snapshot() -> dict:
    """Every row of every table (sessions and login bookkeeping aside): a refused request changes nothing."""
    return database_state()


HOSTILE_POST = {"period_kind": "month", "year": "2025", "month": "3", "allocation": "pro_rata", "format": "generic"}


@pytest.fixture
def objects(cluster) -> dict[str, int]:
    return money_objects(cluster)


def _request(client, method: str, address: str):
    return getattr(client, method)(address, HOSTILE_POST if method == "post" else None)


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_to_staff_of_another_cluster(client, outsider, cluster, objects, method) -> None:
    client.force_login(outsider)
    before = snapshot()
    for address in all_urls(cluster.slug, objects):
        assert _request(client, method, address).status_code == 404, address
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_member_accounts_on_coordinator_pages(client, alice, cluster, objects, method) -> None:
    client.force_login(alice)
    before = snapshot()
    for address in all_urls(cluster.slug, objects):
        assert _request(client, method, address).status_code == 404, address
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_the_login_page(client, cluster, objects, method) -> None:
    before = snapshot()
    for address in all_urls(cluster.slug, objects):
        response = _request(client, method, address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse(settings.LOGIN_URL)), address
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_for_objects_of_another_cluster_under_my_cluster(
    client, coordinator, cluster, other_cluster, method
) -> None:
    foreign = money_objects(other_cluster)
    client.force_login(coordinator)
    before = snapshot()
    for address in all_urls(cluster.slug, foreign, names=WITH_OBJECTS):
        # 405 where the view accepts only the other method; never 200 or 302.
        assert _request(client, method, address).status_code in (404, 405), address
    assert snapshot() == before
    assert not Member.objects.filter(pk=foreign["member_id"], user__isnull=False).exists()


def test_it_lists_every_portal_url_in_the_portal_tests() -> None:
    """test_portal.py tries each portal URL as another member, as staff and anonymously
    (the annual statements' download: test_annual_statements.py)."""
    from reports.urls_portal import urlpatterns

    assert {p.name for p in urlpatterns} == {"home", "statement-download", "account", "email-change-confirm", "password-change",
                                               "consents", "help", "data", "data-csv", "annual-download"}
