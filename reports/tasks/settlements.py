"""Celery tasks: settlements (thin: take ids, call a service)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.utils import timezone

from reports.models import JobStatus, SettlementRun
from reports.services.settlement import settlement_compute, settlement_fail

logger = logging.getLogger(__name__)

__all__ = ["settlement_run_task"]


@shared_task(name="reports.settlement_run")
def settlement_run_task(run_id: int) -> None:
    # Claim: only the one worker whose UPDATE changes the QUEUED row goes on;
    # a redelivered or repeated task finds the run RUNNING/DONE and stops.
    claimed = SettlementRun.objects.filter(id=run_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=1, message="Rozpoczęto"
    )
    if claimed != 1:
        return
    try:
        settlement_compute(run=SettlementRun.objects.get(pk=run_id))
    except ValidationError as exc:
        settlement_fail(run_id=run_id, reason=" ".join(exc.messages))
    except Exception as exc:
        logger.exception("settlement run %s failed", run_id)
        settlement_fail(run_id=run_id, reason=f"Błąd obliczeń: {exc}")
