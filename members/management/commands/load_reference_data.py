from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from members.models import Gmina
from members.services.reference import reference_data_load


class Command(BaseCommand):
    help = "Load TERYT gminas with their neighbours, DSOs, statutory conditions and initial tariffs (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        reference_data_load()
        self.stdout.write(self.style.SUCCESS(f"Reference data ready: {Gmina.objects.count()} gminas."))
