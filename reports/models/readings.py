"""Meter data: one row per PPE and UTC day holding packed arrays.

Why arrays and not a row per interval: see docs/architecture.md ("Meter data
layout"). A day row holds 24 (hourly) or 96 (15-minute) slots of UTC time;
Polish local hours are whole-hour offsets from UTC, so an hour of the
settlement period is always one UTC hour.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Cluster, MeteringPoint
from okeportal.jobs import JobStatus
from okeportal.messages import RowErrorView, msg_text, row_error_view

__all__ = ["JobStatus", "MeterDay", "Quality", "ReadingImport"]  # JobStatus re-exported: it lives in okeportal.jobs


class Quality(models.IntegerChoices):
    """Per-slot quality flag stored as one byte in ``MeterDay.quality``."""

    MISSING = 0, _("brak")
    MEASURED = 1, _("pomiar")
    ESTIMATED = 2, _("szacunek")


class MeterDay(models.Model):
    ppe = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="meter_days")
    day = models.DateField(_("dzień (UTC)"))
    resolution_min = models.PositiveSmallIntegerField(_("rozdzielczość [min]"), choices=[(15, "15 min"), (60, "60 min")])
    # little-endian int64 Wh per slot (A+ drawn, A- fed in); uint8 Quality per slot and direction:
    # ``quality`` for drawn energy, ``export_quality`` for fed-in energy (a file may carry one direction only)
    import_wh = models.BinaryField()
    export_wh = models.BinaryField()
    quality = models.BinaryField()
    export_quality = models.BinaryField(default=bytes)
    # The DSO's hourly balanced series ("pobrana / oddana po zbilansowaniu"), settled for prosumer PPEs:
    # the same layout as the raw one, with a quality array per direction; all four empty = no balanced data that day.
    import_balanced_wh = models.BinaryField(default=bytes)
    export_balanced_wh = models.BinaryField(default=bytes)
    balanced_quality = models.BinaryField(default=bytes)
    export_balanced_quality = models.BinaryField(default=bytes)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ppe", "day"], name="meterday_unique_ppe_day")]
        indexes = [
            models.Index(fields=["day", "ppe"]),
            # the few days that hold a balanced series (prosumers): a raw re-import finds them without reading the rest
            models.Index(fields=["ppe", "day"], condition=models.Q(balanced_quality__gt=b""), name="meterday_balanced_days"),
        ]
        verbose_name = _("dane pomiarowe (dzień)")
        verbose_name_plural = _("dane pomiarowe (dni)")

    def __str__(self) -> str:
        return f"{self.ppe_id} {self.day} ({self.resolution_min} min)"


class ReadingImport(models.Model):
    class Format(models.TextChoices):
        GENERIC = "generic", _("CSV ogólny (ppe_code, start, import_kwh, export_kwh)")
        TAURON = "tauron", _("Tauron eLicznik")
        PRODUCTION = "production", _("Produkcja jednostek wytwórczych (ppe_code, generator, start, production_kwh)")

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="reading_imports")
    # Emptied by the retention sweep (okeportal.jobs.jobs_files_expire); file_removed_at says when.
    file = models.FileField(upload_to="imports/readings/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.GENERIC)
    ppe = models.ForeignKey(
        MeteringPoint, null=True, blank=True, on_delete=models.SET_NULL,
        help_text=_("Dla plików eLicznik, które nie zawierają kodu PPE."),
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # ``message_data``: the outcome as a code with parameters (okeportal.messages), shown in the
    # reader's language; ``message`` keeps its Polish text (admin, search) and older rows' text.
    message = models.CharField(max_length=300, blank=True)
    message_data = models.JSONField(null=True, blank=True)
    # Line errors: ``{"line", "msg", "params": {..., "field_label"}}`` (older rows: ``{"line", "field", "message"}``).
    errors = models.JSONField(default=list, blank=True)
    outside_membership = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import danych pomiarowych")
        verbose_name_plural = _("importy danych pomiarowych")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def message_text(self) -> str:
        """The outcome in the active language (older rows: their stored text)."""
        return msg_text(self.message_data, self.message)

    @property
    def error_rows(self) -> list[RowErrorView]:
        """The stored line errors rendered in the active language: ``line``, ``field``, ``message``."""
        return [row_error_view(error) for error in self.errors or []]
