from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Rozliczenia i taryfy")

    def ready(self) -> None:
        from members.signals import registry_changed

        from .receivers import on_registry_changed

        registry_changed.connect(on_registry_changed, dispatch_uid="reports.outdated_runs")

        # The job lifecycle (okeportal.jobs): reaper, retention, cancel and retry cover these.
        from okeportal import jobs

        from .models import ReadingImport, SettlementRun

        jobs.register(
            SettlementRun, kind="settlement", task_name="reports.settlement_run", error_field="error",
            retry="reports.services.settlement.runs.settlement_retry",
        )
        jobs.register(
            ReadingImport, kind="reading_import", task_name="reports.reading_import",
            file_field="file", file_removed_field="file_removed_at",
        )
        jobs.register_sweep("reports.services.statements.statements_reap")
