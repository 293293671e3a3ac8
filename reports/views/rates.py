"""Rates, fees, tiers and rules in the portal: everyone on the coordinator side sees what is in force and
what is locked; administrators give a row a new value from a date without going to the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from members.permissions import clusters_for_user
from okeportal.formatting import day, period
from reports.admin import DiscountTierForm, DistributionRateForm, ExemptFeeForm, SettlementRuleForm, TariffZoneHoursForm
from reports.forms import NewValueForms
from reports.models import DiscountTier, DistributionRate, ExemptFee, RateUse, SettlementRule, TariffZoneHours
from reports.settlement.tariffs import KIND_OF
from reports.settlement.zones import zone_schedules_check

KINDS: dict[str, tuple[type, type[forms.ModelForm], Any]] = {
    RateUse.Kind.RATE: (DistributionRate, DistributionRateForm, _("Stawki dystrybucyjne")),
    RateUse.Kind.FEE: (ExemptFee, ExemptFeeForm, _("Opłaty zwolnione")),
    RateUse.Kind.TIER: (DiscountTier, DiscountTierForm, _("Progi upustu")),
    RateUse.Kind.RULE: (SettlementRule, SettlementRuleForm, _("Zasady rozliczenia")),
    RateUse.Kind.ZONE: (TariffZoneHours, TariffZoneHoursForm, _("Godziny stref czasowych")),
}
WITH_DSO = (DistributionRate, TariffZoneHours)


def _staff_or_404(request: HttpRequest) -> None:
    if not (request.user.is_superuser or clusters_for_user(request.user).exists()):
        raise Http404


def _uses(user: Any) -> dict[tuple[str, int], int]:
    """How many settlement runs of the user's clusters used each row (one query)."""
    rows = (
        RateUse.objects.filter(run__cluster__in=clusters_for_user(user))
        .values("kind", "row_id").annotate(n=Count("run_id", distinct=True))
    )
    return {(r["kind"], r["row_id"]): r["n"] for r in rows}


def _locked(kind: str) -> set[int]:
    return set(RateUse.objects.filter(kind=kind).values_list("row_id", flat=True).distinct())


@login_required
@require_GET
def rate_list(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    uses = _uses(request.user)
    sections = []
    for kind, (model, _form, title) in KINDS.items():
        locked = _locked(kind)
        objects = list(model.objects.order_by("-valid_from", "pk").select_related(*(["dso"] if model in WITH_DSO else [])))
        rows = [{"row": row, "locked": row.pk in locked, "runs": uses.get((kind, row.pk), 0)} for row in objects]
        # a zone schedule with an hour in no zone or in two: a run of that group would be refused
        problems = zone_schedules_check(objects) if model is TariffZoneHours else []
        sections.append({"kind": kind, "title": title, "rows": rows, "problems": problems})
    clusters = list(clusters_for_user(request.user)[:2])
    # A coordinator of one cluster keeps that cluster's navigation on this global page.
    cluster = clusters[0] if len(clusters) == 1 else None
    return render(request, "reports/rates/list.html", {"sections": sections, "nav": "rates", "cluster": cluster})


@login_required
@require_http_methods(["GET", "POST"])
def rate_new_value(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    if not request.user.is_superuser or kind not in KINDS:
        raise Http404
    model, form_class, _title = KINDS[kind]
    row = get_object_or_404(model, pk=pk)
    # Localised fields: a Polish administrator types 250,00.
    step = NewValueForms(row=row, form_class=form_class, data=request.POST if request.method == "POST" else None, localized=True)
    done = step.apply() if request.method == "POST" else None
    if done is not None:
        new_row, affected = done
        start = day(new_row.valid_from)
        if affected:
            runs = ", ".join(f"{r.cluster.name} {period(r.period_start, r.period_end)} v{r.version}" for r in affected)
            messages.warning(request, _("Nowa wartość obowiązuje od %(start)s. Nieaktualne rozliczenia (%(n)d): %(runs)s")
                             % {"start": start, "n": len(affected), "runs": runs})
        else:
            messages.success(request, _("Nowa wartość obowiązuje od %(start)s; żadne rozliczenie nie jest przez to nieaktualne.")
                             % {"start": start})
        return redirect("rates:list")
    return render(request, "reports/rates/new_value.html", {
        "row": row, "kind": kind, "date_form": step.date_form, "values_form": step.values_form,
        "runs": list(RateUse.objects.filter(kind=KIND_OF[model], row_id=row.pk).select_related("run__cluster")
                     .order_by("-run__period_start")[:50]),
    })


app_name = "rates"
urlpatterns = [
    path("", rate_list, name="list"),
    path("<str:kind>/<int:pk>/new-value/", rate_new_value, name="new-value"),
]
