"""A settlement through the real queue: a separate Celery worker on PostgreSQL + Redis."""

from __future__ import annotations

import pytest

from reports.models import JobStatus, SettlementRun
from reports.settlement import settlement_request
from tests.conftest import wait_for
from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401


# transaction=True: the worker process must see the rows, so they are committed
# (the mark, rather than the transactional_db fixture, so conftest's autouse
# reference data loads inside the same transactional setup).
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_settles_in_the_worker_process(real_queue, cluster, seventy):  # noqa: F811
    run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    done = wait_for(lambda: SettlementRun.objects.get(pk=run.pk).status in (JobStatus.DONE, JobStatus.FAILED), timeout=90)
    run.refresh_from_db()
    assert done, f"the worker did not finish the run (status {run.status}, {run.message})"
    assert run.status == JobStatus.DONE, run.error
    assert run.totals["total"] == "52442.81"
    assert run.lines.count() == 3 and run.progress == 100
