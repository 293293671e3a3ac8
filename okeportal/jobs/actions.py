"""Staff actions: cancel a queued or running job, retry a failed or cancelled one."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okeportal.messages import msg

from .kinds import ACTIVE, RETRYABLE, JobStatus, _reason_fields, _rows, job_kind
from .sending import job_enqueue


@transaction.atomic
def job_cancel(*, job: models.Model, user: Any = None) -> bool:
    """Cancel a queued or running job. A running task notices at its next checkpoint and rolls back.

    Raises ``ValidationError`` for a job that is no longer active.
    """
    entry = job_kind(job=job)
    who = getattr(user, "get_username", lambda: "")()
    reason = msg(gettext_noop("Anulowano przez %(user)s."), user=who) if who else msg(gettext_noop("Anulowano."))
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
    # every registered job model has a ``status`` field with JobStatus choices (okeportal.jobs.kinds)
    if job.status not in RETRYABLE:  # type: ignore[attr-defined]
        raise ValidationError(
            _("Zadanie %(job)s można ponowić tylko po błędzie lub anulowaniu (stan: %(status)s).")
            % {"job": job, "status": job.get_status_display()}  # type: ignore[attr-defined]
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
            "finished_at": None, **_reason_fields(entry, msg(gettext_noop("W kolejce (ponowienie)"))),
        }
        if entry.error_field:
            fields[entry.error_field] = ""
            if entry.has_field(f"{entry.error_field}_data"):
                fields[f"{entry.error_field}_data"] = None
        changed = _rows(entry, job.pk).filter(status__in=RETRYABLE).update(**fields)
        if changed != 1:
            raise ValidationError(_("Zadanie %(job)s zostało już ponowione.") % {"job": job})
        job_enqueue(job=job)
    job.refresh_from_db()
    return job
