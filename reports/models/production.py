"""Production data of generators: one row per generator and UTC day holding packed arrays.

Laid out like ``MeterDay`` (see docs/architecture.md, "Meter data layout"): 24
(hourly) or 96 (15-minute) slots of UTC time. ``production_wh`` is little-endian
int64 Wh per slot, ``present`` one byte per slot (1 = a reading, 0 = none), so a
gap is "no information", never zero production. Used to attribute the renewable
part of the export of a PPE with renewable and other generators
(``reports.metering.production``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Generator

__all__ = ["GeneratorDay"]


class GeneratorDay(models.Model):
    generator = models.ForeignKey(Generator, on_delete=models.CASCADE, related_name="production_days")
    day = models.DateField(_("dzień (UTC)"))
    resolution_min = models.PositiveSmallIntegerField(_("rozdzielczość [min]"), choices=[(15, "15 min"), (60, "60 min")])
    production_wh = models.BinaryField()  # little-endian int64 Wh per slot
    present = models.BinaryField()  # uint8 per slot: 1 = a reading

    class Meta:
        constraints = [models.UniqueConstraint(fields=["generator", "day"], name="generatorday_unique_generator_day")]
        indexes = [models.Index(fields=["day", "generator"], name="generatorday_day_gen_idx")]
        verbose_name = _("produkcja jednostki wytwórczej (dzień)")
        verbose_name_plural = _("produkcja jednostek wytwórczych (dni)")

    def __str__(self) -> str:
        return f"{self.generator_id} {self.day} ({self.resolution_min} min)"
