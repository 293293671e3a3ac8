"""The job lifecycle (okeportal.jobs) on settlement runs, meter imports and statements.

Reaper, time limits, cancel, retry, a broker that refuses messages, upload retention.
Tasks run inline here; tests/reports/test_jobs_worker.py kills a real worker.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from okeportal.jobs import (
    job_cancel,
    job_claim,
    job_enqueue,
    job_retry,
    job_send_failed,
    job_task,
    jobs_files_expire,
    jobs_reap,
    queue_unavailable_message,
    requeued_message,
)
from reports.models import ClusterReport, JobStatus, ReadingImport, SettlementRun, Statement
from reports.settlement import settlement_execute, settlement_request
from reports.settlement.tasks import settlement_run_task
from reports.statements.services import statements_cancel, statements_generate, statements_prepare, statements_publish
from tests.reports.factories import SettlementLineFactory, march_run
from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def sent(monkeypatch) -> dict[str, list]:
    """Record the messages each job kind's task would send, instead of running them inline."""
    calls: dict[str, list] = {"settlement": [], "reading_import": []}
    for kind in calls:
        task = job_task(kind=kind)
        monkeypatch.setattr(task, "apply_async", lambda *a, _kind=kind, **kw: calls[_kind].append(kw.get("args")))
    return calls


@pytest.fixture
def broker_down(monkeypatch) -> None:
    """Every send fails the way kombu reports an unreachable Redis."""
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    for kind in ("settlement", "reading_import"):
        monkeypatch.setattr(job_task(kind=kind), "apply_async", refuse)
    from reports.statements.tasks import statements_render_task

    monkeypatch.setattr(statements_render_task, "apply_async", refuse)


def request_run(cluster, **kwargs) -> SettlementRun:
    return settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom", **kwargs)


def running_run(cluster, *, started_ago: dt.timedelta) -> SettlementRun:
    run = request_run(cluster, dispatch=False)
    assert job_claim(job_model=SettlementRun, pk=run.pk)
    SettlementRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - started_ago)
    run.refresh_from_db()
    return run


def stored_import(cluster, **fields) -> ReadingImport:
    imp = ReadingImport(cluster=cluster, original_name="dane.csv", **fields)
    imp.file.save("dane.csv", ContentFile(b"ppe_code;start;import_kwh;export_kwh\n"), save=False)
    imp.save()
    return imp


# --- the reaper --------------------------------------------------------------------


def test_it_fails_a_run_stuck_past_its_hard_limit_and_the_period_can_be_settled_again(
    cluster, seventy, django_capture_on_commit_callbacks  # noqa: F811
):
    stuck = running_run(cluster, started_ago=3 * HOUR)
    with pytest.raises(ValidationError):
        request_run(cluster)  # the one-active-run rule holds while it is "running"

    assert jobs_reap()["failed_running"] == 1
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.FAILED and stuck.finished_at is not None
    assert "limicie czasu (1900 s)" in stuck.error and "ponowić" in stuck.message

    with django_capture_on_commit_callbacks(execute=True):
        again = request_run(cluster)
    again.refresh_from_db()
    assert again.status == JobStatus.DONE, again.error
    assert again.version == stuck.version + 1 and again.totals["total"] == "52442.81"


def test_it_leaves_a_run_within_its_limit_alone(cluster, seventy):  # noqa: F811
    run = running_run(cluster, started_ago=dt.timedelta(minutes=5))
    assert jobs_reap()["failed_running"] == 0
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING


def test_it_resends_a_lost_queued_import_once_then_fails_it_with_the_reason(
    cluster, sent, settings, django_capture_on_commit_callbacks
):
    imp = stored_import(cluster)
    ReadingImport.objects.filter(pk=imp.pk).update(queued_at=timezone.now() - 2 * HOUR)

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reap()["requeued"] == 1
    assert sent["reading_import"] == [[imp.pk]]
    imp.refresh_from_db()
    assert imp.status == JobStatus.QUEUED and imp.message == requeued_message()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reap()["requeued"] == 0  # a second scheduler finds nothing to do
    assert len(sent["reading_import"]) == 1

    later = timezone.now() + dt.timedelta(seconds=settings.OKE_JOB_QUEUED_TIMEOUT + 1)
    assert jobs_reap(now=later)["failed_queued"] == 1
    imp.refresh_from_db()
    assert imp.status == JobStatus.FAILED and "nie zostało podjęte" in imp.message
    assert len(sent["reading_import"]) == 1


def test_it_resends_a_lost_settlement_and_the_worker_settles_it(
    cluster, seventy, django_capture_on_commit_callbacks  # noqa: F811
):
    run = request_run(cluster, dispatch=False)
    SettlementRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - 2 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        jobs_reap()  # tasks run inline in tests: the re-sent message is processed at once
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error


def test_it_fails_statements_stuck_in_rendering_so_they_can_be_generated_and_published(
    cluster, alice, coordinator, settings, django_capture_on_commit_callbacks
):
    run = march_run(cluster)
    SettlementLineFactory(run=run, member=alice.member)
    statements_prepare(run=run)
    statement = run.statements.get()
    stamp = timezone.now() - 2 * HOUR  # a worker claimed it and died
    Statement.objects.filter(pk=statement.pk).update(rendered_at=stamp)
    ClusterReport.objects.filter(run=run).update(rendered_at=stamp)
    with pytest.raises(ValidationError):
        statements_publish(run=run, user=coordinator)

    assert jobs_reap()["swept"] == 2
    statement.refresh_from_db()
    assert statement.status == Statement.Status.FAILED and "Wygeneruj zestawienia ponownie" in statement.error

    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=coordinator)
    statement.refresh_from_db()
    assert statement.status == Statement.Status.READY
    with django_capture_on_commit_callbacks(execute=True):
        assert statements_publish(run=run, user=coordinator) == 1


# --- time limits and the failure handler ---------------------------------------------


def test_it_fails_a_run_past_its_soft_limit_at_the_next_step(cluster, seventy, settings):  # noqa: F811
    settings.OKE_JOB_TIME_LIMITS = {**settings.OKE_JOB_TIME_LIMITS, "settlement": (60, 120)}
    run = running_run(cluster, started_ago=dt.timedelta(seconds=90))
    settlement_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and run.error == "Przerwano: przekroczono limit czasu (60 s)."
    assert not run.lines.exists()


def test_it_marks_the_job_failed_with_the_reason_when_the_task_itself_fails(cluster, seventy):  # noqa: F811
    run = running_run(cluster, started_ago=dt.timedelta(seconds=5))
    settlement_run_task.on_failure(SoftTimeLimitExceeded(), "task-id", (run.pk,), {}, None)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "przekroczono limit czasu (1800 s)" in run.error

    other = stored_import(cluster, status=JobStatus.RUNNING)
    job_task(kind="reading_import").on_failure(MemoryError("brak pamięci"), "task-id", (other.pk,), {}, None)
    other.refresh_from_db()
    assert other.status == JobStatus.FAILED and "MemoryError: brak pamięci" in other.message


# --- cancel and retry ------------------------------------------------------------------


def test_it_cancels_a_queued_run_and_frees_the_period(cluster, coordinator, seventy, sent):  # noqa: F811
    run = request_run(cluster)
    job_cancel(job=run, user=coordinator)
    assert run.status == JobStatus.CANCELLED and "koordynator" in run.message
    settlement_run_task(run.pk)  # the message still arrives: the claim refuses it
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert request_run(cluster).version == run.version + 1


def test_it_cancels_a_running_run_and_publishes_nothing(cluster, coordinator, seventy):  # noqa: F811
    run = running_run(cluster, started_ago=dt.timedelta(seconds=1))
    job_cancel(job=run, user=coordinator)
    settlement_execute(run_id=run.pk)  # the worker reaches its next step
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and not run.lines.exists() and run.totals == {}


def test_it_refuses_to_cancel_a_finished_job(cluster, coordinator):
    imp = stored_import(cluster, status=JobStatus.DONE)
    with pytest.raises(ValidationError, match="nie jest w kolejce ani w toku"):
        job_cancel(job=imp, user=coordinator)


def test_it_retries_a_failed_run_as_a_new_version_respecting_the_one_active_rule(
    cluster, coordinator, seventy, django_capture_on_commit_callbacks  # noqa: F811
):
    failed = running_run(cluster, started_ago=3 * HOUR)
    jobs_reap()
    blocker = request_run(cluster, dispatch=False)
    with pytest.raises(ValidationError, match="już w kolejce lub w toku"):
        job_retry(job=failed, user=coordinator)
    job_cancel(job=blocker)

    with django_capture_on_commit_callbacks(execute=True):
        retried = job_retry(job=failed, user=coordinator)
    retried.refresh_from_db()
    assert retried.pk != failed.pk and retried.version == blocker.version + 1
    assert retried.status == JobStatus.DONE, retried.error


def test_it_requeues_a_failed_import_with_its_stored_file(cluster, coordinator, sent, django_capture_on_commit_callbacks):
    imp = stored_import(cluster, status=JobStatus.FAILED, message="Błąd wewnętrzny: x", finished_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        same = job_retry(job=imp, user=coordinator)
    assert same.pk == imp.pk and same.status == JobStatus.QUEUED and same.finished_at is None
    assert sent["reading_import"] == [[imp.pk]]
    with pytest.raises(ValidationError, match="tylko po błędzie lub anulowaniu"):
        job_retry(job=same, user=coordinator)


def test_it_refuses_to_retry_an_import_whose_file_is_gone(cluster, coordinator, sent):
    imp = stored_import(cluster, status=JobStatus.FAILED)
    imp.file.storage.delete(imp.file.name)
    with pytest.raises(ValidationError, match="plik źródłowy został już usunięty"):
        job_retry(job=imp, user=coordinator)
    assert ReadingImport.objects.get(pk=imp.pk).status == JobStatus.FAILED and sent["reading_import"] == []


def test_it_cancels_statement_rendering_and_a_late_pdf_is_discarded(cluster, alice, coordinator):
    from reports.statements.services import statement_render

    run = march_run(cluster)
    SettlementLineFactory(run=run, member=alice.member)
    statements_prepare(run=run)
    statement = run.statements.get()
    assert statements_cancel(run=run, user=coordinator) == 2  # the statement and the cluster report
    statement_render(statement=statement)  # a worker that was mid-render finishes
    statement.refresh_from_db()
    assert statement.status == Statement.Status.FAILED and not statement.file and "Anulowano" in statement.error
    with pytest.raises(ValidationError, match="Nic do anulowania"):
        statements_cancel(run=run, user=coordinator)


# --- a broker that refuses messages ------------------------------------------------------


def test_it_fails_a_run_the_broker_refused_instead_of_leaving_it_queued(
    cluster, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = request_run(cluster)
    assert job_send_failed(job=run)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and run.message == queue_unavailable_message()
    assert not SettlementRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()


def test_it_returns_false_when_sending_outside_a_transaction_fails(cluster, broker_down, monkeypatch):
    imp = stored_import(cluster)
    monkeypatch.setattr("okeportal.jobs.sending.connection", SimpleNamespace(in_atomic_block=False))
    assert job_enqueue(job=imp) is False
    assert ReadingImport.objects.get(pk=imp.pk).status == JobStatus.FAILED


def test_it_marks_statements_failed_when_the_broker_refuses_the_batch(
    cluster, alice, coordinator, broker_down, django_capture_on_commit_callbacks
):
    run = march_run(cluster)
    SettlementLineFactory(run=run, member=alice.member)
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=coordinator)
    assert set(run.statements.values_list("status", "error")) == {(Statement.Status.FAILED, queue_unavailable_message())}


@pytest.mark.django_db(transaction=True)
def test_it_tells_the_coordinator_the_queue_is_down_when_requesting_a_settlement(client, coordinator, cluster, broker_down):
    client.force_login(coordinator)
    response = client.post(
        reverse("reports:settlement-list", args=[cluster.slug]),
        {"period_kind": "month", "year": "2025", "month": "3", "allocation": "pro_rata"}, follow=True,
    )
    run = SettlementRun.objects.get()
    assert queue_unavailable_message() in [str(m) for m in response.context["messages"]]
    assert run.status == JobStatus.FAILED and 'id="btn-job-retry"' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_tells_the_coordinator_the_queue_is_down_when_uploading_meter_data(client, coordinator, cluster, broker_down):
    client.force_login(coordinator)
    upload = ContentFile(b"ppe_code;start;import_kwh;export_kwh\n", name="dane.csv")
    response = client.post(reverse("reports:import-list", args=[cluster.slug]), {"file": upload, "format": "generic"}, follow=True)
    imp = ReadingImport.objects.get()
    assert queue_unavailable_message() in [str(m) for m in response.context["messages"]]
    assert imp.status == JobStatus.FAILED and imp.file  # kept: "Ponów" sends it again


# --- the buttons ------------------------------------------------------------------------------


def test_it_cancels_and_retries_through_the_buttons(
    client, coordinator, cluster, seventy, sent, django_capture_on_commit_callbacks  # noqa: F811
):
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        run = request_run(cluster)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="btn-job-cancel"' in page
    response = client.post(reverse("reports:settlement-cancel", args=[cluster.slug, run.pk]), follow=True)
    assert "Anulowano zadanie" in response.content.decode() and 'id="run-cancelled"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:settlement-retry", args=[cluster.slug, run.pk]))
    retried = SettlementRun.objects.latest("version")
    assert sent["settlement"] == [[run.pk], [retried.pk]]
    assert response["Location"] == reverse("reports:settlement-detail", args=[cluster.slug, retried.pk])
    assert retried.version == 2 and retried.status == JobStatus.QUEUED

    response = client.post(reverse("reports:settlement-retry", args=[cluster.slug, retried.pk]), follow=True)
    assert "można ponowić tylko po błędzie lub anulowaniu" in response.content.decode()


def test_it_offers_no_retry_once_the_upload_file_was_removed(client, coordinator, cluster):
    imp = stored_import(cluster, status=JobStatus.FAILED, finished_at=timezone.now() - dt.timedelta(days=31))
    assert jobs_files_expire() == 1
    client.force_login(coordinator)
    page = client.get(reverse("reports:import-detail", args=[cluster.slug, imp.pk])).content.decode()
    assert 'id="job-file-removed"' in page and 'id="btn-job-retry"' not in page


# --- retention -----------------------------------------------------------------------------------


def test_it_deletes_upload_files_after_the_retention_period_and_keeps_the_record(cluster, settings):
    settings.OKE_UPLOAD_RETENTION_DAYS = 30
    now = timezone.now()
    old = stored_import(cluster, status=JobStatus.DONE, finished_at=now - dt.timedelta(days=31), summary={"readings": 24})
    recent = stored_import(cluster, status=JobStatus.DONE, finished_at=now - dt.timedelta(days=29))
    waiting = stored_import(cluster)
    name, storage = old.file.name, old.file.storage

    assert jobs_files_expire(now=now) == 1
    old.refresh_from_db()
    assert not old.file and old.file_removed_at == now and old.summary == {"readings": 24}
    assert not storage.exists(name)
    assert all(storage.exists(r.file.name) for r in (recent, waiting))
    assert jobs_files_expire(now=now) == 0


def test_it_cancels_a_running_meter_import_and_stores_nothing(cluster, coordinator):
    from reports.metering.imports import reading_import_claim, reading_import_create, reading_import_process
    from reports.models import MeterDay
    from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory

    for code in ("590322400000000010", "590322400000000027"):
        ppe = MeteringPointFactory(cluster=cluster, code=code)
        PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    content = (Path(__file__).parent / "data" / "generic_hourly.csv").read_bytes()
    imp = reading_import_create(cluster=cluster, file=ContentFile(content), name="dane.csv", format="generic", enqueue=False)
    assert reading_import_claim(import_id=imp.pk)
    job_cancel(job=imp, user=coordinator)
    reading_import_process(import_id=imp.pk)  # the worker reaches its next step
    imp.refresh_from_db()
    assert imp.status == JobStatus.CANCELLED and "Anulowano" in imp.message
    assert not MeterDay.objects.exists()


def test_it_retries_a_meter_import_and_cancels_statements_through_the_buttons(
    client, coordinator, cluster, alice, sent, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    imp = stored_import(cluster, status=JobStatus.FAILED, message="Błąd wewnętrzny: x", finished_at=timezone.now())
    page = client.get(reverse("reports:import-detail", args=[cluster.slug, imp.pk])).content.decode()
    assert 'id="btn-job-retry"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:import-retry", args=[cluster.slug, imp.pk]), follow=True)
    assert "Ponowiono zadanie" in response.content.decode() and 'id="btn-job-cancel"' in response.content.decode()
    assert sent["reading_import"] == [[imp.pk]]
    client.post(reverse("reports:import-cancel", args=[cluster.slug, imp.pk]))
    assert ReadingImport.objects.get(pk=imp.pk).status == JobStatus.CANCELLED

    run = march_run(cluster)
    SettlementLineFactory(run=run, member=alice.member)
    statements_prepare(run=run)
    page = client.get(reverse("reports:statement-list", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="btn-statements-cancel"' in page
    response = client.post(reverse("reports:statements-cancel", args=[cluster.slug, run.pk]), follow=True)
    assert "Anulowano przygotowanie zestawień (2)" in response.content.decode()
    assert not run.statements.filter(status=Statement.Status.PENDING).exists()
