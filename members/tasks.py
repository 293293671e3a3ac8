"""Celery tasks of the registry (thin: take an id, claim it, call a service)."""

from __future__ import annotations

from celery import shared_task

from members.services.imports import registry_import_claim, registry_import_process
from okeportal.jobs import job_task_base

__all__ = ["registry_import_task"]


@shared_task(name="members.registry_import", base=job_task_base(), job_kind="registry_import")
def registry_import_task(import_id: int) -> None:
    """Import one uploaded registry file; safe to deliver twice (the claim fails)."""
    if not registry_import_claim(import_id=import_id):
        return
    registry_import_process(import_id=import_id)
