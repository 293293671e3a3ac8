"""Admin panel for the registry and the dated rules.

Forms here call the same checks as the coordinator pages (identifiers, PPE
codes, the area rule: ``members.services.validators`` and ``members.services.area``;
value ranges: the models' constraints), so the admin cannot store what the portal
would refuse.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from members.forms import (
    member_identifiers_form_clean,
    vat_deduction_field,
    vat_deduction_field_setup,
    vat_deduction_value,
)
from members.models import (
    DSO,
    Cluster,
    ConditionRule,
    Consent,
    ConsentText,
    FullLoadHours,
    Generator,
    Gmina,
    Member,
    MeteringPoint,
    PPEBillingRegime,
    PPEMembership,
    RegistryImport,
    StorageUnit,
    vat_deduction_default,
)
from members.services import area
from members.services.area import PPECandidate
from members.services.memberships import ppe_code_one_cluster_validate
from members.services.regimes import regime_row_changed
from members.services.registry import member_vat_changed_send
from members.services.validators import ppe_code_clean


class MemberAdminForm(forms.ModelForm):
    deducts_vat = vat_deduction_field()

    class Meta:
        model = Member
        fields = ["cluster", "ref", "name", "legal_form", "nip", "regon", "krs", "pesel", "street", "postal_code", "city", "email", "joined_on", "left_on", "controlled_by_jst", "user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vat_deduction_field_setup(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        member_identifiers_form_clean(self, data)
        return data

    def save(self, commit: bool = True) -> Member:
        # As ``member_create`` / ``member_update`` do: the legal form's default when not chosen.
        member = super().save(commit=False)
        chosen = vat_deduction_value(self.cleaned_data.get("deducts_vat") or "")
        if chosen is not None:
            member.deducts_vat = chosen
        elif member._state.adding:
            member.deducts_vat = vat_deduction_default(member.legal_form)
        if commit:
            member.save()
        return member


class MeteringPointAdminForm(forms.ModelForm):
    class Meta:
        model = MeteringPoint
        fields = ["cluster", "code", "is_legacy_code", "is_sample", "address", "gmina", "dso", "voltage_level", "tariff_group", "contracted_kw", "annual_demand_kwh"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code, dso, cluster = data.get("code"), data.get("dso"), data.get("cluster")
        if code and dso and cluster and "code" not in self.errors:
            try:
                checked = ppe_code_clean(code=code, dso=dso, cluster_id=cluster.pk, ppe_id=self.instance.pk)
            except ValidationError as exc:
                self.add_error(None, exc)
            else:
                data["code"] = checked.code
                data["is_legacy_code"] = checked.is_legacy
        if not self.errors and all(data.get(k) for k in ("cluster", "code", "gmina", "dso", "voltage_level")):
            candidate = PPECandidate(
                code=data["code"], gmina=data["gmina"], dso=data["dso"], voltage_level=data["voltage_level"],
                ppe_id=self.instance.pk,
            )
            try:
                area.area_validate_candidates(cluster=data["cluster"], candidates=[candidate])
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


@admin.register(Gmina)
class GminaAdmin(admin.ModelAdmin):
    """TERYT reference data: loaded by ``load_reference_data``, read-only here."""

    list_display = ["terc", "name", "type", "powiat_name", "woj_name"]
    list_filter = ["woj_name", "type"]
    search_fields = ["terc", "name", "powiat_name"]
    readonly_fields = ["terc", "name", "type", "powiat_terc", "powiat_name", "woj_terc", "woj_name", "neighbour_list"]
    fields = readonly_fields

    @admin.display(description=_("sąsiednie gminy"))
    def neighbour_list(self, obj: Gmina) -> str:
        return "; ".join(f"{g.name} [{g.terc}]" for g in obj.neighbours.order_by("terc"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Gmina | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Gmina | None = None) -> bool:
        return False


@admin.register(DSO)
class DSOAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "ppe_prefix"]
    search_fields = ["name", "slug", "ppe_prefix"]


@admin.register(Cluster)
class ClusterAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "kind", "dso", "established_on", "ure_register_number", "ure_register_date", "member_count"]
    list_filter = ["kind", "dso"]
    search_fields = ["name", "slug", "coordinator_name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["staff"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cluster]:
        return super().get_queryset(request).select_related("dso").annotate(n_members=Count("members"))

    @admin.display(description=_("członkowie"), ordering="n_members")
    def member_count(self, obj: Cluster) -> int:
        return obj.n_members


class PPEMembershipAdminForm(forms.ModelForm):
    """A PPE code is in one cluster at a time: say so on the form, not as a database error."""

    class Meta:
        model = PPEMembership
        fields = ["ppe", "member", "valid_from", "valid_to"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ppe = data.get("ppe") or (self.instance.ppe if self.instance.ppe_id else None)
        if ppe is not None and data.get("valid_from"):
            ppe_code_one_cluster_validate(
                code=ppe.code, cluster_id=ppe.cluster_id, valid_from=data["valid_from"], valid_to=data.get("valid_to")
            )
        return data


class MembershipOfMemberInline(admin.TabularInline):
    model = PPEMembership
    form = PPEMembershipAdminForm
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["ppe"]
    verbose_name_plural = _("PPE członka (przynależność z datami)")


@admin.register(Member)
class MemberAdmin(SimpleHistoryAdmin):
    form = MemberAdminForm
    list_display = ["name", "ref", "cluster", "legal_form", "nip", "joined_on", "left_on"]
    list_filter = ["cluster", "legal_form", "controlled_by_jst", "deducts_vat", ("left_on", admin.EmptyFieldListFilter)]
    search_fields = ["name", "ref", "nip", "regon", "krs", "email", "ppe_memberships__ppe__code"]
    list_select_related = ["cluster"]
    autocomplete_fields = ["user"]
    date_hierarchy = "joined_on"
    inlines = [MembershipOfMemberInline]

    def save_model(self, request: HttpRequest, obj: Member, form: Any, change: bool) -> None:
        deducted = Member.objects.filter(pk=obj.pk).values_list("deducts_vat", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if change and deducted is not None and deducted != obj.deducts_vat:
            member_vat_changed_send(member=obj)

    fieldsets = [
        (None, {"fields": ["cluster", "ref", "name", "legal_form", "controlled_by_jst", "deducts_vat"]}),
        (_("Identyfikatory"), {"fields": ["nip", "regon", "krs", "pesel"]}),
        (_("Adres i kontakt"), {"fields": ["street", "postal_code", "city", "email", "user"]}),
        (_("Członkostwo"), {"fields": ["joined_on", "left_on"]}),
    ]


class MembershipOfPPEInline(admin.TabularInline):
    model = PPEMembership
    form = PPEMembershipAdminForm
    fk_name = "ppe"
    extra = 0
    autocomplete_fields = ["member"]


class GeneratorInline(admin.TabularInline):
    model = Generator
    extra = 0


class StorageInline(admin.TabularInline):
    model = StorageUnit
    extra = 0


@admin.register(MeteringPoint)
class MeteringPointAdmin(SimpleHistoryAdmin):
    form = MeteringPointAdminForm
    list_display = ["code", "cluster", "gmina", "dso", "voltage_level", "tariff_group", "contracted_kw", "is_legacy_code"]
    list_filter = ["cluster", "dso", "voltage_level", "tariff_group", "is_legacy_code", "is_sample"]
    search_fields = ["code", "address", "gmina__name", "memberships__member__name"]
    list_select_related = ["cluster", "gmina", "dso"]
    autocomplete_fields = ["gmina"]
    inlines = [MembershipOfPPEInline, GeneratorInline, StorageInline]


@admin.register(PPEBillingRegime)
class PPEBillingRegimeAdmin(SimpleHistoryAdmin):
    """Billing regimes (dated); a change outdates the finished settlements of its days, as the PPE page's form does."""

    list_display = ["ppe", "regime", "valid_from", "valid_to"]
    list_filter = ["regime", "ppe__cluster"]
    search_fields = ["ppe__code"]
    list_select_related = ["ppe"]
    autocomplete_fields = ["ppe"]

    def save_model(self, request: HttpRequest, obj: PPEBillingRegime, form: Any, change: bool) -> None:
        before = PPEBillingRegime.objects.filter(pk=obj.pk).first() if obj.pk else None
        super().save_model(request, obj, form, change)
        regime_row_changed(row=obj, before=before)

    def delete_model(self, request: HttpRequest, obj: PPEBillingRegime) -> None:
        regime_row_changed(row=obj, before=obj, deleted=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PPEBillingRegime]) -> None:
        for row in queryset.select_related("ppe"):
            regime_row_changed(row=row, before=row, deleted=True)
        super().delete_queryset(request, queryset)


@admin.register(PPEMembership)
class PPEMembershipAdmin(SimpleHistoryAdmin):
    form = PPEMembershipAdminForm
    list_display = ["ppe", "member", "valid_from", "valid_to"]
    list_filter = ["member__cluster", ("valid_to", admin.EmptyFieldListFilter)]
    search_fields = ["ppe__code", "member__name", "member__ref"]
    list_select_related = ["ppe", "member"]
    autocomplete_fields = ["ppe", "member"]
    date_hierarchy = "valid_from"


@admin.register(Generator)
class GeneratorAdmin(SimpleHistoryAdmin):
    list_display = ["name", "ppe", "source", "capacity_kw", "thermal_kw", "commissioned_on"]
    list_filter = ["source", "ppe__cluster"]
    search_fields = ["name", "ppe__code"]
    list_select_related = ["ppe"]
    autocomplete_fields = ["ppe"]


@admin.register(StorageUnit)
class StorageUnitAdmin(SimpleHistoryAdmin):
    list_display = ["name", "ppe", "power_kw", "capacity_kwh", "efficiency"]
    list_filter = ["ppe__cluster"]
    search_fields = ["name", "ppe__code"]
    list_select_related = ["ppe"]
    autocomplete_fields = ["ppe"]


@admin.register(ConditionRule)
class ConditionRuleAdmin(SimpleHistoryAdmin):
    list_display = ["code", "applies_to", "comparison", "threshold", "unit", "valid_from", "valid_to"]
    list_filter = ["applies_to", "code"]
    search_fields = ["legal_basis"]
    list_editable = ["threshold", "valid_to"]


@admin.register(FullLoadHours)
class FullLoadHoursAdmin(SimpleHistoryAdmin):
    list_display = ["source", "hours", "valid_from", "valid_to"]
    list_filter = ["source"]
    list_editable = ["hours", "valid_to"]


@admin.register(RegistryImport)
class RegistryImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "cluster", "status", "created_by", "created_at"]
    list_filter = ["cluster", "status"]
    search_fields = ["file_name"]
    readonly_fields = ["cluster", "file_name", "status", "errors", "summary", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """Dated consent texts. A text members have confirmed is what they agreed to: read-only; a change is a new version."""

    list_display = ["kind", "version", "title", "valid_from"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request: HttpRequest, obj: ConsentText | None = None) -> list[str]:
        if obj is not None and obj.consents.exists():
            return ["kind", "version", "title", "text", "valid_from"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: ConsentText | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.consents.exists())


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Members' confirmations: a record, never edited."""

    list_display = ["member", "text", "accepted_at", "accepted_by"]
    list_filter = ["text__kind", "member__cluster"]
    search_fields = ["member__name"]
    list_select_related = ["member", "text", "accepted_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False
