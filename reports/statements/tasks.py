"""Celery tasks: statements (thin: take ids, claim, call a service, mark FAILED with the reason)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone, translation

from okeportal.jobs import job_failure_reason, job_task_base, queue_unavailable_msg, task_send
from okeportal.messages import msg_data, msg_polish
from reports.models import AnnualStatement, ClusterReport, JobStatus, SettlementRun, Statement
from reports.statements.pdf import PDF_LANGUAGE

__all__ = ["annual_statement_render_task", "annual_statements_render_task", "statement_render_task", "statements_render_task"]

log = logging.getLogger(__name__)
PENDING = Statement.Status.PENDING


def _claim(model: type[Statement] | type[ClusterReport] | type[AnnualStatement], pk: int) -> bool:
    # Statement has no "running" status: a PENDING row whose rendered_at is still
    # empty is unclaimed; the conditional UPDATE stamps it, so only one worker wins.
    # (The reaper fails a row stamped longer ago than the hard limit: statements_reap.)
    return model.objects.filter(pk=pk, status=PENDING, rendered_at__isnull=True).update(rendered_at=timezone.now()) == 1


def _fail(model: type[Statement] | type[ClusterReport] | type[AnnualStatement], pk: int, exc: Exception) -> None:
    log.exception("PDF rendering failed for %s %s", model.__name__, pk)
    reason = job_failure_reason(kind="statements", exc=exc, default=f"{type(exc).__name__}: {exc}")
    # Only a row still PENDING: a cancelled batch keeps its own reason.
    model.objects.filter(pk=pk, status=PENDING).update(
        status=Statement.Status.FAILED, error=msg_polish(reason)[:2000], error_data=msg_data(reason))


@shared_task(name="reports.statement_render", base=job_task_base(), job_kind="statements")
def statement_render_task(statement_id: int) -> None:
    from reports.statements.services import statement_render

    if not _claim(Statement, statement_id):
        return
    try:
        with translation.override(PDF_LANGUAGE):
            statement_render(statement=Statement.objects.select_related("run__cluster__dso", "line").get(pk=statement_id))
    except Exception as exc:  # any failure is recorded on the row for the coordinator
        _fail(Statement, statement_id, exc)


@shared_task(name="reports.statements_render", base=job_task_base(), job_kind="statements")
def statements_render_task(run_id: int) -> None:
    """The cluster report, then one task per pending statement (spread over the workers)."""
    from reports.statements.cluster_report import cluster_report_render
    from reports.statements.services import statements_fail_pending, statements_prepare

    run = SettlementRun.objects.filter(pk=run_id, status=JobStatus.DONE).first()
    if run is None:
        return
    statements_prepare(run=run)
    report = ClusterReport.objects.get(run=run)
    if _claim(ClusterReport, report.pk):
        try:
            with translation.override(PDF_LANGUAGE):
                cluster_report_render(report=ClusterReport.objects.select_related("run__cluster__dso").get(pk=report.pk))
        except Exception as exc:
            _fail(ClusterReport, report.pk, exc)
    for statement_id in run.statements.filter(status=PENDING, rendered_at__isnull=True).values_list("pk", flat=True):
        task_send(
            task=statement_render_task, args=[statement_id],
            on_refused=lambda: statements_fail_pending(run_id=run_id, reason=queue_unavailable_msg(), rendering=False),
        )


@shared_task(name="reports.annual_statement_render", base=job_task_base(), job_kind="statements")
def annual_statement_render_task(statement_id: int) -> None:
    from reports.statements.annual import annual_statement_render

    if not _claim(AnnualStatement, statement_id):
        return
    try:
        with translation.override(PDF_LANGUAGE):
            annual_statement_render(statement=AnnualStatement.objects.select_related("cluster", "member").get(pk=statement_id))
    except Exception as exc:  # recorded on the row for the coordinator
        _fail(AnnualStatement, statement_id, exc)


@shared_task(name="reports.annual_statements_render", base=job_task_base(), job_kind="statements")
def annual_statements_render_task(cluster_id: int, year: int, version: int) -> None:
    """One task per pending annual statement of the year's version (safe to run twice: claimed rows are skipped)."""
    from reports.statements.annual import annual_statements_fail_pending

    pending = AnnualStatement.objects.filter(
        cluster_id=cluster_id, year=year, version=version, status=PENDING, rendered_at__isnull=True
    ).values_list("pk", flat=True)
    for statement_id in pending:
        task_send(
            task=annual_statement_render_task, args=[statement_id],
            on_refused=lambda: annual_statements_fail_pending(
                cluster_id=cluster_id, year=year, version=version, reason=queue_unavailable_msg()),
        )
