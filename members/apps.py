from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Rejestr klastra")

    def ready(self) -> None:
        # The job lifecycle (okeportal.jobs): reaper, retention, cancel and retry cover registry imports.
        from okeportal import jobs

        from .models import RegistryImport

        jobs.register(
            RegistryImport, kind="registry_import", task_name="members.registry_import",
            file_field="file", file_removed_field="file_removed_at",
        )
