"""Annual summary statements: one PDF per member and calendar year.

The figures are frozen in ``data`` when the statements are issued
(``reports.statements.annual``): later settlement versions never change an issued
statement; a new issue of the year is a new version with its own numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Cluster, Member

from .settlements import RenderedDocument, SettlementRun
from .tariffs import LevelPeriod


def annual_upload_to(instance: AnnualStatement, filename: str) -> str:
    return f"statements/{instance.cluster_id}/annual/{instance.year}/{filename}"


class AnnualStatement(RenderedDocument):
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="annual_statements")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="annual_statements")
    year = models.PositiveSmallIntegerField(_("rok"))
    version = models.PositiveSmallIntegerField(_("wersja"), default=1)
    number = models.CharField(_("numer"), max_length=60, unique=True)
    # The whole-year settlement run whose figures the corrections come from (evaluation over the year only).
    annual_run = models.ForeignKey(
        SettlementRun, null=True, blank=True, on_delete=models.PROTECT, related_name="annual_statements",
        verbose_name=_("rozliczenie roczne"),
    )
    evaluation_period = models.CharField(
        _("okres oceny poziomu autokonsumpcji"), max_length=8, choices=LevelPeriod.choices
    )
    # ``reports.statements.annual.AnnualFigures`` in the snapshot encoding (Decimal as text, dates ISO).
    data = models.JSONField(default=dict)
    total = models.DecimalField(_("korzyść za rok [zł]"), max_digits=14, decimal_places=2)
    shown_total = models.DecimalField(_("kwoty z zestawień okresowych [zł]"), max_digits=14, decimal_places=2)
    # year's benefit − what the period statements showed; None when the level is evaluated per period
    correction = models.DecimalField(_("korekta [zł]"), max_digits=14, decimal_places=2, null=True, blank=True)
    file = models.FileField(upload_to=annual_upload_to, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-version", "member__name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "member", "year", "version"], name="annual_statement_unique"),
        ]
        verbose_name = _("zestawienie roczne")
        verbose_name_plural = _("zestawienia roczne")

    def __str__(self) -> str:
        return self.number


class AnnualStatementDownload(models.Model):
    statement = models.ForeignKey(AnnualStatement, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("pobranie zestawienia rocznego")
        verbose_name_plural = _("pobrania zestawień rocznych")

    def __str__(self) -> str:
        return f"{self.statement_id} @ {self.at:%Y-%m-%d %H:%M}"
