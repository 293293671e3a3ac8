from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from members.decorators import cluster_staff_required
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
