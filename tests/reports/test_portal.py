"""The member portal: a member sees and downloads only its own published statements."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from reports.models import AnnualStatement, Statement
from reports.statements.services import statements_generate, statements_publish
from tests.factories import MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, march_run
from tests.reports.test_pdf import pdf_text


@pytest.fixture
def run(cluster, alice, bob, coordinator, django_capture_on_commit_callbacks):
    """March 2026, v1: statements rendered and published for Alice and Bob."""
    run = march_run(cluster, finished_at=timezone.make_aware(dt.datetime(2026, 4, 2, 10, 30)))
    SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak", total="20977.13")
    SettlementLineFactory(run=run, member=bob.member, member_name="Bob Kowalski sp. z o.o.", total="31191.78")
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        statements_publish(run=run, user=coordinator)
    return run


def statement_of(user, run) -> Statement:
    return Statement.objects.get(run=run, member=user.member)


def test_it_shows_the_member_its_ppes_settlements_and_statements(client, cluster, alice, bob, run) -> None:
    ppe = MeteringPointFactory(cluster=cluster, address="ul. Rynek 1, Orzesze")
    PPEMembershipFactory(ppe=ppe, member=alice.member, valid_from=dt.date(2025, 1, 1))
    old = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=old, member=alice.member, valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2024, 12, 31))
    bobs = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=bobs, member=bob.member)
    client.force_login(alice)
    page = client.get(reverse("portal:home")).content.decode()
    assert ppe.code in page and old.code not in page and bobs.code not in page
    assert "20\u00a0977,13\u00a0zł" in page and "31\u00a0191,78" not in page
    assert statement_of(alice, run).number in page and statement_of(bob, run).number not in page
    assert reverse("portal:statement-download", args=[statement_of(alice, run).pk]) in page


def test_it_downloads_the_members_pdf_with_a_log(client, alice, run) -> None:
    client.force_login(alice)
    statement = statement_of(alice, run)
    response = client.get(
        reverse("portal:statement-download", args=[statement.pk]), HTTP_USER_AGENT="Mozilla/5.0 (test)", REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    # The file name carries the statement's number and the member: no two members' files share a name.
    name = f"zestawienie-{statement.number.replace('/', '-')}-alicja-nowak.pdf"
    assert name.startswith("zestawienie-OKE-2026-03-")
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'  # ASCII: no filename* needed
    content = b"".join(response.streaming_content)
    assert "Alicja Nowak" in pdf_text(content) and "20 977,13 zł" in pdf_text(content)
    log = statement.downloads.get()
    assert (log.user, log.ip, log.user_agent) == (alice, "10.1.2.3", "Mozilla/5.0 (test)")


def test_it_never_serves_another_members_statement(client, alice, bob, run) -> None:
    client.force_login(alice)
    bobs = statement_of(bob, run)
    assert client.get(reverse("portal:statement-download", args=[bobs.pk])).status_code == 404
    assert client.get(f"/portal/statements/{bobs.pk}/download/").status_code == 404
    # Guessing ids does not help either.
    for guess in range(bobs.pk - 3, bobs.pk + 4):
        if guess != statement_of(alice, run).pk:
            assert client.get(f"/portal/statements/{guess}/download/").status_code == 404
    assert not bobs.downloads.exists()


def test_it_exposes_no_file_path(client, alice, bob, run) -> None:
    client.force_login(alice)
    name = statement_of(bob, run).file.name
    for url in (f"/media/{name}", f"{settings.MEDIA_URL}{name}", f"/{name}", f"/static/{name}", f"/portal/{name}"):
        assert client.get(url).status_code == 404, url
    page = client.get(reverse("portal:home")).content.decode()
    assert statement_of(alice, run).file.name not in page and settings.MEDIA_URL not in page


def test_it_hides_unpublished_statements(client, cluster, alice, run, django_capture_on_commit_callbacks) -> None:
    v2 = march_run(cluster, version=2)
    SettlementLineFactory(run=v2, member=alice.member, member_name="Alicja Nowak", total="21500.00")
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=v2)
    draft = statement_of(alice, v2)
    assert draft.status == Statement.Status.READY and draft.file
    client.force_login(alice)
    assert client.get(reverse("portal:statement-download", args=[draft.pk])).status_code == 404
    page = client.get(reverse("portal:home")).content.decode()
    assert draft.number not in page and "21\u00a0500,00" not in page


def test_it_marks_an_older_version_as_superseded(client, cluster, alice, coordinator, run, django_capture_on_commit_callbacks) -> None:
    v2 = march_run(cluster, version=2)
    SettlementLineFactory(run=v2, member=alice.member, member_name="Alicja Nowak", total="21500.00")
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=v2)
    with django_capture_on_commit_callbacks(execute=True):
        statements_publish(run=v2, user=coordinator)
    client.force_login(alice)
    page = client.get(reverse("portal:home")).content.decode()
    assert statement_of(alice, v2).number in page and "zastąpione nowszą wersją" in page
    response = client.get(reverse("portal:statement-download", args=[statement_of(alice, v2).pk]))
    number = statement_of(alice, v2).number.replace("/", "-")  # the correction's own number
    assert f'filename="zestawienie-{number}-alicja-nowak.pdf"' in response["Content-Disposition"]


def test_it_answers_404_to_accounts_without_a_member(client, coordinator, outsider, alice, run) -> None:
    for user in (coordinator, outsider):
        client.force_login(user)
        assert client.get(reverse("portal:home")).status_code == 404
        assert client.get(reverse("portal:statement-download", args=[statement_of(alice, run).pk])).status_code == 404


def test_it_sends_anonymous_visitors_to_login(client, alice, run) -> None:
    for url in (reverse("portal:home"), reverse("portal:statement-download", args=[statement_of(alice, run).pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("count", [2, 10])
def test_it_renders_the_portal_home_in_a_constant_number_of_queries(
    client, cluster, alice, count, django_assert_max_num_queries
) -> None:
    now = timezone.now()
    for i in range(count):
        PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=alice.member, valid_from=dt.date(2025, 1, 1))
        start = dt.date(2024 + i // 12, i % 12 + 1, 1)
        run = SettlementRunFactory(
            cluster=cluster, period_kind="month", period_start=start, period_end=start.replace(day=28),
            statements_published_at=now,
        )
        line = SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak")
        Statement.objects.create(
            run=run, line=line, member=alice.member, number=f"OKE/{i:04d}-v1", status=Statement.Status.PUBLISHED,
            published_at=now,
        )
        AnnualStatement.objects.create(
            cluster=cluster, member=alice.member, year=2000 + i, number=f"OKE/{2000 + i}/ROK/{i:04d}-v1",
            evaluation_period="month", total=0, shown_total=0, status=Statement.Status.PUBLISHED, published_at=now,
        )
    client.force_login(alice)
    client.get(reverse("portal:home"))  # warm caches (session, content types)
    with django_assert_max_num_queries(8):  # one more: the annual statements, however many
        response = client.get(reverse("portal:home"))
    assert len(response.context["settlements"]) == count and len(response.context["memberships"]) == count
    assert len(response.context["annual_statements"]) == count
