"""The worker side: claim, fail, checkpoints between steps, the task base with time limits and on_failure."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_noop

from okeportal.messages import Msg, msg

from .kinds import (
    _KINDS,
    ACTIVE,
    JobCancelledError,
    JobStatus,
    JobTimeLimitError,
    _reason_fields,
    _rows,
    job_kind,
    job_limits,
)


def job_claim(*, job_model: type[models.Model], pk: int, message: Msg | str = "") -> bool:
    """QUEUED → RUNNING for exactly one caller (rows == 1); a repeated delivery gets False."""
    entry = job_kind(job=job_model)
    fields = _note_fields(entry, message) if message else {}
    return _rows(entry, pk).filter(status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=1, **fields
    ) == 1


def _note_fields(entry, message: Msg | str) -> dict:
    fields = _reason_fields(entry, message)
    return {name: fields[name] for name in ("message", "message_data") if name in fields}


def job_fail(*, job_model: type[models.Model], pk: int, reason: Msg | str) -> bool:
    """Mark an active job FAILED with the reason; a finished or cancelled job is left alone."""
    entry = job_kind(job=job_model)
    return _rows(entry, pk).filter(status__in=ACTIVE).update(
        status=JobStatus.FAILED, finished_at=timezone.now(), **_reason_fields(entry, reason)
    ) == 1


def job_is_cancelled(*, job: models.Model) -> bool:
    entry = job_kind(job=job)
    return _rows(entry, job.pk).filter(status=JobStatus.CANCELLED).exists()


def time_limit_message(seconds: int) -> Msg:
    return msg(gettext_noop("Przerwano: przekroczono limit czasu (%(seconds)d s)."), seconds=int(seconds))


def job_checkpoint(*, job: models.Model) -> None:
    """Between steps of a task: stop if the job was cancelled or ran past its soft limit.

    Raises ``JobCancelledError`` / ``JobTimeLimitError``; the caller's transaction rolls
    back and the task records the outcome. The elapsed time is measured from
    ``started_at``, so it also works on worker pools without signal-based limits.
    """
    entry = job_kind(job=job)
    row = _rows(entry, job.pk).values("status", "started_at").first()
    if row is None or row["status"] == JobStatus.CANCELLED:
        raise JobCancelledError(job.pk)
    soft = entry.limits[0]
    if row["started_at"] and (timezone.now() - row["started_at"]).total_seconds() > soft:
        raise JobTimeLimitError(soft)


def job_failure_reason(*, kind: str, exc: BaseException, default: Msg | str | None = None) -> Msg | str:
    """The reason recorded for an exception that ended a task (time limits named with their seconds)."""
    from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    soft, hard = job_limits(kind=kind)
    if isinstance(exc, (SoftTimeLimitExceeded, JobTimeLimitError)):
        return time_limit_message(soft)
    if isinstance(exc, TimeLimitExceeded):
        return time_limit_message(hard)
    if default is not None:
        return default
    return msg(gettext_noop("Błąd wewnętrzny: %(err)s"), err=f"{type(exc).__name__}: {exc}")


def job_task_base() -> type:
    """The Celery ``Task`` base for job tasks (built lazily: celery is imported on use)."""
    global _JobTask
    if _JobTask is None:
        from celery import Task

        class JobTask(Task):
            """Time limits from settings per kind; ``on_failure`` marks the job FAILED with the reason.

            A task sets ``job_kind``; its first argument is the job's id. For a kind
            that is not a registered model (statements) only the limits apply.
            """

            job_kind: str = ""

            @property
            def soft_time_limit(self) -> int | None:  # read by the worker per request
                return job_limits(kind=self.job_kind)[0] if self.job_kind else None

            @property
            def time_limit(self) -> int | None:
                return job_limits(kind=self.job_kind)[1] if self.job_kind else None

            def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
                if not args or self.job_kind not in _KINDS:
                    return
                entry = job_kind(job=self.job_kind)
                job_fail(job_model=entry.model, pk=args[0], reason=job_failure_reason(kind=self.job_kind, exc=exc))

        _JobTask = JobTask
    return _JobTask


_JobTask: type | None = None
