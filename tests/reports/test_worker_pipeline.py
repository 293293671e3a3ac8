"""Meter import and statement rendering through the real queue (PostgreSQL + Redis leg).

Together with test_worker.py every task family runs at least once in a
separate Celery worker process, the way production runs them.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from reports.metering.imports import reading_import_create
from reports.models import JobStatus, MeterDay, ReadingImport, SettlementRun, Statement
from reports.settlement import settlement_request
from reports.statements.services import statements_generate
from tests.conftest import wait_for
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.test_settlement_service import END, START, seventy  # noqa: F401


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_imports_meter_data_in_the_worker_process(real_queue, cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
    rows = ["ppe_code;start;import_kwh;export_kwh"] + [
        f"{ppe.code};2026-03-02T{hour:02d}:00:00+01:00;1,5;0,25" for hour in range(24)
    ]
    imp = reading_import_create(
        cluster=cluster, file=ContentFile("\n".join(rows).encode()), name="dane.csv", format="generic"
    )
    finished = wait_for(lambda: ReadingImport.objects.get(pk=imp.pk).status in (JobStatus.DONE, JobStatus.FAILED))
    imp.refresh_from_db()
    assert finished, f"the worker did not finish the import ({imp.status}: {imp.message})"
    assert imp.status == JobStatus.DONE, imp.errors
    assert imp.progress == 100
    # 00:00–23:00 local on 2 March is 23:00 UTC on 1 March to 22:00 UTC on 2 March: two UTC day rows.
    assert MeterDay.objects.filter(ppe=ppe).count() == 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_renders_statements_in_the_worker_process(real_queue, cluster, seventy):  # noqa: F811
    run = settlement_request(cluster=cluster, period_start=START, period_end=END)
    assert wait_for(lambda: SettlementRun.objects.get(pk=run.pk).status == JobStatus.DONE, timeout=90)
    run.refresh_from_db()
    count = statements_generate(run=run)
    assert count == 3  # one statement per member line; the renders are queued on commit
    assert wait_for(
        lambda: Statement.objects.filter(run=run, status=Statement.Status.READY).count() == 3, timeout=120
    ), list(Statement.objects.filter(run=run).values_list("status", "error"))
    for statement in Statement.objects.filter(run=run):
        with statement.file.open("rb") as fh:
            assert fh.read(5) == b"%PDF-"
