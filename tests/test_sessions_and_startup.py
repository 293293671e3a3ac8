"""Production defaults: idle sessions end, DEBUG is off unless set, no start without a real SECRET_KEY,
proxy headers trusted only when configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent


def test_a_staff_session_ends_after_30_idle_minutes_and_a_members_after_120(client, coordinator, alice) -> None:
    client.force_login(coordinator)
    client.get("/")
    assert client.session.get_expiry_age() == 30 * 60
    client.force_login(alice)
    client.get("/portal/")
    assert client.session.get_expiry_age() == 120 * 60


def test_an_idle_session_is_gone(client, coordinator, cluster) -> None:
    client.force_login(coordinator)
    assert client.get(f"/c/{cluster.slug}/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get(f"/c/{cluster.slug}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def _settings_in_clean_env(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "OKE_BEHIND_PROXY")}
    clean.update(env, DJANGO_SETTINGS_MODULE="okeportal.settings")
    # A developer's own .env file must not decide the outcome: read_env is switched off.
    code = "import environ; environ.Env.read_env = classmethod(lambda *a, **k: None); import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = _settings_in_clean_env()
    assert result.returncode != 0 and "SECRET_KEY is missing" in result.stderr


def test_it_refuses_the_public_development_key() -> None:
    key = "dev-only-insecure-key-change-me-in-production-0123456789abcdefghijklmnop"
    result = _settings_in_clean_env(SECRET_KEY=key)
    assert result.returncode != 0 and "development key" in result.stderr


@pytest.mark.parametrize(("proxy", "header"), [("", "None"), ("True", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_debug_is_off_by_default_and_proxy_headers_are_trusted_only_when_set(proxy: str, header: str) -> None:
    env = {"SECRET_KEY": "k" * 20 + "-a-long-enough-production-secret-key-0123456789"}
    if proxy:
        env["OKE_BEHIND_PROXY"] = proxy
    result = _settings_in_clean_env(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"False {header}"
