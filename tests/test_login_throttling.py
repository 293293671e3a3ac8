"""Login and password-reset throttling: guessing stops, mailboxes are not flooded, failures are kept."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.core import mail
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}}
    cache.clear()
    yield
    cache.clear()


def login(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_the_right_password_is_refused_after_five_wrong_ones(client, alice, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "alice", "zle-haslo").status_code == 200
    assert login(client, "alice", "zle-haslo").status_code == 429  # the limit-th failure locks
    response = login(client, "alice", "haslo-testowe-123")
    assert response.status_code == 429 and "tymczasowo zablokowane" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessFailureLog.objects.filter(username="alice").count() >= settings.AXES_FAILURE_LIMIT
    assert AccessAttempt.objects.filter(username="alice").exists()


def test_a_success_before_the_limit_resets_the_count(client, alice, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", "zle-haslo")
    assert login(client, "alice", "haslo-testowe-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", "zle-haslo")
    assert login(client, "alice", "haslo-testowe-123").status_code == 302


def test_the_admin_login_is_throttled_too(client, db, settings) -> None:
    from tests.factories import UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "zle"})
    response = client.post("/admin/login/", {"username": "root", "password": "haslo-testowe-123"})
    assert response.status_code == 429


def test_one_address_cannot_guess_across_many_usernames(client, db, settings) -> None:
    settings.OKE_LOGIN_RATE_PER_IP = "3/m"
    for n in range(3):
        assert login(client, f"user{n}", "x").status_code == 200
    response = login(client, "user9", "x")
    assert response.status_code == 429 and "Zbyt wiele prób logowania" in response.content.decode()


def test_password_reset_emails_are_capped_per_address(client, alice, settings) -> None:
    sent = []
    for _ in range(5):
        response = client.post("/accounts/password_reset/", {"email": "alice@example.pl"})
        sent.append(response.status_code)
    assert sent[:3] == [302, 302, 302] and sent[3:] == [429, 429]
    assert len(mail.outbox) == 3
    assert "Zbyt wiele próśb" in client.post("/accounts/password_reset/", {"email": "alice@example.pl"}).content.decode()
