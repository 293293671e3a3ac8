"""Job status, the messages every kind shares, and the registry of job models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy, gettext_noop

from okeportal.messages import Msg, msg, msg_data, msg_polish


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


def queue_unavailable_msg() -> Msg:
    """What the job records when the broker refuses a message (shown in the reader's language)."""
    return msg(gettext_noop("Kolejka zadań jest niedostępna, spróbuj ponownie za chwilę."))


def queue_unavailable_message() -> str:
    """What a user sees when the broker refuses a message, in the active language."""
    return queue_unavailable_msg().render()


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
        found = self.model._meta.get_field(field)
        return (found.max_length if isinstance(found, models.Field) else None) or 10_000

    def has_field(self, field: str) -> bool:
        return any(f.name == field for f in self.model._meta.get_fields())


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


def _reason_fields(entry: JobKind, reason: Msg | list[Msg] | str) -> dict[str, Any]:
    """The row's message (and error) fields for a reason: the code with its parameters in
    ``<field>_data`` (rendered for each reader), the Polish text in the text column (admin, search).
    A list of messages is shown as one text; a plain string is stored as text only."""
    data = msg_data(reason)
    text = msg_polish(reason)
    fields: dict[str, Any] = {"message": text[: entry.max_length("message")]}
    if entry.has_field("message_data"):
        fields["message_data"] = data
    if entry.error_field:
        fields[entry.error_field] = text
        if entry.has_field(f"{entry.error_field}_data"):
            fields[f"{entry.error_field}_data"] = data
    return fields
