"""Outdated runs: a change to anything a finished run used for its period is recorded on the run.

The run's figures stay as issued (published statements never change); its pages and
lists show "nieaktualne" with the reasons, and a recompute makes a new version that
includes the change. Only changes that reach into the run's period count: a change
from 1 May does not touch a March run.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Exists, OuterRef

from okeportal.messages import Msg, msg_data, msg_polish
from reports.models import JobStatus, RunOutdatedReason, SettlementRun


def settlements_mark_outdated(
    *, cluster_id: int, start: dt.date | None, end: dt.date | None, code: str, detail: Msg | str
) -> list[SettlementRun]:
    """Record the change on every finished run of the cluster whose period meets [start, end]; returns those runs.

    ``detail`` (what changed) is kept as a code with parameters, shown in each reader's
    language (``RunOutdatedReason.detail_text``), and as its Polish text (``detail``, for the admin).
    """
    runs = list(settlement_runs_reaching(cluster_id=cluster_id, start=start, end=end))
    text, data = msg_polish(detail)[:300], msg_data(detail)
    RunOutdatedReason.objects.bulk_create(
        RunOutdatedReason(run=run, code=code, detail=text, detail_data=data) for run in runs
    )
    return runs


def settlement_runs_reaching(
    *, cluster_id: int, start: dt.date | None, end: dt.date | None
) -> models.QuerySet[SettlementRun]:
    """Finished runs of the cluster whose period meets [start, end] (None = open), oldest period first."""
    runs = SettlementRun.objects.filter(cluster_id=cluster_id, status=JobStatus.DONE)
    if start is not None:
        runs = runs.filter(period_end__gte=start)
    if end is not None:
        runs = runs.filter(period_start__lte=end)
    return runs.order_by("period_start", "version")


def settlement_runs_with_outdated(queryset: models.QuerySet[SettlementRun]) -> models.QuerySet[SettlementRun]:
    """Annotate ``is_outdated`` (one subquery, no N+1 on lists)."""
    return queryset.annotate(is_outdated=Exists(RunOutdatedReason.objects.filter(run=OuterRef("pk"))))


def settlement_outdated_reasons(*, run: SettlementRun) -> list[RunOutdatedReason]:
    return list(run.outdated_reasons.all())


def settlement_runs_outdated(*, cluster_id: int, limit: int = 10) -> list[SettlementRun]:
    """Current (latest finished) versions of the cluster's periods that are outdated, newest period first."""
    newer = SettlementRun.objects.filter(
        cluster_id=cluster_id, status=JobStatus.DONE, period_start=OuterRef("period_start"),
        period_end=OuterRef("period_end"), version__gt=OuterRef("version"),
    )
    return list(
        SettlementRun.objects.filter(cluster_id=cluster_id, status=JobStatus.DONE)
        .filter(~Exists(newer), Exists(RunOutdatedReason.objects.filter(run=OuterRef("pk"))))
        .prefetch_related("outdated_reasons")
        .order_by("-period_start", "-period_end")[:limit]
    )


def settlement_runs_outdated_count(*, cluster_id: int) -> int:
    """Current (latest finished) versions of the cluster's periods that are outdated, for the dashboard."""
    latest = SettlementRun.objects.filter(
        cluster_id=cluster_id, status=JobStatus.DONE, period_start=OuterRef("period_start"),
        period_end=OuterRef("period_end"), version__gt=OuterRef("version"),
    )
    return (
        SettlementRun.objects.filter(cluster_id=cluster_id, status=JobStatus.DONE)
        .filter(~Exists(latest))
        .filter(Exists(RunOutdatedReason.objects.filter(run=OuterRef("pk"))))
        .count()
    )
