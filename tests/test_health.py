"""/health/ answers the load balancer without a login; oversized requests are refused before reading."""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.utils import OperationalError
from django.urls import reverse

from okeportal.middleware import request_limit_mb

pytestmark = pytest.mark.django_db


def test_it_reports_ok_without_login_when_database_and_broker_answer(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failed": [], "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response.headers["Cache-Control"]


def test_it_names_the_broker_when_it_does_not_answer_and_hides_its_address(client, settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret@127.0.0.1:1/0"
    settings.OKE_HEALTH_TIMEOUT_SECONDS = 0.5
    response = client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    assert "s3cret" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


def test_it_names_the_database_when_it_does_not_answer(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["database"] == "error: OperationalError"


def test_it_names_a_missing_development_broker_folder(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "absent")}
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_it_refuses_a_body_over_the_limit_with_413_naming_the_limit(client, settings):
    settings.OKE_MAX_REQUEST_MB = 2
    response = client.post(
        reverse("login"), data=b"x", content_type="application/octet-stream", CONTENT_LENGTH=str(3 * 1024 * 1024)
    )
    assert response.status_code == 413
    text = response.content.decode()
    assert "najwyżej 2 MB" in text and "OKE_MAX_REQUEST_MB" in text


def test_it_lets_a_body_at_the_limit_through(client, settings):
    settings.OKE_MAX_REQUEST_MB = 2
    response = client.post(reverse("login"), data={"username": "nobody", "password": "x"})
    assert response.status_code == 200  # the login form again, with its error
    response = client.post(
        reverse("login"), data=b"x", content_type="application/octet-stream", CONTENT_LENGTH=str(2 * 1024 * 1024)
    )
    assert response.status_code != 413


def test_it_defaults_the_limit_to_the_largest_upload_limit_plus_one_mb(settings):
    settings.OKE_MAX_REQUEST_MB = 0
    settings.OKE_READINGS_UPLOAD_MAX_MB = 5000
    assert request_limit_mb() == 5001
    settings.OKE_MAX_REQUEST_MB = 7
    assert request_limit_mb() == 7
