"""Coordinator page: which members confirmed the consent texts in force."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from members.decorators import cluster_staff_required
from members.models import Cluster
from members.services.consents import consent_status_for_cluster
from members.views.common import page


@cluster_staff_required
@require_GET
def consent_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Current members with the status of each text in force; those still to confirm first."""
    status = consent_status_for_cluster(cluster=cluster)
    status["rows"].sort(key=lambda r: r["complete"])  # stable: by name within each group
    return page(request, "members/consents.html", cluster=cluster, nav="members", **status)
