"""Static allocation keys for coordinator staff (they never need the admin for this)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members.decorators import cluster_staff_required
from members.models import Cluster, Member
from reports.services.settlement.keys import allocation_keys_pct, allocation_keys_set


def _field(member: Member) -> str:
    return f"share-{member.pk}"


@cluster_staff_required
@require_http_methods(["GET", "POST"])
def allocation_keys(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    today = timezone.localdate()
    members = list(
        Member.objects.filter(cluster=cluster).filter(Q(left_on__isnull=True) | Q(left_on__gte=today)).order_by("name")
    )
    current = allocation_keys_pct(cluster=cluster)
    values = {m.pk: str(current.get(m.pk, Decimal(0))) for m in members}
    errors: list[str] = []
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
                allocation_keys_set(cluster=cluster, shares_pct=shares)
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(request, _("Zapisano klucze podziału."))
                return redirect("reports:allocation-keys", cluster_slug=cluster.slug)
    rows = [{"member": m, "field": _field(m), "value": values[m.pk]} for m in members]
    return render(
        request,
        "reports/allocation_keys.html",
        {"cluster": cluster, "rows": rows, "errors": errors, "nav": "settlements"},
        status=400 if errors else 200,
    )


urlpatterns = [path("settlements/allocation-keys/", allocation_keys, name="allocation-keys")]
