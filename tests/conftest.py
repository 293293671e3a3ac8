"""Shared fixtures: reference data, the fixed cast of users, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from okeportal.celery import app as celery_app
from tests.factories import ClusterFactory, MemberFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent

# One definition of the Playwright fixtures for the whole suite: importing them into
# several modules would start a second sync_playwright() inside the first one's loop.
pytest_plugins = ["tests.browser"]

# Tests run tasks inline unless a test asks for the real worker (see celery_worker).
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory) -> None:
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the portal's default language (Polish).

    A request with the English cookie activates English for the thread and Django
    leaves it active after the response; numbers and dates follow the active language.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """Load the reference data once per test database, committed.

    Ordinary tests roll back to this state; pytest-django runs transactional tests
    after them, and ``reference_data`` reloads after their flushes.
    """
    from members.services.reference import reference_data_load

    with django_db_blocker.unblock():
        reference_data_load()
        presentation_tariffs_only()


@pytest.fixture(autouse=True)
def reference_data(request) -> None:
    """TERYT, DSOs, conditions and tariffs: every database the portal runs on has them.

    Loaded only for tests that use the database, and loaded again after a
    transactional test has flushed the tables.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        f in request.fixturenames for f in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from members.models import Gmina
    from members.services.reference import reference_data_load

    if not Gmina.objects.filter(terc="2408031").exists():
        reference_data_load()
        presentation_tariffs_only()


def presentation_tariffs_only() -> None:
    """The tests reproduce the coordinator's presentation figures, computed with its example rows in
    every year: the sourced rows the reference data adds (2025/2026 fees, TAURON 2026 rates and zone hours) are taken out
    and the example rows reopened. ``tests/reports/test_rate_sources.py`` loads them again."""
    from reports.models import DistributionRate, ExemptFee, TariffZoneHours
    from reports.settlement.tariff_defaults import EXAMPLE

    TariffZoneHours.objects.all().delete()
    for model in (DistributionRate, ExemptFee):
        model.objects.exclude(source__startswith=EXAMPLE).delete()
        model.objects.filter(source__startswith=EXAMPLE).update(valid_to=None)


# --- the fixed cast (healthchecks style) -------------------------------------


@pytest.fixture
def cluster(db):
    return ClusterFactory(name="Orzeski Klaster Energii", slug="oke")


@pytest.fixture
def other_cluster(db):
    return ClusterFactory(name="Inny Klaster", slug="inny")


@pytest.fixture
def coordinator(cluster):
    user = UserFactory(username="koordynator", first_name="Anna", last_name="Koordynator")
    cluster.staff.add(user)
    return user


@pytest.fixture
def outsider(other_cluster):
    """Staff of another cluster."""
    user = UserFactory(username="obcy")
    other_cluster.staff.add(user)
    return user


def _consents_confirmed(user) -> None:
    """The cast's member accounts have confirmed the consent texts in force (the portal asks first otherwise)."""
    from members.services.consents import consent_texts_in_force, consents_accept

    consents_accept(member=user.member, user=user, text_ids=consent_texts_in_force().values_list("pk", flat=True))


@pytest.fixture
def alice(cluster):
    user = UserFactory(username="alice")
    MemberFactory(cluster=cluster, ref="alice", name="Alicja Nowak", user=user, legal_form="person", nip="")
    _consents_confirmed(user)
    return user


@pytest.fixture
def bob(cluster):
    user = UserFactory(username="bob")
    MemberFactory(cluster=cluster, ref="bob", name="Bob Kowalski sp. z o.o.", user=user)
    _consents_confirmed(user)
    return user


# --- a real worker (PostgreSQL + Redis leg of CI) -----------------------------


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Start ``celery worker`` as a separate process on the test database.

    Skipped unless CELERY_BROKER_URL names a real broker (Redis); CI's second
    leg sets it. Tests using it need ``transactional_db`` so the worker sees
    their rows, and switch eager mode off with ``real_queue``.
    """
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker or broker.startswith("filesystem"):
        pytest.skip("needs a real broker: set CELERY_BROKER_URL (CI's PostgreSQL + Redis leg does)")
    if connection.vendor == "sqlite":
        pytest.skip("the worker process needs a shared database server (PostgreSQL)")
    env = dict(os.environ)
    env["OKE_DATABASE_NAME"] = connection.settings_dict["NAME"]
    env["CELERY_TASK_ALWAYS_EAGER"] = "False"
    env["MEDIA_ROOT"] = str(Path(os.environ.get("OKE_TEST_MEDIA", "/tmp/oke-test-media")))
    log = open(ROOT / "var" / "test-worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "okeportal", "worker", "--pool", "solo", "-l", "info", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        celery_app.control.purge()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if celery_app.control.ping(timeout=1.0):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited early; see {log.name}")
        else:
            raise RuntimeError(f"Celery worker did not answer within 60 s; see {log.name}")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def real_queue(celery_worker, settings) -> Iterator[None]:
    """Send tasks through the broker to the worker process instead of running them inline."""
    settings.MEDIA_ROOT = os.environ.get("OKE_TEST_MEDIA", "/tmp/oke-test-media")
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2) -> bool:
    """Poll until ``predicate()`` is truthy; for tests that wait on the worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
