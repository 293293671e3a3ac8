"""One lifecycle for every long job the workers run (settlements, imports, statements).

A job is a model row with a ``status`` (``JobStatus``), ``progress``, ``message``,
``queued_at``/``started_at``/``finished_at`` and optionally a stored ``file``.
Each app registers its job models from ``AppConfig.ready()``::

    jobs.register(ReadingImport, kind="reading_import", task_name="reports.reading_import",
                  file_field="file", retry="reports.services.readings_import.reading_import_retry")

so the reaper, the retention sweep and the generic cancel/retry cover them
without this module importing any app at import time (``okeportal`` is the
shared base: ``members`` and ``reports`` both build on it, never on each other).

Lifecycle::

    queued ──claim (conditional UPDATE)──► running ──► done
      │  ▲                                   │  └────► failed (reason) ◄── soft time limit,
      │  └── reaper re-sends a lost message  │                              on_failure, reaper
      └──────────── cancel ──────────────────┴──► cancelled
    failed / cancelled ──retry──► queued (same row, or a new attempt for settlements)

Every state change is a conditional ``UPDATE`` on the expected status, so two
workers, two beat schedulers or a user racing the reaper never both win.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("w kolejce")
    RUNNING = "running", gettext_lazy("w toku")
    DONE = "done", gettext_lazy("zakończono")
    FAILED = "failed", gettext_lazy("błąd")
    CANCELLED = "cancelled", gettext_lazy("anulowano")


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
DEFAULT_LIMITS = (1800, 1900)  # soft, hard seconds for a kind the settings do not name


def queue_unavailable_message() -> str:
    """What a user sees (and the job records) when the broker refuses a message."""
    return _("Kolejka zadań jest niedostępna, spróbuj ponownie za chwilę.")


class JobCancelledError(Exception):
    """Raised inside a task between steps when its job was cancelled; the step's transaction rolls back."""


class JobTimeLimitError(Exception):
    """Raised inside a task between steps when its soft time limit has passed."""


def job_limits(*, kind: str) -> tuple[int, int]:
    """(soft, hard) time limit in seconds of a job kind, from ``settings.OKE_JOB_TIME_LIMITS``."""
    soft, hard = getattr(settings, "OKE_JOB_TIME_LIMITS", {}).get(kind, DEFAULT_LIMITS)
    return int(soft), int(hard)


@dataclass(frozen=True)
class JobKind:
    """How one model plays the job lifecycle (field names and hooks)."""

    kind: str
    model: type[models.Model]
    task_name: str
    file_field: str | None = None
    error_field: str | None = None  # a second text field that also gets the failure reason
    file_removed_field: str | None = None
    retry: str | Callable[..., models.Model] | None = None
    cancel: str | Callable[..., None] | None = None

    @property
    def limits(self) -> tuple[int, int]:
        return job_limits(kind=self.kind)

    def hook(self, name: str) -> Callable[..., Any] | None:
        value = getattr(self, name)
        return import_string(value) if isinstance(value, str) else value

    def max_length(self, field: str) -> int:
        return self.model._meta.get_field(field).max_length or 10_000


_KINDS: dict[str, JobKind] = {}
_SWEEPS: list[str | Callable[..., int]] = []


def register(
    model: type[models.Model],
    *,
    kind: str,
    task_name: str,
    file_field: str | None = None,
    error_field: str | None = None,
    file_removed_field: str | None = None,
    retry: str | Callable[..., models.Model] | None = None,
    cancel: str | Callable[..., None] | None = None,
) -> JobKind:
    """Make ``model`` a job: the reaper, retention, cancel and retry cover it.

    ``task_name`` is the Celery task that takes the row id; ``retry`` (a callable
    or dotted path, ``f(*, job, user) -> job``) replaces the default retry, which
    re-queues the same row; ``cancel`` (``f(*, job)``) runs after a cancel, e.g.
    to release related rows. Repeat calls (tests reload apps) replace the entry.
    """
    entry = JobKind(
        kind=kind, model=model, task_name=task_name, file_field=file_field, error_field=error_field,
        file_removed_field=file_removed_field, retry=retry, cancel=cancel,
    )
    _KINDS[kind] = entry
    return entry


def register_sweep(sweep: str | Callable[..., int]) -> None:
    """Add a reaper step for work that is not a JobStatus row (``f(*, now) -> int`` rows failed)."""
    if sweep not in _SWEEPS:
        _SWEEPS.append(sweep)


def job_kinds() -> list[JobKind]:
    return list(_KINDS.values())


def job_kind(*, job: models.Model | type[models.Model] | str) -> JobKind:
    if isinstance(job, str):
        return _KINDS[job]
    model = job if isinstance(job, type) else type(job)
    for entry in _KINDS.values():
        if entry.model is model or issubclass(model, entry.model):
            return entry
    raise LookupError(f"{model.__name__} is not a registered job model")


def _rows(entry: JobKind, pk: int) -> models.QuerySet:
    return entry.model._default_manager.filter(pk=pk)


def _reason_fields(entry: JobKind, reason: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"message": reason[: entry.max_length("message")]}
    if entry.error_field:
        fields[entry.error_field] = reason
    return fields


# --- sending -------------------------------------------------------------------------


def task_send(*, task: Any, args: Sequence[Any], on_refused: Callable[[], Any], queue: str | None = None) -> bool:
    """Send a task now; when the broker refuses it (connection error) call ``on_refused`` and return False.

    Only kombu's ``OperationalError`` counts as a refusal: in eager mode (tests,
    ``CELERY_TASK_ALWAYS_EAGER``) the task runs inline and its own errors propagate.
    """
    from kombu.exceptions import OperationalError

    try:
        task.apply_async(args=list(args), **({"queue": queue} if queue else {}))
    except OperationalError as exc:
        logger.warning("broker refused %s%s: %s", getattr(task, "name", task), list(args), exc)
        on_refused()
        return False
    return True


def job_enqueue(*, job: models.Model, task: Any = None, args: Sequence[Any] | None = None, queue: str | None = None) -> bool:
    """Send the job's task once the surrounding transaction commits.

    When the broker refuses the message (Redis down) the job is FAILED with
    ``queue_unavailable_message()`` and can be retried: no ``queued`` row waits
    for a message that was never sent, and the request does not hang (short
    broker timeouts in settings). Inside a transaction the send happens on
    commit and the outcome is on the row (``job_send_failed``); outside one it
    is sent now and the outcome returned. ``task`` defaults to the kind's task,
    ``args`` to ``[job.pk]``.
    """
    entry = job_kind(job=job)
    task = task if task is not None else job_task(kind=entry.kind)
    send_args = list(args) if args is not None else [job.pk]
    pk = job.pk

    def refused() -> None:
        _rows(entry, pk).filter(status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), **_reason_fields(entry, queue_unavailable_message())
        )

    def send() -> bool:
        return task_send(task=task, args=send_args, on_refused=refused, queue=queue)

    if connection.in_atomic_block:
        transaction.on_commit(send)
        return True
    return send()


def job_task(*, kind: str) -> Any:
    """The registered Celery task of a job kind (the apps' ``tasks`` modules are discovered on first use)."""
    from celery import current_app
    from celery.exceptions import NotRegistered

    name = job_kind(job=kind).task_name
    try:
        return current_app.tasks[name]
    except NotRegistered:
        current_app.loader.import_default_modules()  # fires Celery's autodiscovery of <app>.tasks
        return current_app.tasks[name]


def job_send_failed(*, job: models.Model) -> bool:
    """True when the job's message never reached the broker (after ``job_enqueue``)."""
    entry = job_kind(job=job)
    row = _rows(entry, job.pk).values("status", "message").first()
    return bool(row) and row["status"] == JobStatus.FAILED and row["message"] == queue_unavailable_message()[: entry.max_length("message")]


# --- the worker side -----------------------------------------------------------------


def job_claim(*, job_model: type[models.Model], pk: int, message: str = "") -> bool:
    """QUEUED → RUNNING for exactly one caller (rows == 1); a repeated delivery gets False."""
    entry = job_kind(job=job_model)
    return _rows(entry, pk).filter(status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=1, **({"message": message} if message else {})
    ) == 1


def job_fail(*, job_model: type[models.Model], pk: int, reason: str) -> bool:
    """Mark an active job FAILED with the reason; a finished or cancelled job is left alone."""
    entry = job_kind(job=job_model)
    return _rows(entry, pk).filter(status__in=ACTIVE).update(
        status=JobStatus.FAILED, finished_at=timezone.now(), **_reason_fields(entry, reason)
    ) == 1


def job_is_cancelled(*, job: models.Model) -> bool:
    entry = job_kind(job=job)
    return _rows(entry, job.pk).filter(status=JobStatus.CANCELLED).exists()


def time_limit_message(seconds: int) -> str:
    return _("Przerwano: przekroczono limit czasu (%(seconds)d s).") % {"seconds": seconds}


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


def job_failure_reason(*, kind: str, exc: BaseException, default: str | None = None) -> str:
    """The reason recorded for an exception that ended a task (time limits named with their seconds)."""
    from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    soft, hard = job_limits(kind=kind)
    if isinstance(exc, (SoftTimeLimitExceeded, JobTimeLimitError)):
        return time_limit_message(soft)
    if isinstance(exc, TimeLimitExceeded):
        return time_limit_message(hard)
    if default is not None:
        return default
    return _("Błąd wewnętrzny: %(err)s") % {"err": f"{type(exc).__name__}: {exc}"}


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


# --- staff actions -------------------------------------------------------------------


@transaction.atomic
def job_cancel(*, job: models.Model, user: Any = None) -> bool:
    """Cancel a queued or running job. A running task notices at its next checkpoint and rolls back.

    Raises ``ValidationError`` for a job that is no longer active.
    """
    entry = job_kind(job=job)
    who = getattr(user, "get_username", lambda: "")()
    reason = _("Anulowano przez %(user)s.") % {"user": who} if who else _("Anulowano.")
    changed = _rows(entry, job.pk).filter(status__in=ACTIVE).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), **_reason_fields(entry, reason)
    )
    if changed != 1:
        raise ValidationError(
            _("Zadania %(job)s nie można anulować: nie jest w kolejce ani w toku.") % {"job": job}
        )
    hook = entry.hook("cancel")
    if hook is not None:
        hook(job=job)
    job.refresh_from_db()
    return True


def job_retry(*, job: models.Model, user: Any = None) -> models.Model:
    """Queue a failed or cancelled job again; returns the queued job (a new row for kinds that version).

    The default re-queues the same row, refusing one whose stored file was
    removed (retention) or is missing from storage.
    """
    entry = job_kind(job=job)
    job.refresh_from_db()
    if job.status not in RETRYABLE:
        raise ValidationError(
            _("Zadanie %(job)s można ponowić tylko po błędzie lub anulowaniu (stan: %(status)s).")
            % {"job": job, "status": job.get_status_display()}
        )
    hook = entry.hook("retry")
    if hook is not None:
        return hook(job=job, user=user)
    if entry.file_field:
        stored = getattr(job, entry.file_field)
        if not stored or not stored.storage.exists(stored.name):
            raise ValidationError(
                _("Zadania %(job)s nie można ponowić: plik źródłowy został już usunięty; prześlij go ponownie.")
                % {"job": job}
            )
    with transaction.atomic():
        fields: dict[str, Any] = {
            "status": JobStatus.QUEUED, "progress": 0, "queued_at": timezone.now(), "started_at": None,
            "finished_at": None, **_reason_fields(entry, _("W kolejce (ponowienie)")),
        }
        if entry.error_field:
            fields[entry.error_field] = ""
        changed = _rows(entry, job.pk).filter(status__in=RETRYABLE).update(**fields)
        if changed != 1:
            raise ValidationError(_("Zadanie %(job)s zostało już ponowione.") % {"job": job})
        job_enqueue(job=job)
    job.refresh_from_db()
    return job


# --- beat: the reaper and retention ---------------------------------------------------


def requeued_message() -> str:
    return _("Ponownie wysłano do kolejki (zadanie nie zostało podjęte).")


def jobs_reap(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Fail jobs stuck ``running`` past their hard limit + margin, re-send lost ``queued`` ones.

    A job queued longer than ``OKE_JOB_QUEUED_TIMEOUT`` is sent again once (its
    message may have been lost when the broker restarted; a duplicate is harmless
    because the claim lets one worker in); if it is still queued after another
    timeout it is failed with the reason. Safe with several schedulers: every
    change is a conditional UPDATE that only one caller wins. A kind whose step
    fails is logged and skipped; the others are still reaped.
    """
    now = now or timezone.now()
    counts = {"failed_running": 0, "requeued": 0, "failed_queued": 0, "swept": 0}
    for entry in job_kinds():
        try:
            _reap_kind(entry, now=now, counts=counts)
        except Exception:
            logger.exception("reaper: %s skipped", entry.kind)
    for sweep in _SWEEPS:
        try:
            fn = import_string(sweep) if isinstance(sweep, str) else sweep
            counts["swept"] += fn(now=now)
        except Exception:
            logger.exception("reaper: sweep %s skipped", sweep)
    return counts


def _reap_kind(entry: JobKind, *, now: dt.datetime, counts: dict[str, int]) -> None:
    manager = entry.model._default_manager
    margin = int(getattr(settings, "OKE_JOB_REAPER_MARGIN", 60))
    queued_timeout = int(getattr(settings, "OKE_JOB_QUEUED_TIMEOUT", 600))
    hard = entry.limits[1]
    stale = now - dt.timedelta(seconds=hard + margin)
    stuck_reason = _(
        "Przerwano: zadanie nie zakończyło się w limicie czasu (%(seconds)d s); proces roboczy "
        "został prawdopodobnie zatrzymany. Można je ponowić."
    ) % {"seconds": hard}
    for pk in manager.filter(status=JobStatus.RUNNING, started_at__lt=stale).values_list("pk", flat=True):
        if manager.filter(pk=pk, status=JobStatus.RUNNING, started_at__lt=stale).update(
            status=JobStatus.FAILED, finished_at=now, **_reason_fields(entry, stuck_reason)
        ):
            counts["failed_running"] += 1
            logger.warning("reaper failed stuck %s %s", entry.kind, pk)
    waited = now - dt.timedelta(seconds=queued_timeout)
    again = requeued_message()[: entry.max_length("message")]
    lost = manager.filter(status=JobStatus.QUEUED, queued_at__lt=waited)
    for pk, message in lost.values_list("pk", "message"):
        if message == again:
            reason = _(
                "Zadanie nie zostało podjęte przez proces roboczy w ciągu %(seconds)d s mimo ponownego "
                "wysłania; sprawdź, czy proces roboczy działa, i ponów je."
            ) % {"seconds": queued_timeout}
            counts["failed_queued"] += manager.filter(pk=pk, status=JobStatus.QUEUED, message=again).update(
                status=JobStatus.FAILED, finished_at=now, **_reason_fields(entry, reason)
            )
            continue
        if manager.filter(pk=pk, status=JobStatus.QUEUED, queued_at__lt=waited).exclude(message=again).update(
            message=again, queued_at=now
        ) == 1:
            counts["requeued"] += 1
            job_enqueue(job=manager.get(pk=pk))


def file_removed_message() -> str:
    return _("plik usunięty po okresie przechowywania")


def jobs_files_expire(*, now: dt.datetime | None = None) -> int:
    """Delete stored upload files of jobs finished more than ``OKE_UPLOAD_RETENTION_DAYS`` ago.

    The row stays (its summary, errors and message remain); ``file_removed_field``
    records when the file went. Returns how many files were removed.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=int(getattr(settings, "OKE_UPLOAD_RETENTION_DAYS", 30)))
    removed = 0
    for entry in job_kinds():
        if not entry.file_field:
            continue
        manager = entry.model._default_manager
        old = manager.filter(status__in=FINISHED, finished_at__lt=cutoff).exclude(**{entry.file_field: ""})
        for job in old.iterator():
            stored = getattr(job, entry.file_field)
            name = stored.name
            fields: dict[str, Any] = {entry.file_field: ""}
            if entry.file_removed_field:
                fields[entry.file_removed_field] = now
            # Blank the row first (conditional on the same name), then the file: a
            # concurrent sweep that loses the UPDATE never deletes twice.
            if manager.filter(pk=job.pk, **{entry.file_field: name}).update(**fields) == 1:
                try:
                    stored.storage.delete(name)
                except OSError:
                    logger.exception("could not delete %s", name)
                removed += 1
    return removed
