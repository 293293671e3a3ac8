"""One lifecycle for every long job the workers run (settlements, imports, statements).

A job is a model row with a ``status`` (``JobStatus``), ``progress``, ``message``,
``queued_at``/``started_at``/``finished_at`` and optionally a stored ``file``.
Each app registers its job models from ``AppConfig.ready()``::

    jobs.register(ReadingImport, kind="reading_import", task_name="reports.reading_import",
                  file_field="file", file_removed_field="file_removed_at")

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

Reasons and notes (failed, cancelled, requeued, time limit) are ``okeportal.messages.Msg``
codes: a model with a ``message_data`` (and ``<error_field>_data``) JSON field keeps the
code with its parameters there, rendered in each reader's language; the text column
keeps the Polish copy for the admin and for the lifecycle's own comparisons.

Modules: ``kinds`` (status, registration), ``sending`` (the broker, refusals),
``worker`` (claim, fail, checkpoints, the task base), ``actions`` (staff cancel
and retry), ``housekeeping`` (the reaper and upload retention, run by beat).
"""

from __future__ import annotations

from .actions import job_cancel, job_retry
from .housekeeping import file_removed_message, jobs_files_expire, jobs_reap, requeued_message, requeued_msg
from .kinds import (
    ACTIVE,
    DEFAULT_LIMITS,
    FINISHED,
    RETRYABLE,
    JobCancelledError,
    JobKind,
    JobStatus,
    JobTimeLimitError,
    job_kind,
    job_kinds,
    job_limits,
    queue_unavailable_message,
    queue_unavailable_msg,
    register,
    register_sweep,
)
from .sending import job_enqueue, job_send_failed, job_task, task_named, task_send
from .worker import (
    job_checkpoint,
    job_claim,
    job_fail,
    job_failure_reason,
    job_is_cancelled,
    job_task_base,
    time_limit_message,
)

__all__ = [
    "ACTIVE",
    "DEFAULT_LIMITS",
    "FINISHED",
    "RETRYABLE",
    "JobCancelledError",
    "JobKind",
    "JobStatus",
    "JobTimeLimitError",
    "file_removed_message",
    "job_cancel",
    "job_checkpoint",
    "job_claim",
    "job_enqueue",
    "job_fail",
    "job_failure_reason",
    "job_is_cancelled",
    "job_kind",
    "job_kinds",
    "job_limits",
    "job_retry",
    "job_send_failed",
    "job_task",
    "job_task_base",
    "jobs_files_expire",
    "jobs_reap",
    "queue_unavailable_message",
    "queue_unavailable_msg",
    "register",
    "register_sweep",
    "requeued_message",
    "requeued_msg",
    "task_named",
    "task_send",
    "time_limit_message",
]
