"""Sending a job's task: on commit, and a broker refusal recorded on the job instead of a queued orphan."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from okeportal.messages import msg_polish

from .kinds import JobStatus, _reason_fields, _rows, job_kind, queue_unavailable_msg

logger = logging.getLogger("okeportal.jobs")


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
    ``queue_unavailable_msg()`` and can be retried: no ``queued`` row waits
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
            status=JobStatus.FAILED, finished_at=timezone.now(), **_reason_fields(entry, queue_unavailable_msg())
        )

    def send() -> bool:
        return task_send(task=task, args=send_args, on_refused=refused, queue=queue)

    if connection.in_atomic_block:
        transaction.on_commit(send)
        return True
    return send()


def job_task(*, kind: str) -> Any:
    """The registered Celery task of a job kind (the apps' ``tasks`` modules are discovered on first use)."""
    return task_named(job_kind(job=kind).task_name)


def task_named(name: str) -> Any:
    """The registered Celery task called ``name``: services queue tasks by name, never by importing them."""
    from celery import current_app
    from celery.exceptions import NotRegistered

    try:
        return current_app.tasks[name]
    except NotRegistered:
        current_app.loader.import_default_modules()  # fires Celery's autodiscovery of <app>.tasks
        return current_app.tasks[name]


def job_send_failed(*, job: models.Model) -> bool:
    """True when the job's message never reached the broker (after ``job_enqueue``)."""
    entry = job_kind(job=job)
    row = _rows(entry, job.pk).values("status", "message").first()
    refused = msg_polish(queue_unavailable_msg())[: entry.max_length("message")]  # the text column is Polish
    return row is not None and row["status"] == JobStatus.FAILED and row["message"] == refused
