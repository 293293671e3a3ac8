"""Settlement runs and their immutable results, statements and their downloads."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.constraints import FieldCheckConstraint
from members.models import Cluster, Member
from okeportal.jobs import JobStatus
from okeportal.messages import msg_text

# Keys entered before they were dated apply from the first year a cluster could exist (art. 38a, 2010).
KEYS_EARLIEST = datetime.date(2010, 1, 1)


class AllocationMethod(models.TextChoices):
    PRO_RATA = "pro_rata", _("proporcjonalnie do poboru")
    STATIC = "static", _("według stałych kluczy")


class AllocationKey(models.Model):
    """Static allocation key of a member (used when a run allocates by keys).

    Keys come in sets: every key of a cluster with the same ``valid_from`` is one set, in force
    from that day until the next set's ``valid_from`` (reports.settlement.keys).
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="allocation_keys")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="allocation_keys")
    share = models.DecimalField(_("udział"), max_digits=9, decimal_places=6)
    valid_from = models.DateField(_("obowiązuje od"), default=KEYS_EARLIEST)

    class Meta:
        ordering = ["-valid_from", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "valid_from", "member"], name="allocation_key_unique_dated"),
            FieldCheckConstraint(
                field="share", condition=Q(share__gte=0), name="allocation_key_share_not_negative",
                violation_error_message=_("Udział nie może być ujemny."),
            ),
        ]
        verbose_name = _("klucz podziału")
        verbose_name_plural = _("klucze podziału")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.share}"


class SettlementRun(models.Model):
    class PeriodKind(models.TextChoices):
        MONTH = "month", _("miesiąc")
        QUARTER = "quarter", _("kwartał")
        YEAR = "year", _("rok")
        CUSTOM = "custom", _("dowolny")

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="settlement_runs")
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    period_start = models.DateField(_("od"))
    period_end = models.DateField(_("do (włącznie)"))
    version = models.PositiveIntegerField(_("wersja"), default=1)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # ``*_data``: the message as a code with parameters (okeportal.messages), shown in the reader's
    # language; the text columns keep the Polish copy (admin, search) and older rows' only text.
    message = models.CharField(max_length=500, blank=True)
    message_data = models.JSONField(null=True, blank=True)
    allocation = models.CharField(max_length=10, choices=AllocationMethod.choices, default=AllocationMethod.PRO_RATA)
    override_completeness = models.BooleanField(_("pomiń wymóg kompletności danych"), default=False)
    error = models.TextField(blank=True)
    error_data = models.JSONField(null=True, blank=True)
    missing = models.JSONField(default=list, blank=True, help_text=_("PPE i godziny bez danych"))
    # Everything the result depended on, copied at computation time (pretix's build_invoice).
    snapshot = models.JSONField(default=dict, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    hourly_profile = models.JSONField(default=list, blank=True)
    monthly = models.JSONField(default=list, blank=True)
    cooperative = models.JSONField(default=dict, blank=True)
    storage = models.JSONField(default=dict, blank=True)
    diff = models.JSONField(default=dict, blank=True, help_text=_("Różnice względem poprzedniej wersji"))
    # A period that had not ended when the run was requested: its figures may still change.
    provisional = models.BooleanField(_("wstępne"), default=False)
    # Failed or cancelled runs hidden from the settlement list (shown with "pokaż zarchiwizowane").
    archived_at = models.DateTimeField(_("zarchiwizowano"), null=True, blank=True)
    statements_published_at = models.DateTimeField(null=True, blank=True)
    # Statements of a run whose cluster was not eligible for support, published on a coordinator's written reason.
    eligibility_override_reason = models.TextField(_("powód publikacji mimo niespełnienia warunków"), blank=True)
    eligibility_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("publikację mimo niespełnienia warunków zatwierdził"),
    )
    eligibility_override_at = models.DateTimeField(_("publikacja mimo niespełnienia warunków"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "period_start", "period_end", "version"], name="settlement_version_unique"
            ),
            # Two runs for the same cluster and period cannot be active at once.
            models.UniqueConstraint(
                fields=["cluster", "period_start", "period_end"],
                condition=Q(status__in=["queued", "running"]),
                name="settlement_one_active_per_period",
            ),
        ]
        verbose_name = _("rozliczenie")
        verbose_name_plural = _("rozliczenia")

    def __str__(self) -> str:
        return f"{self.cluster} {self.period_start}–{self.period_end} v{self.version}"

    @property
    def message_text(self) -> str:
        return msg_text(self.message_data, self.message)

    @property
    def error_text(self) -> str:
        return msg_text(self.error_data, self.error)


class SettlementLine(models.Model):
    """One member's result in a run; member data is copied, never joined later."""

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="lines")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="settlement_lines")
    member_ref = models.CharField(max_length=40)
    member_name = models.CharField(max_length=250)
    member_address = models.CharField(max_length=300, blank=True)
    member_identifiers = models.JSONField(default=dict, blank=True)
    drawn_wh = models.BigIntegerField(default=0)
    shared_wh = models.BigIntegerField(default=0)
    fed_in_wh = models.BigIntegerField(default=0)
    discount = models.DecimalField(max_digits=14, decimal_places=2)
    exemptions = models.JSONField(default=dict, help_text=_("kod opłaty → kwota w zł (tekst dziesiętny)"))
    exemptions_total = models.DecimalField(max_digits=14, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    cost_without_cluster = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    ppes = models.JSONField(default=list, help_text=_("[{code, drawn_wh, shared_wh, fed_in_wh}]"))
    monthly = models.JSONField(default=list, help_text=_("[{month, drawn_wh, shared_wh}]"))

    class Meta:
        ordering = ["member_name"]
        constraints = [models.UniqueConstraint(fields=["run", "member"], name="settlement_line_unique_member")]
        verbose_name = _("pozycja rozliczenia")
        verbose_name_plural = _("pozycje rozliczenia")

    def __str__(self) -> str:
        return f"{self.run} — {self.member_name}"


def statement_upload_to(instance: Statement, filename: str) -> str:
    return f"statements/{instance.run.cluster_id}/{instance.run_id}/{filename}"


def report_upload_to(instance: ClusterReport, filename: str) -> str:
    return f"reports/{instance.run.cluster_id}/{instance.run_id}/{filename}"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("w przygotowaniu")
    READY = "ready", _("gotowe do przeglądu")
    PUBLISHED = "published", _("opublikowane")
    FAILED = "failed", _("błąd")


class RenderedDocument(models.Model):
    """A PDF rendered by a worker: statements, the cluster report, annual statements.

    They have no "running" state: PENDING with ``rendered_at`` empty is waiting for a worker (since
    ``queued_at``), PENDING with ``rendered_at`` set is being rendered (okeportal.jobs reaper:
    ``statements_reap``); ``reports.statements.pdf.pdf_store`` stores the file. Each subclass
    declares its own ``file`` (its storage path).
    """

    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.PENDING)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    error_data = models.JSONField(null=True, blank=True)  # okeportal.messages code; ``error`` keeps the Polish text
    queued_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def error_text(self) -> str:
        return msg_text(self.error_data, self.error)


class Statement(RenderedDocument):
    Status = DocumentStatus

    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="statements")
    line = models.OneToOneField(SettlementLine, on_delete=models.PROTECT, related_name="statement")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="statements")
    number = models.CharField(_("numer"), max_length=60, unique=True)
    # A statement of a later version whose member already had a published statement for the
    # same period is a correction ("korekta") of that one; the original is never altered.
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections", verbose_name=_("koryguje")
    )
    file = models.FileField(upload_to=statement_upload_to, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-run__period_start", "member__name"]
        verbose_name = _("zestawienie korzyści")
        verbose_name_plural = _("zestawienia korzyści")

    def __str__(self) -> str:
        return self.number


class StatementDownload(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("pobranie zestawienia")
        verbose_name_plural = _("pobrania zestawień")

    def __str__(self) -> str:
        return f"{self.statement_id} @ {self.at:%Y-%m-%d %H:%M}"


class ClusterReport(RenderedDocument):
    run = models.OneToOneField(SettlementRun, on_delete=models.PROTECT, related_name="cluster_report")
    file = models.FileField(upload_to=report_upload_to, blank=True)

    class Meta:
        verbose_name = _("raport klastra")
        verbose_name_plural = _("raporty klastra")

    def __str__(self) -> str:
        return f"{self.run} ({self.get_status_display()})"
