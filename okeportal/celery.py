"""Celery application.

With ``CELERY_BROKER_URL`` set (Redis in production) tasks go to separate worker
processes. Without it the broker is kombu's filesystem transport under ``var/``,
so ``make run`` has a real asynchronous queue with no Redis installed.

Beat runs two housekeeping tasks (okeportal.jobs): the reaper every
``OKE_JOB_REAPER_INTERVAL`` seconds and the upload retention sweep hourly.
Production runs one ``celery -A okeportal beat`` beside the workers; running two
is harmless (every change they make is a conditional UPDATE).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okeportal.settings")

app = Celery("okeportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "jobs-reap": {"task": "okeportal.jobs_reap", "schedule": float(settings.OKE_JOB_REAPER_INTERVAL)},
        "uploads-expire": {"task": "okeportal.uploads_expire", "schedule": 3600.0},
    }


@app.task(name="okeportal.jobs_reap")
def jobs_reap_task() -> dict[str, int]:
    """Fail jobs stuck running, re-send or fail jobs lost in the queue (okeportal.jobs.jobs_reap)."""
    from okeportal.jobs import jobs_reap

    return jobs_reap()


@app.task(name="okeportal.uploads_expire")
def uploads_expire_task() -> int:
    """Delete upload files older than OKE_UPLOAD_RETENTION_DAYS; the job rows stay."""
    from okeportal.jobs import jobs_files_expire

    return jobs_files_expire()
