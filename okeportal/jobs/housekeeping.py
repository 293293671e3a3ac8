"""Beat tasks' services: the reaper (stuck and lost jobs) and upload retention."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from okeportal.messages import Msg, msg, msg_polish

from .kinds import _SWEEPS, FINISHED, JobKind, JobStatus, _reason_fields, job_kinds
from .sending import job_enqueue

logger = logging.getLogger("okeportal.jobs")


def requeued_msg() -> Msg:
    return msg(gettext_noop("Ponownie wysłano do kolejki (zadanie nie zostało podjęte)."))


def requeued_message() -> str:
    """The requeued note in the active language."""
    return requeued_msg().render()


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
    stuck_reason = msg(gettext_noop(
        "Przerwano: zadanie nie zakończyło się w limicie czasu (%(seconds)d s); proces roboczy "
        "został prawdopodobnie zatrzymany. Można je ponowić."
    ), seconds=hard)
    for pk in manager.filter(status=JobStatus.RUNNING, started_at__lt=stale).values_list("pk", flat=True):
        if manager.filter(pk=pk, status=JobStatus.RUNNING, started_at__lt=stale).update(
            status=JobStatus.FAILED, finished_at=now, **_reason_fields(entry, stuck_reason)
        ):
            counts["failed_running"] += 1
            logger.warning("reaper failed stuck %s %s", entry.kind, pk)
    waited = now - dt.timedelta(seconds=queued_timeout)
    # The text column holds the Polish copy of every stored message: compared in Polish.
    again = msg_polish(requeued_msg())[: entry.max_length("message")]
    again_fields = {name: value for name, value in _reason_fields(entry, requeued_msg()).items()
                    if name in ("message", "message_data")}
    lost = manager.filter(status=JobStatus.QUEUED, queued_at__lt=waited)
    for pk, message in lost.values_list("pk", "message"):
        if message == again:
            reason = msg(gettext_noop(
                "Zadanie nie zostało podjęte przez proces roboczy w ciągu %(seconds)d s mimo ponownego "
                "wysłania; sprawdź, czy proces roboczy działa, i ponów je."
            ), seconds=queued_timeout)
            counts["failed_queued"] += manager.filter(pk=pk, status=JobStatus.QUEUED, message=again).update(
                status=JobStatus.FAILED, finished_at=now, **_reason_fields(entry, reason)
            )
            continue
        if manager.filter(pk=pk, status=JobStatus.QUEUED, queued_at__lt=waited).exclude(message=again).update(
            queued_at=now, **again_fields
        ) == 1:
            counts["requeued"] += 1
            job_enqueue(job=manager.get(pk=pk))


def file_removed_message() -> str:
    """Shown (in the active language) for a job whose upload the retention sweep removed."""
    return gettext(gettext_noop("plik usunięty po okresie przechowywania"))


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
