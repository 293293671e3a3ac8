"""Archiving failed and cancelled settlement runs: hidden from the settlement list, never deleted."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.models import JobStatus, SettlementRun

ARCHIVABLE = (JobStatus.FAILED, JobStatus.CANCELLED)


def _name(run: SettlementRun) -> str:
    return _("Rozliczenie %(start)s – %(end)s, wersja %(version)s") % {
        "start": run.period_start.strftime("%d.%m.%Y"), "end": run.period_end.strftime("%d.%m.%Y"), "version": run.version,
    }


def settlement_archive(*, run: SettlementRun) -> SettlementRun:
    """Hide a failed or cancelled run from the list (a conditional UPDATE: a run that has meanwhile
    changed status is refused, naming the run and the rule)."""
    updated = SettlementRun.objects.filter(pk=run.pk, status__in=ARCHIVABLE, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    run.refresh_from_db(fields=["status", "archived_at"])
    if not updated and run.archived_at is None:
        raise ValidationError(_(
            "%(run)s: zarchiwizować można tylko rozliczenie zakończone błędem albo anulowane (status: %(status)s)."
        ) % {"run": _name(run), "status": run.get_status_display()})
    return run


def settlement_unarchive(*, run: SettlementRun) -> SettlementRun:
    """Show an archived run on the list again."""
    SettlementRun.objects.filter(pk=run.pk).update(archived_at=None)
    run.refresh_from_db(fields=["archived_at"])
    return run
