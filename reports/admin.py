"""Admin panel for the money: dated tariffs (with history), keys, and read-only results.

Tariff rows are data with validity dates (domain.md); two rows for the same key
in force on the same day would make a settlement ambiguous, so the models'
constraints refuse overlaps and the forms name the row in the way. Settlement results, statements and their
downloads are immutable records: the admin shows them and never edits them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import numpy as np
from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from okeportal.formatting import kwh, mwh, pct, zl
from reports.forms import NewValueForms
from reports.models import (
    AllocationKey,
    AnnualStatement,
    AnnualStatementDownload,
    ClusterReport,
    DiscountTier,
    DistributionRate,
    ExemptFee,
    JobStatus,
    MeterDay,
    ReadingImport,
    SettlementLine,
    SettlementRule,
    SettlementRun,
    Statement,
    StatementDownload,
    TariffZoneHours,
)
from reports.settlement.tariffs import tariff_row_guard_unused, tariff_row_is_used, tariff_row_runs


def pretty_json(value: Any) -> str:
    return format_html('<pre style="max-height: 30rem; overflow: auto">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))


# --- dated tariff data ---------------------------------------------------------


class DatedAdminForm(forms.ModelForm):
    """A dated row's form: the row's own rules come from its model's constraints.

    Non-negative rates, percentages 0–100, an end not before the start and no two rows
    of the same key in force on the same day are ``Meta.constraints`` of the models
    (``reports.models.tariffs``), which the form validates and shows on the field; this
    form adds only that a row a settlement used is not edited (a new value from a date must
    name its source: ``reports.forms.NewValueForms``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "source" in self.fields:
            self.fields["source"].widget.attrs["rows"] = 2

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk:
            tariff_row_guard_unused(row=self.instance)
        return data


class DistributionRateForm(DatedAdminForm):
    class Meta:
        model = DistributionRate
        fields = ["valid_from", "valid_to", "dso", "tariff_group", "zone", "variable_rate", "quality_rate", "source", "verified"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "zone" in self.fields:
            self.fields["zone"].required = False  # "" = all hours; a form without the field keeps it


class TariffZoneHoursForm(DatedAdminForm):
    class Meta:
        model = TariffZoneHours
        fields = ["valid_from", "valid_to", "dso", "tariff_group", "zone", "month_from", "month_to", "day_kind",
                  "hour_from", "hour_to", "source", "verified"]


class ExemptFeeForm(DatedAdminForm):
    class Meta:
        model = ExemptFee
        fields = ["valid_from", "valid_to", "code", "mode", "rate", "obligation_pct", "price", "applies_to_cluster", "applies_to_cooperative", "source", "verified"]


class DiscountTierForm(DatedAdminForm):
    class Meta:
        model = DiscountTier
        fields = ["valid_from", "valid_to", "threshold_pct", "discount_pct", "source", "verified"]


class SettlementRuleForm(DatedAdminForm):
    class Meta:
        model = SettlementRule
        fields = ["valid_from", "valid_to", "exemption_end_date", "level_numerator", "evaluation_period",
                  "cooperative_coefficient",
                  "cooperative_netting_period", "cooperative_carry_months", "completeness_gate_pct",
                  "storage_price_spread", "vat_rate_pct", "source", "verified"]

    # Rule data added later: a submission without them (an older form or script) keeps the model defaults.
    DEFAULTED = ("level_numerator", "evaluation_period", "cooperative_netting_period", "cooperative_carry_months",
                 "vat_rate_pct")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.DEFAULTED:
            if data.get(name) in (None, ""):
                data[name] = SettlementRule._meta.get_field(name).get_default()
        return data


class LockedWhenUsedAdmin(SimpleHistoryAdmin):
    """A row a settlement used is read-only (and cannot be deleted); it changes by "Nowa wartość od dnia"."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "used_by")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and tariff_row_is_used(row=obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and tariff_row_is_used(row=obj))

    @admin.display(description=_("użyty w rozliczeniach"))
    def used_by(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "—"
        runs = list(tariff_row_runs(row=obj)[:20])
        link = format_html(
            '<a class="button" href="{}">{}</a>',
            reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_new_value", args=[obj.pk]),
            _("Nowa wartość od dnia…"),
        )
        if not runs:
            return format_html("{} {}", _("nieużyty (można go poprawić)"), link)
        items = format_html_join(
            "", "<li>{} {} – {} v{}</li>", ((r.cluster.name, r.period_start, r.period_end, r.version) for r in runs)
        )
        return format_html("<p>{}</p><ul>{}</ul>{}", _("Wiersz jest zablokowany: użyły go rozliczenia:"), items, link)

    def get_urls(self) -> list:
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return [
            path("<path:object_id>/new-value/", self.admin_site.admin_view(self.new_value_view), name="{}_{}_new_value".format(*info)),
            *super().get_urls(),
        ]

    def new_value_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        row = self.get_object(request, object_id)
        if row is None or not self.has_view_permission(request, row):
            raise Http404
        step = NewValueForms(row=row, form_class=self.form, data=request.POST if request.method == "POST" else None)
        done = step.apply() if request.method == "POST" else None
        if done is not None:
            new_row, affected = done
            self.message_user(
                request,
                _("Zakończono „%(old)s” dnia %(end)s i dodano nowy wiersz od %(start)s. Rozliczenia z okresu od tego "
                  "dnia są nieaktualne (%(n)s): %(runs)s") % {
                    "old": row, "end": new_row.valid_from - dt.timedelta(days=1), "start": new_row.valid_from,
                    "n": len(affected),
                    "runs": ", ".join(f"{r.cluster.slug} {r.period_start}–{r.period_end} v{r.version}" for r in affected) or "—",
                },
                level=messages.WARNING if affected else messages.SUCCESS,
            )
            info = (self.model._meta.app_label, self.model._meta.model_name)
            return redirect(reverse("admin:{}_{}_change".format(*info), args=[new_row.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Nowa wartość od dnia: %(row)s") % {"row": row},
            "row": row, "date_form": step.date_form, "values_form": step.values_form, "opts": self.model._meta,
            "runs": list(tariff_row_runs(row=row)[:50]),
        }
        return TemplateResponse(request, "admin/reports/new_value.html", context)


@admin.register(DistributionRate)
class DistributionRateAdmin(LockedWhenUsedAdmin):
    form = DistributionRateForm
    list_display = ("__str__", "dso", "tariff_group", "zone", "variable_rate", "quality_rate", "valid_from", "valid_to",
                    "source", "verified")
    list_filter = ("dso", "tariff_group", "zone", "valid_from", "verified")
    search_fields = ("tariff_group", "dso__name", "source")
    list_select_related = ("dso",)
    date_hierarchy = "valid_from"


@admin.register(TariffZoneHours)
class TariffZoneHoursAdmin(LockedWhenUsedAdmin):
    form = TariffZoneHoursForm
    list_display = ("__str__", "dso", "tariff_group", "zone", "day_kind", "month_from", "month_to", "hour_from",
                    "hour_to", "valid_from", "valid_to", "verified")
    list_filter = ("dso", "tariff_group", "zone", "day_kind", "verified")
    search_fields = ("tariff_group", "zone", "dso__name", "source")
    list_select_related = ("dso",)


@admin.register(ExemptFee)
class ExemptFeeAdmin(LockedWhenUsedAdmin):
    form = ExemptFeeForm
    list_display = ("code", "mode", "rate", "obligation_pct", "price", "effective_rate", "applies_to_cluster",
                    "applies_to_cooperative", "valid_from", "valid_to", "source", "verified")
    list_filter = ("code", "mode", "applies_to_cluster", "applies_to_cooperative", "verified")
    search_fields = ("code", "source")
    date_hierarchy = "valid_from"

    @admin.display(description=_("stawka efektywna [zł/MWh]"))
    def effective_rate(self, obj: ExemptFee) -> Decimal:
        return obj.effective_rate


@admin.register(DiscountTier)
class DiscountTierAdmin(LockedWhenUsedAdmin):
    form = DiscountTierForm
    list_display = ("threshold_pct", "discount_pct", "valid_from", "valid_to", "source", "verified")
    list_filter = ("valid_from", "verified")
    search_fields = ("threshold_pct", "source")


@admin.register(SettlementRule)
class SettlementRuleAdmin(LockedWhenUsedAdmin):
    form = SettlementRuleForm
    list_display = ("__str__", "exemption_end_date", "evaluation_period", "cooperative_coefficient", "completeness_gate_pct",
                    "storage_price_spread", "vat_rate_pct", "valid_from", "valid_to",
                    "source", "verified")
    list_filter = ("valid_from", "verified")


class AllocationKeyForm(forms.ModelForm):
    class Meta:
        model = AllocationKey
        fields = ["cluster", "member", "share", "valid_from"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        member, cluster = data.get("member"), data.get("cluster")
        if member is not None and cluster is not None and member.cluster_id != cluster.pk:
            self.add_error("member", _("Członek „%(member)s” nie należy do klastra „%(cluster)s”.") % {"member": member, "cluster": cluster})
        return data


@admin.register(AllocationKey)
class AllocationKeyAdmin(admin.ModelAdmin):
    form = AllocationKeyForm
    list_display = ("member", "cluster", "share", "valid_from")
    list_filter = ("cluster", "valid_from")
    search_fields = ("member__name", "member__ref")
    list_select_related = ("member", "cluster")
    autocomplete_fields = ("member",)


# --- read-only records -----------------------------------------------------------


class ReadOnlyMixin:
    """Results are immutable: view only (recomputing creates a new version)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SettlementLineInline(ReadOnlyMixin, admin.TabularInline):
    model = SettlementLine
    fields = ("member_ref", "member_name", "drawn", "shared", "discount_zl", "exemptions_zl", "total_zl")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    @admin.display(description=_("pobór"))
    def drawn(self, obj: SettlementLine) -> str:
        return mwh(obj.drawn_wh)

    @admin.display(description=_("współdzielona"))
    def shared(self, obj: SettlementLine) -> str:
        return mwh(obj.shared_wh)

    @admin.display(description=_("upust"))
    def discount_zl(self, obj: SettlementLine) -> str:
        return zl(obj.discount)

    @admin.display(description=_("zwolnienia"))
    def exemptions_zl(self, obj: SettlementLine) -> str:
        return zl(obj.exemptions_total)

    @admin.display(description=_("razem"))
    def total_zl(self, obj: SettlementLine) -> str:
        return zl(obj.total)


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "cluster", "period_kind", "version", "status", "autoconsumption", "total", "created_by", "created_at")
    list_filter = ("status", "period_kind", "allocation", "cluster")
    search_fields = ("cluster__name", "cluster__slug", "message", "error")
    list_select_related = ("cluster", "created_by")
    date_hierarchy = "period_start"
    inlines = [SettlementLineInline]
    exclude = ("totals", "snapshot", "hourly_profile", "monthly", "cooperative", "storage", "diff", "missing")
    readonly_fields = ("totals_json", "missing_json", "diff_json", "cooperative_json", "storage_json", "snapshot_json")

    def get_actions(self, request: HttpRequest) -> dict:
        # Bulk delete would skip the per-object rule below.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: SettlementRun | None = None) -> bool:
        # Only a superuser may remove a FAILED run (it has no lines or statements); results stay.
        return bool(request.user.is_superuser and obj is not None and obj.status == JobStatus.FAILED)

    @admin.display(description=_("autokonsumpcja"))
    def autoconsumption(self, obj: SettlementRun) -> str:
        return pct((obj.totals or {}).get("autoconsumption_pct"))

    @admin.display(description=_("korzyść razem"))
    def total(self, obj: SettlementRun) -> str:
        return zl((obj.totals or {}).get("total"))

    @admin.display(description=_("sumy"))
    def totals_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.totals)

    @admin.display(description=_("brakujące dane"))
    def missing_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.missing)

    @admin.display(description=_("zmiany względem poprzedniej wersji"))
    def diff_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.diff)

    @admin.display(description=_("porównanie ze spółdzielnią"))
    def cooperative_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.cooperative)

    @admin.display(description=_("magazyny"))
    def storage_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.storage)

    @admin.display(description=_("zastosowane stawki i dane (migawka)"))
    def snapshot_json(self, obj: SettlementRun) -> str:
        return pretty_json(obj.snapshot)


@admin.register(SettlementLine)
class SettlementLineAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("member_ref", "member_name", "run", "drawn", "shared", "total")
    list_filter = ("run__cluster", "run__status")
    search_fields = ("member_ref", "member_name", "run__cluster__name")
    list_select_related = ("run__cluster",)

    @admin.display(description=_("pobór"), ordering="drawn_wh")
    def drawn(self, obj: SettlementLine) -> str:
        return mwh(obj.drawn_wh)

    @admin.display(description=_("współdzielona"), ordering="shared_wh")
    def shared(self, obj: SettlementLine) -> str:
        return mwh(obj.shared_wh)


class StatementDownloadInline(ReadOnlyMixin, admin.TabularInline):
    model = StatementDownload
    fields = ("at", "user", "ip", "user_agent")
    readonly_fields = fields
    extra = 0


@admin.register(Statement)
class StatementAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("number", "member", "run", "status", "rendered_at", "published_at")
    list_filter = ("status", "run__cluster")
    search_fields = ("number", "member__name", "member__ref", "sha256")
    list_select_related = ("member", "run__cluster")
    inlines = [StatementDownloadInline]


class AnnualStatementDownloadInline(admin.TabularInline):
    model = AnnualStatementDownload
    extra = 0
    can_delete = False
    readonly_fields = ("user", "at", "ip", "user_agent")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AnnualStatement)
class AnnualStatementAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("number", "member", "year", "version", "evaluation_period", "total", "correction", "status", "published_at")
    list_filter = ("status", "year", "evaluation_period", "cluster")
    search_fields = ("number", "member__name", "member__ref", "sha256")
    list_select_related = ("member", "cluster")
    inlines = [AnnualStatementDownloadInline]


@admin.register(StatementDownload)
class StatementDownloadAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("statement", "user", "at", "ip")
    list_filter = ("statement__run__cluster",)
    search_fields = ("statement__number", "user__username", "ip")
    list_select_related = ("statement", "user")
    date_hierarchy = "at"


@admin.register(ClusterReport)
class ClusterReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("run", "status", "rendered_at")
    list_filter = ("status", "run__cluster")
    search_fields = ("run__cluster__name", "sha256")
    list_select_related = ("run__cluster",)


@admin.register(ReadingImport)
class ReadingImportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("original_name", "cluster", "format", "ppe", "status", "created_by", "created_at")
    list_filter = ("status", "format", "cluster")
    search_fields = ("original_name", "ppe__code", "message")
    list_select_related = ("cluster", "ppe", "created_by")
    date_hierarchy = "created_at"


@admin.register(MeterDay)
class MeterDayAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("ppe", "day", "resolution_min", "drawn", "fed_in", "missing_slots")
    list_filter = ("resolution_min", "ppe__cluster")
    search_fields = ("ppe__code",)
    list_select_related = ("ppe",)
    date_hierarchy = "day"
    exclude = ("import_wh", "export_wh", "quality")
    readonly_fields = ("drawn", "fed_in", "missing_slots")

    @admin.display(description=_("pobór"))
    def drawn(self, obj: MeterDay) -> str:
        return kwh(int(np.frombuffer(bytes(obj.import_wh), dtype="<i8").sum()))

    @admin.display(description=_("wprowadzenie"))
    def fed_in(self, obj: MeterDay) -> str:
        return kwh(int(np.frombuffer(bytes(obj.export_wh), dtype="<i8").sum()))

    @admin.display(description=_("sloty bez danych"))
    def missing_slots(self, obj: MeterDay) -> int:
        return int((np.frombuffer(bytes(obj.quality), dtype=np.uint8) == 0).sum())
