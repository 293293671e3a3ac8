"""A registry upload through the real queue: a separate Celery worker on PostgreSQL + Redis."""

from __future__ import annotations

import pytest

from members.models import Member, RegistryImport
from members.services.imports import registry_import_create
from okeportal.jobs import FINISHED, JobStatus
from tests.conftest import wait_for
from tests.members.test_registry_job import _zip


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_process_imports_an_uploaded_registry(real_queue, cluster) -> None:
    entry = registry_import_create(cluster=cluster, file=_zip(), name="rejestr.zip")
    finished = wait_for(lambda: RegistryImport.objects.get(pk=entry.pk).status in FINISHED, timeout=90)
    entry.refresh_from_db()
    assert finished, f"the worker did not finish the import (status {entry.status}, {entry.message})"
    assert entry.status == JobStatus.DONE, entry.errors
    assert Member.objects.filter(cluster=cluster).count() == entry.summary["created"]["members"] > 0
