"""Coordinator forms: a member with its PPEs on one page, installations of a PPE, uploads.

Forms show the rules next to the field or row they concern, and take each rule from
its one place: identifiers from ``members.services.validators.member_identifiers_clean``,
PPE codes from ``ppe_code_clean``, the area rule from
``members.services.area.area_candidates_errors`` (all PPE rows of the page at once),
value ranges from the models' constraints. The services in ``members.services.registry``
call the same functions when they write; the area verdict is kept for the request, so
the rule is evaluated once per POST.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max, Q, QuerySet
from django.forms import BaseInlineFormSet, BaseModelFormSet, inlineformset_factory, modelformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import (
    DSO,
    BillingRegime,
    Cluster,
    Generator,
    Gmina,
    Member,
    MeteringPoint,
    PPEMembership,
    StorageUnit,
)
from members.services import area
from members.services.area import PPECandidate
from members.services.registry import GENERATOR_FIELDS, MEMBER_FIELDS, PPE_FIELDS, STORAGE_FIELDS, gmina_resolve
from members.services.validators import IDENTIFIER_FIELDS, member_identifiers_clean, ppe_code_clean
from okeportal.formatting import number, period

TARIFF_GROUPS = ("G11", "G12", "G12w", "C11", "C12a", "C12b", "C21", "C22a", "C22b", "B11", "B21", "B22", "B23")
GMINA_DATALIST_ID = "gminy-list"


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def member_identifiers_form_clean(form: forms.Form, data: dict[str, Any]) -> None:
    """Put ``member_identifiers_clean``'s compact identifiers into ``data``, or its errors on their fields."""
    legal_form = data.get("legal_form") if "legal_form" not in form.errors else None
    given = {k: data.get(k) or "" for k in IDENTIFIER_FIELDS if k not in form.errors}
    try:
        data.update(member_identifiers_clean(legal_form=legal_form, **given))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            if name not in form.errors:
                form.add_error(name, messages)


VAT_BY_LEGAL_FORM = "auto"


def vat_deduction_field() -> forms.ChoiceField:
    """``Member.deducts_vat`` as a choice: by the legal form (new members only), yes or no."""
    return forms.ChoiceField(
        label=_("Odliczanie VAT"),
        choices=[
            (VAT_BY_LEGAL_FORM, _("według formy prawnej (przedsiębiorcy i spółdzielnie odliczają, pozostali nie)")),
            ("yes", _("odlicza VAT — zestawienia w kwotach netto")),
            ("no", _("nie odlicza VAT — zestawienia pokazują także korzyść brutto")),
        ],
        initial=VAT_BY_LEGAL_FORM,
        required=False,  # not sent (an older form, a script): the legal form's default, or unchanged
        help_text=_("Gospodarstwo domowe nie odlicza VAT; JST wybiera według tego, czy energia służy jej działalności opodatkowanej."),
    )


def vat_deduction_field_setup(form: forms.ModelForm) -> None:
    """A saved member shows its value and no longer offers the legal form's default."""
    if form.instance.pk:
        field = form.fields["deducts_vat"]
        field.choices = [c for c in field.choices if c[0] != VAT_BY_LEGAL_FORM]  # type: ignore[attr-defined]
        form.initial["deducts_vat"] = "yes" if form.instance.deducts_vat else "no"


def vat_deduction_value(value: str) -> bool | None:
    """The field's value for the registry services: None = the legal form's default (a new member)
    or unchanged (a saved one)."""
    return None if value in ("", VAT_BY_LEGAL_FORM) else value == "yes"


class MemberForm(forms.ModelForm):
    # Wider than the stored compact numbers: people type "521-301-72-28" or "PL5213017228".
    nip = forms.CharField(label="NIP", max_length=20, required=False)
    regon = forms.CharField(label="REGON", max_length=20, required=False)
    krs = forms.CharField(label="KRS", max_length=20, required=False)
    pesel = forms.CharField(label="PESEL", max_length=20, required=False)
    # A new member may leave it to its legal form (``vat_deduction_default``); a saved member has a value.
    deducts_vat = vat_deduction_field()

    class Meta:
        model = Member
        fields = [f for f in MEMBER_FIELDS if f != "deducts_vat"]  # the declared choice above, written by the service
        widgets = {"joined_on": _date_widget()}

    def __init__(self, *args: Any, cluster: Cluster, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster
        self.fields["ref"].help_text = _("Krótki symbol, np. „gmina-orzesze”; litery, cyfry i myślniki.")
        self.fields["pesel"].help_text = _("Tylko dla osoby fizycznej i tylko gdy jest niezbędny.")
        if not self.instance.pk:
            self.fields["joined_on"].initial = timezone.localdate()
        vat_deduction_field_setup(self)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("ref", css_class="col-md-3"), Column("legal_form", css_class="col-md-3")),
            Row(*(Column(f, css_class="col-md-3") for f in ("nip", "regon", "krs", "pesel"))),
            Row(Column("street", css_class="col-md-5"), Column("postal_code", css_class="col-md-2"), Column("city", css_class="col-md-5")),
            Row(Column("email", css_class="col-md-5"), Column("joined_on", css_class="col-md-3"), Column("controlled_by_jst", css_class="col-md-4 pt-md-4")),
            Row(Column("deducts_vat", css_class="col-md-8")),
        )

    def clean_deducts_vat(self) -> bool | None:
        """None: the legal form's default (``member_create`` applies it)."""
        return vat_deduction_value(self.cleaned_data["deducts_vat"])

    def clean_ref(self) -> str:
        ref = self.cleaned_data["ref"]
        taken = Member.objects.filter(cluster=self.cluster, ref=ref).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(_("Symbol „%(ref)s” ma już inny członek tego klastra.") % {"ref": ref})
        return ref

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        member_identifiers_form_clean(self, data)
        return data


class GminaField(forms.CharField):
    """A gmina typed as a TERC code or picked from a datalist (``Name (type, pow. X) [TERC]``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"list": GMINA_DATALIST_ID, "autocomplete": "off"}))
        kwargs.setdefault("help_text", _("Kod TERC (7 cyfr) albo nazwa z podpowiedzi."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return str(value) if isinstance(value, Gmina) else value

    def clean(self, value: Any) -> Gmina | None:
        text = super().clean(value)
        return gmina_resolve(text) if text else None


class PPEForm(forms.ModelForm):
    gmina = GminaField(label=_("Gmina"))
    valid_from = forms.DateField(
        label=_("Należy do członka od"),
        required=False,
        widget=_date_widget(),
        help_text=_("Puste: od daty przystąpienia członka."),
    )

    class Meta:
        model = MeteringPoint
        fields = PPE_FIELDS
        widgets = {"tariff_group": forms.TextInput(attrs={"list": "tariff-groups"})}

    def __init__(
        self, *args: Any, cluster: Cluster, dso_choices: list[tuple[Any, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster
        if dso_choices is not None:
            self.fields["dso"].choices = dso_choices  # one query for all rows of the formset
        self.fields["dso"].initial = cluster.dso_id
        self.fields["voltage_level"].initial = "nN"
        self.fields["annual_demand_kwh"].help_text = _("Szacunek, dopóki nie ma danych pomiarowych.")
        if self.instance.pk:
            self.initial["gmina"] = str(self.instance.gmina)
            membership_from = getattr(self.instance, "current_from", None)
            if membership_from:
                self.initial["valid_from"] = membership_from

    def clean_code(self) -> str:
        return (self.cleaned_data.get("code") or "").replace(" ", "").upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code, dso = data.get("code"), data.get("dso")
        if code and dso and "code" not in self.errors:
            try:
                data["code"] = ppe_code_clean(code=code, dso=dso, cluster_id=self.cluster.pk, ppe_id=self.instance.pk).code
            except ValidationError as exc:
                self.add_error(None, exc)
        # The area rule is checked for all rows of the page together (BasePPEFormSet.clean).
        return data

    def candidate(self) -> PPECandidate | None:
        data = getattr(self, "cleaned_data", {})
        if not all(data.get(k) for k in ("code", "gmina", "dso", "voltage_level")):
            return None
        return PPECandidate(
            code=data["code"], gmina=data["gmina"], dso=data["dso"], voltage_level=data["voltage_level"],
            ppe_id=self.instance.pk,
        )


class BasePPEFormSet(BaseModelFormSet):
    """PPE rows of one member: codes unique across rows, and all rows together inside the area.

    The area rule is evaluated once for every row of the page; each error goes to the
    row whose PPE it names.
    """

    def __init__(self, *args: Any, cluster: Cluster, **kwargs: Any) -> None:
        self.cluster = cluster
        super().__init__(*args, **kwargs)
        self.form_kwargs.setdefault("cluster", cluster)
        self.form_kwargs.setdefault("dso_choices", [("", "---------"), *((d.pk, str(d)) for d in DSO.objects.all())])

    def clean(self) -> None:
        super().clean()
        live = [f for f in self.forms if f.has_changed() or f.instance.pk]
        if any(f.errors for f in live):
            return
        seen: dict[str, PPEForm] = {}
        for form in live:
            code = form.cleaned_data.get("code")
            if code in seen:
                form.add_error("code", _("PPE %(code)s wpisano dwa razy.") % {"code": code})
            seen[code] = form
        candidates = [f.candidate() for f in live]
        if not live or None in candidates or any(f.errors for f in live):
            return
        unplaced = []
        for candidate, error in area.area_candidates_errors(cluster=self.cluster, candidates=candidates):
            form = next((f for f in live if candidate is not None and f.cleaned_data.get("code") == candidate.code), None)
            if form is not None:
                form.add_error(None, error)
            else:
                unplaced.append(error)
        if unplaced:
            raise ValidationError(unplaced)


def ppe_formset_class(*, extra: int = 1) -> type[BasePPEFormSet]:
    return modelformset_factory(MeteringPoint, form=PPEForm, formset=BasePPEFormSet, extra=extra, can_delete=False)


def member_ppes_queryset(member: Member | None, *, on: dt.date | None = None) -> QuerySet[MeteringPoint]:
    """The PPEs the member page edits: those whose membership with this member has not ended."""
    if member is None or member.pk is None:
        return MeteringPoint.objects.none()
    on = on or timezone.localdate()
    open_ = Q(memberships__member=member) & (Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=on))
    return (
        MeteringPoint.objects.filter(open_)
        .select_related("gmina", "dso")
        .annotate(current_from=Max("memberships__valid_from", filter=open_))
        .order_by("code")
    )


class GeneratorForm(forms.ModelForm):
    class Meta:
        model = Generator
        fields = GENERATOR_FIELDS
        widgets = {"commissioned_on": _date_widget()}


class StorageForm(forms.ModelForm):
    class Meta:
        model = StorageUnit
        fields = STORAGE_FIELDS


class _InstallationFormSet(BaseInlineFormSet):
    def rows(self) -> list[tuple[forms.ModelForm, bool]]:
        """(form, delete) for rows that carry data; untouched empty rows are left out."""
        out = []
        for form in self.forms:
            if not form.instance.pk and not form.has_changed():
                continue
            out.append((form, bool(self.can_delete and form.cleaned_data.get("DELETE"))))
        return out


GeneratorFormSet = inlineformset_factory(
    MeteringPoint, Generator, form=GeneratorForm, formset=_InstallationFormSet, extra=1, can_delete=True
)
StorageFormSet = inlineformset_factory(
    MeteringPoint, StorageUnit, form=StorageForm, formset=_InstallationFormSet, extra=1, can_delete=True
)


class PPETransferForm(forms.Form):
    to_member = forms.ModelChoiceField(label=_("Nowy członek"), queryset=Member.objects.none())
    on = forms.DateField(label=_("Od dnia"), widget=_date_widget())

    def __init__(self, *args: Any, ppe: MeteringPoint, current: Member | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = Member.objects.filter(cluster_id=ppe.cluster_id, left_on__isnull=True)
        if current is not None:
            members = members.exclude(pk=current.pk)
        self.fields["to_member"].queryset = members.order_by("name")
        # No date is offered: the coordinator types it, and confirms it on the next page.
        self.helper = FormHelper()
        self.helper.form_tag = False


class MemberLeaveForm(forms.Form):
    on = forms.DateField(label=_("Ostatni dzień członkostwa"), widget=_date_widget())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class PPERemoveForm(MemberLeaveForm):
    on = forms.DateField(label=_("Ostatni dzień PPE w klastrze"), widget=_date_widget())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The PPE page also holds the transfer form's "on": keep the element ids apart.
        kwargs.setdefault("auto_id", "id_remove_%s")
        super().__init__(*args, **kwargs)


class MembershipDatesForm(forms.Form):
    """New start and end of one membership of a PPE (an empty end: without an end)."""

    membership = forms.ModelChoiceField(label=_("Przynależność"), queryset=PPEMembership.objects.none())
    valid_from = forms.DateField(label=_("Nowy początek"), widget=_date_widget())
    valid_to = forms.DateField(
        label=_("Nowy koniec (włącznie)"), widget=_date_widget(), required=False,
        help_text=_("Puste pole: przynależność bez daty końca."),
    )

    def __init__(self, *args: Any, ppe: MeteringPoint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["membership"]
        field.queryset = ppe.memberships.select_related("member").order_by("-valid_from")
        field.label_from_instance = lambda m: (
            f"{m.member.name}: {period(m.valid_from, m.valid_to)}"
        )
        self.helper = FormHelper()
        self.helper.form_tag = False


class RegistryUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Plik rejestru"),
        help_text=_("Arkusz .xlsx, archiwum .zip z plikami CSV (członkowie, PPE, instalacje) albo jeden plik CSV "
                    "jednej z tabel, rozpoznawany po nazwie (np. members.csv) albo po nagłówku."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xlsx,.csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".zip", ".xlsx", ".csv")):
            raise ValidationError(
                _("Plik %(name)s: dozwolone są pliki .zip, .xlsx i .csv.") % {"name": upload.name}
            )
        # Checked from the upload's size before anything reads it (OKE_REGISTRY_UPLOAD_MAX_MB).
        limit = settings.OKE_REGISTRY_UPLOAD_MAX_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(
                _("Plik %(name)s ma %(size)s MB, więcej niż limit %(mb)d MB.")
                % {"name": upload.name, "size": number(upload.size / 1024 / 1024, 1), "mb": limit}
            )
        return upload


class ClusterRegisterForm(forms.ModelForm):
    """The cluster's entry in the URE register of energy clusters and the day its support starts."""

    class Meta:
        model = Cluster
        fields = ["ure_register_number", "ure_register_date", "support_start"]
        widgets = {
            "ure_register_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "support_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        number, entered = (data.get("ure_register_number") or "").strip(), data.get("ure_register_date")
        if bool(number) != bool(entered):
            raise ValidationError(
                _("Wpis do rejestru klastrów energii URE to numer i data razem: podaj oba albo żadne (pola „%(number)s” i „%(date)s”).")
                % {"number": Cluster._meta.get_field("ure_register_number").verbose_name,
                   "date": Cluster._meta.get_field("ure_register_date").verbose_name}
            )
        start = data.get("support_start")
        if start and entered and start < entered:
            self.add_error("support_start", _("Początek wsparcia nie może być wcześniejszy niż data wpisu do rejestru (%(day)s).")
                           % {"day": entered.strftime("%d.%m.%Y")})
        data["ure_register_number"] = number
        return data


class BillingRegimeForm(forms.Form):
    """A new billing regime of a PPE from a day on (``members.services.regimes.ppe_regime_add``)."""

    regime = forms.ChoiceField(label=_("Sposób rozliczenia"), choices=BillingRegime.choices)
    valid_from = forms.DateField(
        label=_("Od dnia"), widget=_date_widget(),
        help_text=_("Dotychczasowy sposób rozliczenia kończy się dzień wcześniej."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_regime_%s")
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
