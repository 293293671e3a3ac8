"""Forms of the money pages (settlements)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.models import Cluster
from okeportal.formatting import day
from reports.models import AllocationKey, AllocationMethod, SettlementRun
from reports.settlement.keys import allocation_keys_period_check

MONTHS = [
    (1, _("styczeń")), (2, _("luty")), (3, _("marzec")), (4, _("kwiecień")), (5, _("maj")), (6, _("czerwiec")),
    (7, _("lipiec")), (8, _("sierpień")), (9, _("wrzesień")), (10, _("październik")), (11, _("listopad")), (12, _("grudzień")),
]
QUARTERS = [(1, "I"), (2, "II"), (3, "III"), (4, "IV")]
# Clusters exist in Polish law since 2010 (art. 38a); earlier periods are a typo.
FIRST_YEAR = 2010
MAX_CUSTOM_DAYS = 366

OVERRIDE_HELP = _(
    "Domyślnie rozliczenie zostaje przerwane, gdy brakuje danych pomiarowych powyżej progu "
    "kompletności z zasad rozliczenia; pojawi się wtedy lista PPE i godzin bez danych. "
    "Zaznacz tylko wtedy, gdy braków nie da się uzupełnić: brakujące godziny zostaną "
    "policzone jako zero, a lista braków zostanie zapisana przy rozliczeniu."
)

PROVISIONAL_HELP = _(
    "Okres, który się jeszcze nie skończył, można rozliczyć tylko wstępnie: brakuje danych za pozostałe dni, "
    "a rozliczenie zostanie oznaczone jako „wstępne”. Po końcu okresu przelicz je ponownie."
)


def period_bounds(*, kind: str, year: int, month: int | None = None, quarter: int | None = None) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of a calendar month, quarter or year."""
    if kind == SettlementRun.PeriodKind.MONTH:
        first_month, last_month = month, month
    elif kind == SettlementRun.PeriodKind.QUARTER:
        first_month, last_month = 3 * quarter - 2, 3 * quarter
    else:
        first_month, last_month = 1, 12
    return dt.date(year, first_month, 1), dt.date(year, last_month, calendar.monthrange(year, last_month)[1])


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class SettlementRequestForm(forms.Form):
    period_kind = forms.ChoiceField(label=_("Okres"), choices=SettlementRun.PeriodKind.choices, initial="month")
    year = forms.TypedChoiceField(label=_("Rok"), coerce=int)
    month = forms.TypedChoiceField(label=_("Miesiąc"), choices=MONTHS, coerce=int, required=False)
    quarter = forms.TypedChoiceField(label=_("Kwartał"), choices=QUARTERS, coerce=int, required=False)
    start = forms.DateField(label=_("Od"), required=False, widget=DateInput())
    end = forms.DateField(label=_("Do (włącznie)"), required=False, widget=DateInput())
    allocation = forms.ChoiceField(
        label=_("Podział korzyści między członków"),
        choices=AllocationMethod.choices,
        initial=AllocationMethod.PRO_RATA,
        widget=forms.RadioSelect,
    )
    override_completeness = forms.BooleanField(
        label=_("Rozlicz mimo braków w danych pomiarowych"), required=False, help_text=OVERRIDE_HELP
    )
    confirm_provisional = forms.BooleanField(
        label=_("Rozlicz wstępnie okres, który jeszcze trwa"), required=False, help_text=PROVISIONAL_HELP
    )

    def __init__(self, *args: Any, cluster: Cluster, today: dt.date | None = None, **kwargs: Any) -> None:
        self.cluster = cluster
        self.today = today or timezone.localdate()
        last_month = self.today.replace(day=1) - dt.timedelta(days=1)
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {
            "year": last_month.year,
            "month": last_month.month,
            "quarter": (last_month.month - 1) // 3 + 1,
            **kwargs["initial"],
        }
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in range(self.today.year, FIRST_YEAR - 1, -1)]
        # "By static keys" only once the cluster has a key set; whether one is in force for the chosen
        # period is checked in clean() (the set in force on its first day, unchanged throughout).
        self.has_keys = AllocationKey.objects.filter(cluster=cluster).exists()
        if not self.has_keys:  # not offered; a posted "static" is answered in clean() with the reason
            self.fields["allocation"].widget.choices = [c for c in AllocationMethod.choices if c[0] != AllocationMethod.STATIC]
        self.helper = FormHelper()
        self.helper.form_id = "settlement-form"
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(
                Column("period_kind", css_class="col-12"),
                Column("year", css_class="col-6", data_kinds="month quarter year"),
                Column("month", css_class="col-6", data_kinds="month"),
                Column("quarter", css_class="col-6", data_kinds="quarter"),
                Column("start", css_class="col-6", data_kinds="custom"),
                Column("end", css_class="col-6", data_kinds="custom"),
            ),
            Div("allocation", css_class="mb-2"),
            "override_completeness",
            "confirm_provisional",
            HTML(format_html('<p class="small text-body-secondary">{}</p>', _("Obliczenie trwa w tle; po wysłaniu zobaczysz postęp."))),
        )
        self.helper.add_input(Submit("submit", _("Oblicz rozliczenie"), css_class="btn-success"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("period_kind")
        if not kind or data.get("year") is None:
            return data
        if kind == SettlementRun.PeriodKind.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", _("Podaj pierwszy dzień okresu."))
            if end is None:
                self.add_error("end", _("Podaj ostatni dzień okresu."))
            if start is None or end is None:
                return data
            if end < start:
                raise ValidationError(_("Koniec okresu (%(end)s) jest przed jego początkiem (%(start)s).") % {"start": start, "end": end})
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                raise ValidationError(_("Okres dowolny może trwać najwyżej rok (%(days)s dni).") % {"days": MAX_CUSTOM_DAYS})
            if start.year < FIRST_YEAR:
                raise ValidationError(_("Okres nie może zaczynać się przed %(year)s r.") % {"year": FIRST_YEAR})
        else:
            missing = {"month": "month", "quarter": "quarter"}.get(kind)
            if missing and data.get(missing) is None:
                self.add_error(missing, _("To pole jest wymagane."))
                return data
            start, end = period_bounds(kind=kind, year=data["year"], month=data.get("month"), quarter=data.get("quarter"))
        # The current period may be settled provisionally; a period that has not begun has no data.
        if start > self.today:
            raise ValidationError(_("Okres zaczyna się w przyszłości (%(start)s): nie ma jeszcze danych do rozliczenia.") % {"start": day(start)})
        if end >= self.today and not data.get("confirm_provisional"):
            self.add_error("confirm_provisional", _(
                "Okres %(start)s – %(end)s jeszcze się nie skończył (ostatni dzień: %(end)s). Zaznacz to pole, aby "
                "rozliczyć go wstępnie, albo wybierz okres zakończony."
            ) % {"start": day(start), "end": day(end)})
        if data.get("allocation") == AllocationMethod.STATIC and not self.has_keys:
            self.add_error("allocation", _("Klaster nie ma stałych kluczy podziału; wprowadź je na stronie „Klucze podziału” albo wybierz podział proporcjonalny."))
        elif data.get("allocation") == AllocationMethod.STATIC:
            try:
                allocation_keys_period_check(cluster=self.cluster, period_start=start, period_end=end)
            except ValidationError as exc:
                self.add_error("allocation", exc)
        data["period_start"], data["period_end"] = start, end
        return data


class SettlementRerunForm(forms.Form):
    """Re-run a failed settlement for the same period, usually with the completeness override."""

    override_completeness = forms.BooleanField(required=False, initial=True)


class NewValueForm(forms.Form):
    valid_from = forms.DateField(label=_("nowa wartość obowiązuje od"), widget=forms.DateInput(attrs={"type": "date"}))


class NewValueForms:
    """The "new value from date" step for a dated row, shared by the admin and the rates page.

    A date plus the row's own value fields, validated by the row's admin form (the row's
    constraints: non-negative rates, percentages; the dates are checked by
    ``tariff_row_new_value``, which ends the old row first); ``apply`` calls it and turns
    its refusal into a form error.
    """

    def __init__(self, *, row: Any, form_class: type[forms.ModelForm], data: Any = None, localized: bool = False) -> None:
        model = type(row)
        values_form_class = forms.modelform_factory(
            model, form=form_class, exclude=("valid_from", "valid_to"), localized_fields="__all__" if localized else None
        )
        self.row = row
        self.date_form = NewValueForm(data)
        # The new value names its own source: the old row's does not vouch for it.
        self.values_form = values_form_class(data, initial=forms.model_to_dict(row) | {"source": "", "verified": False})
        source = self.values_form.fields["source"]
        source.required = True
        source.error_messages["required"] = _(
            "Podaj źródło nowej wartości: tytuł dokumentu, adres URL albo „przykład z prezentacji koordynatora”."
        )

    def apply(self) -> tuple[Any, list[SettlementRun]] | None:
        """The new row and the runs it outdates, or None when the input is refused (errors on the forms)."""
        from reports.settlement.tariffs import tariff_row_new_value

        if not (self.date_form.is_valid() and self.values_form.is_valid()):
            return None
        fields = {f.name for f in type(self.row)._meta.concrete_fields}
        try:
            return tariff_row_new_value(
                row=self.row, valid_from=self.date_form.cleaned_data["valid_from"],
                values={k: v for k, v in self.values_form.cleaned_data.items() if k in fields},
            )
        except ValidationError as exc:
            self.date_form.add_error(None, exc)
            return None
