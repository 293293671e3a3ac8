"""Celery tasks: readings (thin: take ids, claim, call a service)."""

from __future__ import annotations

from celery import shared_task

from okeportal.jobs import job_task_base
from reports.metering.imports import reading_import_claim, reading_import_process

__all__ = ["reading_import_task"]


@shared_task(name="reports.reading_import", base=job_task_base(), job_kind="reading_import")
def reading_import_task(import_id: int) -> None:
    """Import one uploaded meter-data file; safe to deliver twice (the claim fails)."""
    if not reading_import_claim(import_id=import_id):
        return
    reading_import_process(import_id=import_id)
