"""Jobs against real processes (PostgreSQL + Redis leg): a worker killed mid-run, a broker that is down.

The killed worker is this test's own process on a queue of its own, so the
session's shared worker (tests/conftest.py) keeps serving the other tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from okeportal.celery import app as celery_app
from okeportal.celery import jobs_reap_task
from okeportal.jobs import job_enqueue, job_send_failed, queue_unavailable_message
from reports.models import JobStatus, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.tasks import settlement_run_task
from tests.conftest import ROOT, wait_for
from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401

KILL_QUEUE = "oke-jobs-kill-test"
CLOSED_BROKER = "redis://127.0.0.1:6390/0"  # nothing listens there; the machine's Redis is untouched

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[None]:
    """A real broker and a database another process can read, or skip (as conftest's celery_worker does)."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url or url.startswith("filesystem"):
        pytest.skip("needs a real broker: set CELERY_BROKER_URL (CI's PostgreSQL + Redis leg does)")
    if connection.vendor == "sqlite":
        pytest.skip("the worker process needs a shared database server (PostgreSQL)")
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def slow_worker(broker) -> Iterator[subprocess.Popen]:
    """A worker on its own queue whose settlement steps each wait 2 s (OKE_TEST_SETTLEMENT_STEP_DELAY, DEBUG only)."""
    env = dict(os.environ, OKE_DATABASE_NAME=connection.settings_dict["NAME"], CELERY_TASK_ALWAYS_EAGER="False",
               OKE_TEST_SETTLEMENT_STEP_DELAY="2", DEBUG="True")
    log_path = Path(ROOT) / "var" / "test-jobs-worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "okeportal", "worker", "--pool", "solo", "-Q", KILL_QUEUE,
             "-l", "info", "-n", f"jobs-kill-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            with celery_app.connection_for_write() as conn:
                conn.default_channel.queue_purge(KILL_QUEUE)


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker (fresh connection pools) for the block."""
    def reset() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    previous = os.environ["CELERY_BROKER_URL"], celery_app.conf.broker_url
    os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        os.environ["CELERY_BROKER_URL"], celery_app.conf.broker_url = previous
        reset()


def test_it_frees_the_period_after_the_worker_is_killed_mid_run(cluster, seventy, slow_worker, settings):  # noqa: F811
    run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom", dispatch=False)
    assert job_enqueue(job=run, queue=KILL_QUEUE)
    assert wait_for(lambda: SettlementRun.objects.get(pk=run.pk).status == JobStatus.RUNNING, timeout=60), (
        "the worker never claimed the run; see var/test-jobs-worker.log"
    )
    os.kill(slow_worker.pid, signal.SIGKILL)
    slow_worker.wait(timeout=30)
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING and run.progress < 100  # killed mid-run: nothing finished it

    # The reaper runs as the beat schedule would call it; the run counts as stuck once its hard limit passed.
    limits = settings.OKE_JOB_TIME_LIMITS
    settings.OKE_JOB_TIME_LIMITS, settings.OKE_JOB_REAPER_MARGIN = {**limits, "settlement": (0, 0)}, 0
    assert jobs_reap_task()["failed_running"] == 1
    settings.OKE_JOB_TIME_LIMITS = limits
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "proces roboczy" in run.error and not run.lines.exists()

    again = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom", dispatch=False)
    settlement_run_task(again.pk)  # in this process, as `manage.py settle` does
    again.refresh_from_db()
    assert again.status == JobStatus.DONE, again.error
    assert again.version == run.version + 1 and again.totals["total"] == "52442.81"


def test_it_tells_the_user_when_the_broker_is_down_and_leaves_no_queued_run(client, coordinator, cluster, broker):
    client.force_login(coordinator)
    form = {"period_kind": "month", "year": "2025", "month": "3", "allocation": "pro_rata"}
    with broker_at(CLOSED_BROKER):
        response = client.post(reverse("reports:settlement-list", args=[cluster.slug]), form)
    run = SettlementRun.objects.get(cluster=cluster)
    assert run.status == JobStatus.FAILED and run.message == queue_unavailable_message()
    assert not SettlementRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
    page = client.get(response["Location"])
    assert queue_unavailable_message() in [str(m) for m in page.context["messages"]]

    # With the broker back, the retry button queues it again.
    client.post(reverse("reports:settlement-retry", args=[cluster.slug, run.pk]))
    retried = SettlementRun.objects.latest("version")
    assert retried.pk != run.pk and not job_send_failed(job=retried)
    celery_app.control.purge()  # no worker is needed for it here
