"""The registry upload is a background job: queued, claimed, progress, cancel / retry, broker outage."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu.exceptions import OperationalError

from members.models import Member, RegistryImport
from members.services import imports as registry_imports
from members.tasks import registry_import_task
from okeportal import jobs
from okeportal.jobs import JobStatus

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"


def _zip(*, broken: bool = False) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in EXAMPLE.iterdir():
            text = path.read_text(encoding="utf-8")
            if broken and path.name == "members.csv":
                text = text.replace("6355260181", "6355260182")
            archive.writestr(path.name, text)
    return SimpleUploadedFile("rejestr.zip", buffer.getvalue(), content_type="application/zip")


def _url(name: str, cluster, **kwargs) -> str:
    return reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, **kwargs})


def _queued(cluster, **kwargs) -> RegistryImport:
    """An upload whose message was sent but not yet picked up."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry_import_task, "apply_async", lambda **_kw: None)
        return registry_imports.registry_import_create(cluster=cluster, file=_zip(**kwargs), name="rejestr.zip")


def test_it_queues_the_upload_and_the_worker_imports_it(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        response = client.post(_url("registry-import", cluster), {"file": _zip()})
    entry = RegistryImport.objects.get(cluster=cluster)
    assert response.status_code == 302 and response["Location"] == _url("registry-import-detail", cluster, pk=entry.pk)
    assert entry.status == JobStatus.QUEUED and entry.file and not Member.objects.filter(cluster=cluster).exists()
    page = client.get(response["Location"]).content.decode()
    assert "data-progress-url" in page and "import-cancel" in page

    for send in sends:  # the commit sends the task; the test runs it inline
        send()
    entry.refresh_from_db()
    assert entry.status == JobStatus.DONE and entry.progress == 100 and entry.finished_at and entry.started_at
    assert entry.summary["created"]["members"] == Member.objects.filter(cluster=cluster).count() > 0
    progress = client.get(_url("registry-import-progress", cluster, pk=entry.pk)).json()
    assert progress["done"] and progress["status"] == "done" and progress["progress"] == 100


def test_it_records_the_errors_and_saves_nothing(cluster, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        entry = registry_imports.registry_import_create(cluster=cluster, file=_zip(broken=True), name="rejestr.zip")
    entry.refresh_from_db()
    assert entry.status == JobStatus.FAILED and entry.error_count == len(entry.errors) >= 1
    assert any(e["column"] == "nip" and e["file"] == "members.csv" for e in entry.errors)
    assert "niczego nie zapisano" in entry.message
    assert not Member.objects.filter(cluster=cluster).exists()


def test_a_second_delivery_of_the_message_does_nothing(cluster) -> None:
    entry = _queued(cluster)
    registry_import_task(entry.pk)
    created = Member.objects.filter(cluster=cluster).count()
    registry_import_task(entry.pk)  # redelivered: the claim fails
    entry.refresh_from_db()
    assert entry.status == JobStatus.DONE and Member.objects.filter(cluster=cluster).count() == created


def test_a_broker_outage_fails_the_upload_with_a_clear_message(client, coordinator, cluster, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def refuse(**_kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(registry_import_task, "apply_async", refuse)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url("registry-import", cluster), {"file": _zip()})
    entry = RegistryImport.objects.get(cluster=cluster)
    assert entry.status == JobStatus.FAILED and entry.message == jobs.queue_unavailable_message()
    assert not RegistryImport.objects.filter(status=JobStatus.QUEUED).exists()
    page = client.get(_url("registry-import-detail", cluster, pk=entry.pk)).content.decode()
    assert jobs.queue_unavailable_message() in page and "import-retry" in page


def test_the_upload_page_says_when_the_queue_is_down(client, coordinator, cluster, monkeypatch) -> None:
    """Outside a test transaction the message is sent at commit, before the view answers."""
    monkeypatch.setattr(jobs, "job_send_failed", lambda *, job: True)
    monkeypatch.setattr(registry_import_task, "apply_async", lambda **_kw: None)
    client.force_login(coordinator)
    response = client.post(_url("registry-import", cluster), {"file": _zip()}, follow=True)
    assert jobs.queue_unavailable_message() in response.content.decode()


def test_staff_cancel_a_queued_import_and_the_worker_then_skips_it(client, coordinator, cluster) -> None:
    entry = _queued(cluster)
    client.force_login(coordinator)
    client.post(_url("registry-import-cancel", cluster, pk=entry.pk))
    entry.refresh_from_db()
    assert entry.status == JobStatus.CANCELLED and "koordynator" in entry.message
    registry_import_task(entry.pk)
    entry.refresh_from_db()
    assert entry.status == JobStatus.CANCELLED and not Member.objects.filter(cluster=cluster).exists()


def test_a_cancel_noticed_after_the_save_rolls_it_back(cluster, monkeypatch) -> None:
    entry = _queued(cluster)
    calls = []

    def checkpoint(*, job):
        calls.append(job.pk)
        if len(calls) == 3:  # the one inside the save transaction
            raise jobs.JobCancelledError(job.pk)

    monkeypatch.setattr(jobs, "job_checkpoint", checkpoint)
    registry_import_task(entry.pk)
    entry.refresh_from_db()
    assert len(calls) == 3 and entry.status != JobStatus.DONE
    assert not Member.objects.filter(cluster=cluster).exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_from_another_connection_during_the_save_rolls_it_back(cluster, monkeypatch) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("two writers at once need PostgreSQL")
    import threading

    from django.db import close_old_connections

    entry = _queued(cluster)
    save = registry_imports.plan_save

    def cancel_elsewhere() -> None:
        try:
            jobs.job_cancel(job=RegistryImport.objects.get(pk=entry.pk))
        finally:
            close_old_connections()

    def save_then_cancel(**kwargs):
        counts = save(**kwargs)
        thread = threading.Thread(target=cancel_elsewhere)
        thread.start()
        thread.join()
        return counts

    monkeypatch.setattr(registry_imports, "plan_save", save_then_cancel)
    registry_import_task(entry.pk)
    entry.refresh_from_db()
    assert entry.status == JobStatus.CANCELLED and not Member.objects.filter(cluster=cluster).exists()


def test_it_fails_with_the_reason_past_its_soft_time_limit(cluster, settings) -> None:
    settings.OKE_JOB_TIME_LIMITS = {**settings.OKE_JOB_TIME_LIMITS, "registry_import": (-1, 10)}
    entry = _queued(cluster)
    registry_import_task(entry.pk)
    entry.refresh_from_db()
    assert entry.status == JobStatus.FAILED and "limit czasu" in entry.message
    assert not Member.objects.filter(cluster=cluster).exists()


def test_staff_retry_a_failed_import_with_its_stored_file(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    entry = _queued(cluster)
    jobs.job_cancel(job=entry)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url("registry-import-retry", cluster, pk=entry.pk))
    entry.refresh_from_db()
    assert entry.status == JobStatus.DONE and Member.objects.filter(cluster=cluster).exists()


def test_retry_is_refused_for_an_import_that_succeeded(client, coordinator, cluster) -> None:
    entry = _queued(cluster)
    registry_import_task(entry.pk)
    client.force_login(coordinator)
    response = client.post(_url("registry-import-retry", cluster, pk=entry.pk), follow=True)
    entry.refresh_from_db()
    assert entry.status == JobStatus.DONE and "można ponowić tylko" in response.content.decode()


def test_cancel_and_retry_answer_only_post(client, coordinator, cluster) -> None:
    entry = _queued(cluster)
    client.force_login(coordinator)
    assert client.get(_url("registry-import-cancel", cluster, pk=entry.pk)).status_code == 405
    entry.refresh_from_db()
    assert entry.status == JobStatus.QUEUED


def test_it_fails_an_import_whose_file_is_gone(cluster) -> None:
    entry = _queued(cluster)
    entry.file.storage.delete(entry.file.name)
    registry_import_task(entry.pk)
    entry.refresh_from_db()
    assert entry.status == JobStatus.FAILED and "rejestr.zip" in entry.message


def test_the_reaper_covers_registry_imports(cluster) -> None:
    assert jobs.job_kind(job=RegistryImport).task_name == "members.registry_import"
    entry = _queued(cluster)
    RegistryImport.objects.filter(pk=entry.pk).update(status=JobStatus.RUNNING, started_at="2020-01-01T00:00:00Z")
    assert jobs.jobs_reap()["failed_running"] >= 1
    entry.refresh_from_db()
    assert entry.status == JobStatus.FAILED


def test_the_command_runs_synchronously_and_exits_non_zero_with_the_errors(cluster, tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    archive = tmp_path / "rejestr.zip"
    archive.write_bytes(_zip(broken=True).read())
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_registry", cluster.slug, str(archive), stderr=errors)
    assert "members.csv, wiersz 2, kolumna nip" in errors.getvalue()
    out = io.StringIO()
    archive.write_bytes(_zip().read())
    call_command("import_registry", cluster.slug, str(archive), stdout=out)
    assert Member.objects.filter(cluster=cluster).exists()
    assert RegistryImport.objects.get(cluster=cluster).status == JobStatus.DONE
