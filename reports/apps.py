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

        from .metering.signals import meter_data_changed
        from .receivers import on_meter_data_changed

        meter_data_changed.connect(on_meter_data_changed, dispatch_uid="reports.outdated_by_meter_data")

        # Questions and steps of the registry that the meter and tariff side answers.
        from members.signals import measured_energy_request, reference_data_loading

        from .receivers import on_measured_energy, on_reference_data_load

        measured_energy_request.connect(on_measured_energy, dispatch_uid="reports.measured_energy")
        reference_data_loading.connect(on_reference_data_load, dispatch_uid="reports.tariff_defaults")

        # Safe registry actions: the confirmation page's preview and the undo guard.
        from members.signals import registry_change_preview, registry_published_since

        from .receivers import on_registry_change_preview, on_registry_published_since

        registry_change_preview.connect(on_registry_change_preview, dispatch_uid="reports.outdated_preview")
        registry_published_since.connect(on_registry_published_since, dispatch_uid="reports.published_since")

        # The job lifecycle (okeportal.jobs): reaper, retention, cancel and retry cover these.
        from okeportal import jobs

        from .models import ReadingImport, SettlementRun

        jobs.register(
            SettlementRun, kind="settlement", task_name="reports.settlement_run", error_field="error",
            retry="reports.settlement.runs.settlement_retry",
        )
        jobs.register(
            ReadingImport, kind="reading_import", task_name="reports.reading_import",
            file_field="file", file_removed_field="file_removed_at",
        )
        jobs.register_sweep("reports.statements.services.statements_reap")
