"""A member's own account: the e-mail moves only with the owner's password and a link to the new address."""

from __future__ import annotations

import re

import pytest
from django.core import mail


def _link(message) -> str:
    return "/" + re.search(r"https?://\S+?/(portal/account/email/\S+/)", message.body).group(1)


def test_it_changes_the_email_only_after_the_owner_confirms(client, alice, django_capture_on_commit_callbacks) -> None:
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/account/", {"new_email": "alicja@nowa.pl", "password": "haslo-testowe-123"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.pl"  # not yet
    confirm, notice = mail.outbox[-2], mail.outbox[-1]
    assert confirm.to == ["alicja@nowa.pl"] and notice.to == ["alice@example.pl"]
    link = _link(confirm)
    assert client.get(link).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(link).status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alicja@nowa.pl"
    assert mail.outbox[-1].to == ["alice@example.pl"] and "zmieniono" in mail.outbox[-1].body
    # A used link cannot be replayed.
    assert client.post(link).status_code == 400


def test_it_refuses_a_wrong_password(client, alice) -> None:
    client.force_login(alice)
    response = client.post("/portal/account/", {"new_email": "x@y.pl", "password": "zle"})
    assert response.status_code == 200 and "Hasło jest nieprawidłowe" in response.content.decode()
    assert mail.outbox == []


def test_a_link_cannot_change_another_users_email(client, alice, bob, django_capture_on_commit_callbacks) -> None:
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/account/", {"new_email": "alicja@nowa.pl", "password": "haslo-testowe-123"})
    link = _link(mail.outbox[-2])
    client.force_login(bob)
    assert client.post(link).status_code == 400
    bob.refresh_from_db()
    assert bob.email == "bob@example.pl"


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoxfQ:1abc:def"])
def test_a_forged_link_is_refused(client, alice, token) -> None:
    client.force_login(alice)
    assert client.get(f"/portal/account/email/{token}/").status_code == 400


def test_the_member_changes_the_password_in_the_portal(client, alice) -> None:
    client.force_login(alice)
    assert client.get("/portal/account/password/").status_code == 200
    response = client.post(
        "/portal/account/password/",
        {"old_password": "haslo-testowe-123", "new_password1": "Nowe-Haslo-2026!x", "new_password2": "Nowe-Haslo-2026!x"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Nowe-Haslo-2026!x")


@pytest.mark.parametrize("url", ["/portal/account/", "/portal/account/password/", "/portal/account/email/x/"])
def test_account_pages_need_a_login(client, db, url) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_member_record_cannot_be_linked_to_another_clusters_staff_or_a_superuser(cluster, outsider) -> None:
    from django.core.exceptions import ValidationError

    from tests.factories import MemberFactory, UserFactory

    member = MemberFactory(cluster=cluster, ref="firma")
    member.user = outsider
    with pytest.raises(ValidationError, match="innego klastra"):
        member.full_clean()
    member.user = UserFactory(username="root", is_superuser=True)
    with pytest.raises(ValidationError, match="administratora"):
        member.full_clean()


def test_the_admin_refuses_that_link_too(client, cluster, outsider) -> None:
    from tests.factories import MemberFactory, UserFactory

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    member = MemberFactory(cluster=cluster, ref="firma")
    client.force_login(root)
    page = client.get(f"/admin/members/member/{member.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"user": outsider.pk, "cluster": cluster.pk, "joined_on": "2024-01-01"})
    response = client.post(f"/admin/members/member/{member.pk}/change/", data)
    member.refresh_from_db()
    assert member.user_id is None
    assert response.status_code == 200


def test_changing_the_password_cancels_a_pending_email_change(client, alice, django_capture_on_commit_callbacks) -> None:
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/account/", {"new_email": "napastnik@example.com", "password": "haslo-testowe-123"})
    link = _link(mail.outbox[-2])
    assert "zmiana hasła unieważnia" in mail.outbox[-1].body  # the notice to the old address says how to stop it
    alice.set_password("Nowe-Haslo-2026!x")
    alice.save()
    client.force_login(alice)
    response = client.post(link)
    assert response.status_code == 400 and "zmieniono hasło" in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.pl"
