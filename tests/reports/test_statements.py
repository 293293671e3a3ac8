"""Generating, storing, publishing statements; coordinator pages; invitations."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reports.models import ClusterReport, Statement
from reports.portal.invitations import member_invite
from reports.statements.services import statement_render, statements_generate, statements_prepare, statements_publish
from reports.statements.tasks import statement_render_task, statements_render_task
from tests.factories import MemberFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, march_run
from tests.reports.test_pdf import pdf_text


@pytest.fixture
def run(cluster, alice, bob):
    run = march_run(cluster, finished_at=timezone.make_aware(dt.datetime(2026, 4, 2, 10, 30)))
    SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak")
    SettlementLineFactory(run=run, member=bob.member, member_name="Bob Kowalski sp. z o.o.")
    return run


@pytest.fixture
def rendered(run, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=None)
    return run


@pytest.fixture
def published(rendered, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        statements_publish(run=rendered, user=coordinator)
    return rendered


# --- generation -------------------------------------------------------------------


def test_it_renders_every_statement_and_the_cluster_report(rendered) -> None:
    statements = list(rendered.statements.order_by("number"))
    assert len(statements) == 2
    for statement in statements:
        assert statement.status == Statement.Status.READY
        content = statement.file.read()
        assert content.startswith(b"%PDF-")
        assert statement.sha256 == hashlib.sha256(content).hexdigest()
        assert statement.file.name.startswith(f"statements/{rendered.cluster_id}/{rendered.pk}/")
    assert re.fullmatch(rf"OKE/2026/03/{rendered.lines.get(member_name='Alicja Nowak').member_id:04d}-v1",
                        rendered.statements.get(line__member_name="Alicja Nowak").number)
    report = ClusterReport.objects.get(run=rendered)
    assert report.status == Statement.Status.READY
    text = pdf_text(report.file.read())
    assert "52 442,81 zł" in text and "Alicja Nowak" in text and "Bob Kowalski sp. z o.o." in text


def test_it_renders_the_same_bytes_twice(rendered) -> None:
    statement = rendered.statements.first()
    first = statement.file.read()
    Statement.objects.filter(pk=statement.pk).update(status=Statement.Status.PENDING, rendered_at=None)
    statement_render_task(statement.pk)
    statement.refresh_from_db()
    second = statement.file.read()
    assert first == second
    assert statement.sha256 == hashlib.sha256(second).hexdigest()
    reader = PdfReader(io.BytesIO(second))
    assert reader.metadata.creation_date.date() == dt.date(2026, 4, 2)
    # Re-rendering replaced the file under the same name instead of adding a copy.
    expected = f"statements/{rendered.cluster_id}/{rendered.pk}/{statement.number.replace('/', '-')}.pdf"
    assert statement.file.name == expected
    assert os.listdir(os.path.dirname(statement.file.path)).count(os.path.basename(expected)) == 1


def test_it_does_not_render_a_claimed_statement_twice(rendered) -> None:
    statement = rendered.statements.first()
    Statement.objects.filter(pk=statement.pk).update(status=Statement.Status.PENDING, rendered_at=timezone.now(), sha256="")
    statement_render_task(statement.pk)
    statement.refresh_from_db()
    assert statement.sha256 == "" and statement.status == Statement.Status.PENDING


def test_it_marks_a_failed_render_with_the_reason(run, monkeypatch) -> None:
    statements_prepare(run=run)
    statement = run.statements.first()

    def broken(**kwargs):
        raise RuntimeError("brak czcionki")

    monkeypatch.setattr("reports.statements.services.statement_pdf", broken)
    statement_render_task(statement.pk)
    statement.refresh_from_db()
    assert statement.status == Statement.Status.FAILED
    assert "brak czcionki" in statement.error


def test_it_skips_runs_that_are_not_done(cluster) -> None:
    run = SettlementRunFactory(cluster=cluster, queued=True)
    statements_render_task(run.pk)
    assert not Statement.objects.filter(run=run).exists()


def test_it_numbers_a_new_version_separately(rendered, cluster, alice, django_capture_on_commit_callbacks) -> None:
    v2 = march_run(cluster, version=2)
    SettlementLineFactory(run=v2, member=alice.member, member_name="Alicja Nowak", total="21000.00")
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=v2)
    statement = v2.statements.get()
    assert statement.number.endswith("-v2")
    assert statement.number.replace("-v2", "-v1") in set(rendered.statements.values_list("number", flat=True))
    text = pdf_text(statement.file.read())
    assert statement.number in text and "21 000,00 zł" in text


def test_it_builds_the_statement_from_the_snapshot_not_the_registry(rendered, alice) -> None:
    member = alice.member
    member.name = "Zmieniona Nazwa"
    member.save()
    statement = rendered.statements.get(member=member)
    Statement.objects.filter(pk=statement.pk).update(status=Statement.Status.PENDING, rendered_at=None)
    statement_render(statement=Statement.objects.get(pk=statement.pk))
    text = pdf_text(Statement.objects.get(pk=statement.pk).file.read())
    assert "Alicja Nowak" in text and "Zmieniona Nazwa" not in text


# --- publishing -------------------------------------------------------------------


def test_it_publishes_and_emails_members_a_portal_link(published) -> None:
    published.refresh_from_db()
    assert published.statements_published_at is not None
    assert set(published.statements.values_list("status", flat=True)) == {Statement.Status.PUBLISHED}
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.pl", "bob@example.pl"]
    body = mail.outbox[0].body
    assert reverse("portal:home") in body and "zestawienie" in body.lower()
    assert not mail.outbox[0].attachments


def test_it_refuses_to_publish_before_everything_is_rendered(run, coordinator) -> None:
    from django.core.exceptions import ValidationError

    statements_prepare(run=run)
    with pytest.raises(ValidationError):
        statements_publish(run=run, user=coordinator)
    assert not run.statements.filter(status=Statement.Status.PUBLISHED).exists()


def test_it_refuses_to_regenerate_published_statements(published) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        statements_generate(run=published)


# --- coordinator pages ------------------------------------------------------------


def test_it_lists_statements_for_the_coordinator(client, coordinator, rendered) -> None:
    client.force_login(coordinator)
    response = client.get(reverse("reports:statement-list", args=["oke", rendered.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alicja Nowak" in page and "Opublikuj" in page
    assert reverse("reports:statement-download", args=["oke", rendered.statements.first().pk]) in page


def test_it_generates_and_publishes_through_the_buttons(client, coordinator, run, django_capture_on_commit_callbacks) -> None:
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:statements-generate", args=["oke", run.pk]))
    assert response.status_code == 302
    assert set(run.statements.values_list("status", flat=True)) == {Statement.Status.READY}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:statements-publish", args=["oke", run.pk]))
    assert set(run.statements.values_list("status", flat=True)) == {Statement.Status.PUBLISHED}
    assert len(mail.outbox) == 2


def test_it_downloads_for_staff_with_a_log(client, coordinator, rendered) -> None:
    client.force_login(coordinator)
    statement = rendered.statements.first()
    response = client.get(reverse("reports:statement-download", args=["oke", statement.pk]), HTTP_USER_AGENT="Testowa")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert statement.downloads.get().user == coordinator
    report = client.get(reverse("reports:cluster-report-download", args=["oke", rendered.pk]))
    assert report.status_code == 200
    assert 'filename="raport-klastra-OKE-2026-03-v1.pdf"' in report["Content-Disposition"]


@pytest.mark.parametrize("name", ["statement-list", "cluster-report-download"])
def test_it_hides_statement_pages_from_other_clusters_staff(client, outsider, rendered, name) -> None:
    client.force_login(outsider)
    assert client.get(reverse(f"reports:{name}", args=["oke", rendered.pk])).status_code == 404
    # ... and under their own cluster's slug the run does not exist either.
    assert client.get(reverse(f"reports:{name}", args=["inny", rendered.pk])).status_code == 404


def test_it_hides_downloads_and_buttons_from_other_clusters_staff(client, outsider, rendered) -> None:
    client.force_login(outsider)
    statement = rendered.statements.first()
    for slug in ("oke", "inny"):
        assert client.get(reverse("reports:statement-download", args=[slug, statement.pk])).status_code == 404
        assert client.post(reverse("reports:statements-publish", args=[slug, rendered.pk])).status_code == 404
        assert client.post(reverse("reports:statements-generate", args=[slug, rendered.pk])).status_code == 404
    assert not statement.downloads.exists()
    assert not rendered.statements.filter(status=Statement.Status.PUBLISHED).exists()


def test_it_keeps_members_off_the_coordinator_pages(client, alice, rendered) -> None:
    client.force_login(alice)
    statement = rendered.statements.get(member=alice.member)
    assert client.get(reverse("reports:statement-list", args=["oke", rendered.pk])).status_code == 404
    assert client.get(reverse("reports:statement-download", args=["oke", statement.pk])).status_code == 404


def test_it_sends_anonymous_users_to_login(client, rendered) -> None:
    response = client.get(reverse("reports:statement-list", args=["oke", rendered.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- invitations ------------------------------------------------------------------


def test_it_invites_a_member_with_a_set_password_link(client, cluster, coordinator, django_capture_on_commit_callbacks) -> None:
    member = MemberFactory(cluster=cluster, ref="zielone", name="Spółdzielnia Socjalna Zielone Śląskie", email="biuro@zielone.pl")
    with django_capture_on_commit_callbacks(execute=True):
        user = member_invite(member=member, invited_by=coordinator)
    member.refresh_from_db()
    assert member.user == user and user.username == "oke-zielone" and not user.has_usable_password()
    message = mail.outbox[-1]
    assert message.to == ["biuro@zielone.pl"] and "Zaproszenie" in message.subject
    link = re.search(r"https?://\S+/accounts/reset/\S+/", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert response.status_code == 200 and "Ustaw hasło" in response.content.decode()
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "Zielone-Slaskie-2026!", "new_password2": "Zielone-Slaskie-2026!"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Zielone-Slaskie-2026!")
    response = client.post("/accounts/login/", {"username": "oke-zielone", "password": "Zielone-Slaskie-2026!"})
    assert response.status_code == 302 and client.session.get("_auth_user_id") == str(user.pk)


def test_it_reinvites_an_account_never_activated_at_the_members_current_address(cluster) -> None:
    member = MemberFactory(cluster=cluster, ref="nowy", email="stary@example.pl")
    first = member_invite(member=member, invited_by=None)
    member.refresh_from_db()
    member.email = "nowy@example.pl"
    member.save()
    again = member_invite(member=member, invited_by=None)
    assert again == first and again.email == "nowy@example.pl" and not again.has_usable_password()


def test_it_never_sends_a_set_password_link_for_an_active_account(cluster, alice) -> None:
    """Account takeover: staff change the e-mail and invite again; the active account stays with its owner."""
    from django.core.exceptions import ValidationError

    member = alice.member
    member.email = "napastnik@example.com"
    member.save()
    mail.outbox.clear()
    with pytest.raises(ValidationError, match="już aktywne"):
        member_invite(member=member, invited_by=None)
    alice.refresh_from_db()
    assert alice.email == "alice@example.pl" and mail.outbox == []


def test_it_never_invites_into_a_staff_account_of_another_cluster(cluster, outsider) -> None:
    from django.core.exceptions import ValidationError

    outsider.set_unusable_password()
    outsider.save()
    member = MemberFactory(cluster=cluster, ref="firma", email="firma@example.pl", user=outsider)
    with pytest.raises(ValidationError, match="zespołu koordynatora"):
        member_invite(member=member, invited_by=None)
    outsider.refresh_from_db()
    assert outsider.email == "obcy@example.pl"


def test_it_does_not_hand_over_someone_elses_account(cluster, coordinator) -> None:
    member = MemberFactory(cluster=cluster, ref="kopia", email="koordynator@example.pl")
    coordinator.username = "oke-kopia"
    coordinator.save()
    user = member_invite(member=member, invited_by=None)
    assert user != coordinator and user.username == "oke-kopia-2"


def test_it_refuses_to_invite_without_an_email(cluster) -> None:
    from django.core.exceptions import ValidationError

    member = MemberFactory(cluster=cluster, ref="bez", email="")
    with pytest.raises(ValidationError, match="e-mail"):
        member_invite(member=member, invited_by=None)


def test_it_invites_from_the_command_line(cluster, django_capture_on_commit_callbacks) -> None:
    MemberFactory(cluster=cluster, ref="gmina", name="Miasto Orzesze", email="um@orzesze.pl")
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("invite_member", "oke", "gmina", stdout=out)
    assert "um@orzesze.pl" in out.getvalue() and mail.outbox[-1].to == ["um@orzesze.pl"]


def test_it_invites_through_the_button(client, coordinator, cluster, rendered, django_capture_on_commit_callbacks) -> None:
    member = MemberFactory(cluster=cluster, ref="nowy", email="nowy@example.pl")
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:member-portal-invite", args=["oke", member.pk]))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.user is not None and mail.outbox[-1].to == ["nowy@example.pl"]


def test_it_refuses_invitations_across_clusters(client, outsider, alice) -> None:
    client.force_login(outsider)
    assert client.post(reverse("reports:member-portal-invite", args=["inny", alice.member.pk])).status_code == 404
    assert client.post(reverse("reports:member-portal-invite", args=["oke", alice.member.pk])).status_code == 404


def test_it_renders_the_polish_password_reset_pages(client, db) -> None:
    page = client.get(reverse("password_reset")).content.decode()
    assert "Nie pamiętasz hasła?" in page and "Wyślij link" in page
    assert "Link jest nieważny" in client.get("/accounts/reset/MQ/zly-token/").content.decode()


@pytest.mark.parametrize("count", [2, 12])
def test_it_lists_statements_in_a_constant_number_of_queries(
    client, coordinator, cluster, count, django_assert_max_num_queries
) -> None:
    run = SettlementRunFactory(cluster=cluster)
    for i in range(count):
        line = SettlementLineFactory(run=run, member=MemberFactory(cluster=cluster, email=f"c{i}@example.pl"))
        Statement.objects.create(run=run, line=line, member=line.member, number=f"OKE/2025/R/{i:04d}-v1")
    client.force_login(coordinator)
    url = reverse("reports:statement-list", args=[cluster.slug, run.pk])
    client.get(url)  # warm caches (session, content types)
    with django_assert_max_num_queries(11):  # the same for 2 and 12 statements (outdated reasons: one query)
        response = client.get(url)
    assert len(response.context["statements"]) == count
