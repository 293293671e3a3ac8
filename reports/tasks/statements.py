"""Celery tasks: statements (thin: take ids, claim, call a service, mark FAILED with the reason)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from reports.models import ClusterReport, JobStatus, SettlementRun, Statement

__all__ = ["statement_render_task", "statements_render_task"]

log = logging.getLogger(__name__)
PENDING = Statement.Status.PENDING


def _claim(model: type[Statement] | type[ClusterReport], pk: int) -> bool:
    # Statement has no "running" status: a PENDING row whose rendered_at is still
    # empty is unclaimed; the conditional UPDATE stamps it, so only one worker wins.
    return model.objects.filter(pk=pk, status=PENDING, rendered_at__isnull=True).update(rendered_at=timezone.now()) == 1


def _fail(model: type[Statement] | type[ClusterReport], pk: int, exc: Exception) -> None:
    log.exception("PDF rendering failed for %s %s", model.__name__, pk)
    model.objects.filter(pk=pk).update(status=Statement.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


@shared_task
def statement_render_task(statement_id: int) -> None:
    from reports.services.statements import statement_render

    if not _claim(Statement, statement_id):
        return
    try:
        statement_render(statement=Statement.objects.select_related("run__cluster__dso", "line").get(pk=statement_id))
    except Exception as exc:  # any failure is recorded on the row for the coordinator
        _fail(Statement, statement_id, exc)


@shared_task
def statements_render_task(run_id: int) -> None:
    """The cluster report, then one task per pending statement (spread over the workers)."""
    from reports.services.cluster_report import cluster_report_render
    from reports.services.statements import statements_prepare

    run = SettlementRun.objects.filter(pk=run_id, status=JobStatus.DONE).first()
    if run is None:
        return
    statements_prepare(run=run)
    report = ClusterReport.objects.get(run=run)
    if _claim(ClusterReport, report.pk):
        try:
            cluster_report_render(report=ClusterReport.objects.select_related("run__cluster__dso").get(pk=report.pk))
        except Exception as exc:
            _fail(ClusterReport, report.pk, exc)
    for statement_id in run.statements.filter(status=PENDING, rendered_at__isnull=True).values_list("pk", flat=True):
        statement_render_task.delay(statement_id)
