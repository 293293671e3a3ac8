from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from members.decorators import cluster_staff_required
from members.forms import ClusterRegisterForm
from members.models import Cluster
from members.services.conditions import cluster_status_cached
from members.views.common import page

_DECIMAL_KEYS = ("installed_mw", "renewable_mw", "storage_mw", "storage_mwh", "declared_demand_mwh")


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@cluster_staff_required
def dashboard(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Area verdict, statutory conditions and headline counts (the cached ``cluster_status``)."""
    today = timezone.localdate()
    status: dict[str, Any] = cluster_status_cached(cluster=cluster, on=today)
    # The status is JSON-shaped (decimal strings); the page formats numbers for the locale.
    for key in _DECIMAL_KEYS:
        status[key] = _decimal(status[key])
    conditions = [
        {**c, "value": _decimal(c["value"]), "threshold": _decimal(c["threshold"])} for c in status["conditions"]
    ]
    return page(
        request,
        "members/dashboard.html",
        cluster=cluster,
        nav="dashboard",
        today=today,
        status=status,
        conditions=conditions,
        estimated=[c for c in conditions if c["estimated"]],
    )


@cluster_staff_required
def cluster_register(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Edit the cluster's URE register entry and the day its support starts (settlements evaluate eligibility with them)."""
    form = ClusterRegisterForm(request.POST or None, instance=cluster)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Zapisano wpis do rejestru klastrów energii URE."))
        return redirect("members:dashboard", cluster.slug)
    return page(request, "members/cluster_register.html", cluster=cluster, nav="dashboard", form=form)
