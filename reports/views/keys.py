"""Static allocation keys for coordinator staff (they never need the admin for this): dated sets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members.decorators import cluster_staff_required
from members.models import Cluster, Member
from okeportal.formatting import day
from reports.settlement.keys import (
    allocation_key_set_dates,
    allocation_key_set_in_force,
    allocation_keys_pct,
    allocation_keys_set,
)


def _field(member: Member) -> str:
    return f"share-{member.pk}"


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@cluster_staff_required
@require_http_methods(["GET", "POST"])
def allocation_keys(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    today = timezone.localdate()
    errors: list[str] = []
    raw_from = request.POST.get("valid_from") if request.method == "POST" else request.GET.get("from")
    valid_from = _date(raw_from)
    if valid_from is None:
        if raw_from:
            errors.append(_("Pole „obowiązuje od”: „%(value)s” nie jest datą (RRRR-MM-DD).") % {"value": raw_from[:20]})
        valid_from = allocation_key_set_in_force(cluster=cluster, on=today) or today.replace(day=1)
    members = list(
        Member.objects.filter(cluster=cluster)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=valid_from)).order_by("name")
    )
    shown = allocation_key_set_in_force(cluster=cluster, on=valid_from)
    current = allocation_keys_pct(cluster=cluster, on=valid_from)
    values = {m.pk: str(current.get(m.pk, Decimal(0))) for m in members}
    if request.method == "POST":
        shares: dict[int, Decimal] = {}
        for m in members:
            raw = request.POST.get(_field(m), "").strip().replace(" ", "").replace(",", ".") or "0"
            values[m.pk] = request.POST.get(_field(m), "")
            try:
                shares[m.pk] = Decimal(raw).quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors.append(_("%(member)s: „%(value)s” nie jest liczbą.") % {"member": m.name, "value": raw})
        if not errors:
            try:
                allocation_keys_set(cluster=cluster, shares_pct=shares, valid_from=valid_from)
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(request, _("Zapisano klucze podziału obowiązujące od %(date)s.") % {
                    "date": day(valid_from)})
                return redirect(reverse("reports:allocation-keys", kwargs={"cluster_slug": cluster.slug}) + f"?from={valid_from:%Y-%m-%d}")
    rows = [{"member": m, "field": _field(m), "value": values[m.pk]} for m in members]
    return render(
        request,
        "reports/allocation_keys.html",
        {
            "cluster": cluster, "rows": rows, "errors": errors, "nav": "settlements", "valid_from": valid_from,
            "shown_from": shown, "set_dates": allocation_key_set_dates(cluster=cluster),
            "in_force_today": allocation_key_set_in_force(cluster=cluster, on=today),
        },
        status=400 if errors else 200,
    )


urlpatterns = [path("settlements/allocation-keys/", allocation_keys, name="allocation-keys")]
