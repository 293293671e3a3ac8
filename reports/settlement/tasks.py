"""Celery tasks: settlements (thin: take ids, claim, call a service)."""

from __future__ import annotations

from celery import shared_task
from django.utils.translation import gettext_noop

from okeportal.jobs import job_claim, job_task_base
from okeportal.messages import msg
from reports.models import SettlementRun
from reports.settlement import settlement_execute

__all__ = ["settlement_run_task"]


@shared_task(name="reports.settlement_run", base=job_task_base(), job_kind="settlement")
def settlement_run_task(run_id: int) -> None:
    # Claim: only the one worker whose UPDATE changes the QUEUED row goes on;
    # a redelivered or repeated task finds the run RUNNING/DONE/CANCELLED and stops.
    if not job_claim(job_model=SettlementRun, pk=run_id, message=msg(gettext_noop("Rozpoczęto"))):
        return
    settlement_execute(run_id=run_id)
