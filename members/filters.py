"""Search and filters of the member and PPE lists (django-filter over the selectors' querysets)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from members.models import Cluster, Gmina, LegalForm, Member, MeteringPoint, VoltageLevel
from members.polish import polish_order
from members.selectors import gminas_ordered, member_search, ppe_search


class ManyOptionsSelect(forms.Select):
    """A ``<select>`` whose options are joined in Python, not rendered one template each.

    The PPE list's member filter has an option per member: with Django's option
    template 1,000 members cost ~40 ms a page, joined here ~2 ms. Same markup.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        selected = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "", "<option value=\"{}\"{}>{}</option>",
            ((str(v), SafeString(" selected") if str(v) in selected else "", label) for v, label in self.choices),
        )
        return format_html("<select name=\"{}\"{}>{}</select>", name, flatatt(self.build_attrs(self.attrs, attrs)), options)


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Szukaj"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("nazwa, symbol, NIP, kod PPE"), "type": "search"}),
    )
    legal_form = django_filters.ChoiceFilter(label=_("Forma prawna"), choices=LegalForm.choices, empty_label=_("wszystkie"))
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[("active", _("aktywni")), ("left", _("wystąpili"))],
        method="filter_status",
        empty_label=_("wszyscy"),
    )
    has_generation = django_filters.BooleanFilter(
        label=_("Wytwarzanie"),
        method="filter_generation",
        widget=forms.Select(choices=[("", _("wszyscy")), ("true", _("z wytwarzaniem")), ("false", _("bez wytwarzania"))]),
    )

    class Meta:
        model = Member
        fields: list[str] = []

    def filter_search(self, qs: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        # Case and diacritics folded: "SPÓŁDZIELNIA" and "spoldzielnia" find "Spółdzielnia Energetyczna".
        return member_search(qs, value)

    def filter_status(self, qs: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        today = timezone.localdate()
        if value == "active":
            return qs.filter(Q(left_on__isnull=True) | Q(left_on__gte=today))
        if value == "left":
            return qs.filter(left_on__lt=today)
        return qs

    def filter_generation(self, qs: QuerySet[Member], name: str, value: bool | None) -> QuerySet[Member]:
        if value is None:
            return qs
        return qs.filter(installed_kw__gt=0) if value else qs.filter(installed_kw=0)


class PPEFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Szukaj"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("kod PPE, adres, gmina"), "type": "search"}),
    )
    gmina = django_filters.ModelChoiceFilter(label=_("Gmina"), queryset=Gmina.objects.none(), empty_label=_("wszystkie"))
    member = django_filters.ModelChoiceFilter(
        label=_("Członek"), queryset=Member.objects.none(), method="filter_member", empty_label=_("wszyscy"),
        widget=ManyOptionsSelect,
    )
    voltage_level = django_filters.ChoiceFilter(label=_("Napięcie"), choices=VoltageLevel.choices, empty_label=_("wszystkie"))

    class Meta:
        model = MeteringPoint
        fields: list[str] = []

    def __init__(self, *args: Any, cluster: Cluster, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Both pickers in Polish alphabetical order (Łaziska after Lędziny, Żory after Zabrze).
        self.filters["gmina"].queryset = gminas_ordered(
            Gmina.objects.filter(terc__in=MeteringPoint.objects.filter(cluster=cluster).values("gmina_id"))
        )
        self.filters["member"].queryset = Member.objects.filter(cluster=cluster).order_by(polish_order("name"), "pk")

    def filter_search(self, qs: QuerySet[MeteringPoint], name: str, value: str) -> QuerySet[MeteringPoint]:
        # Code, address and gmina, case and diacritics folded ("lodz" finds PPEs in Łódź).
        return ppe_search(qs, value)

    def filter_member(self, qs: QuerySet[MeteringPoint], name: str, value: Member | None) -> QuerySet[MeteringPoint]:
        return qs.filter(member_id_on=value.pk) if value else qs
