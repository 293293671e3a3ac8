"""Staff actions on the cluster's jobs: cancel and retry (settlement runs, meter imports, statement batches).

POST only, cluster staff only, the job looked up within the cluster (404 across
it); the generic services live in ``okeportal.jobs``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.decorators import cluster_staff_required
from members.models import Cluster
from okeportal.jobs import job_cancel, job_retry, job_send_failed, queue_unavailable_message
from reports.models import ReadingImport, SettlementRun
from reports.statements.services import statements_cancel

# kind (as registered in okeportal.jobs) → the model and the page that shows one job
JOB_PAGES: dict[str, tuple[type[models.Model], str]] = {
    "settlement": (SettlementRun, "reports:settlement-detail"),
    "reading_import": (ReadingImport, "reports:import-detail"),
}


def _job_or_404(cluster: Cluster, kind: str, ids: dict[str, int]) -> tuple[models.Model, str]:
    """The job named by the URL (``run_id`` or ``pk``) within the cluster, and its page."""
    model, page = JOB_PAGES[kind]
    (pk,) = ids.values()
    return get_object_or_404(model, cluster=cluster, pk=pk), page


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for text in exc.messages:
        messages.error(request, text)


@cluster_staff_required
@require_POST
def job_cancel_view(request: HttpRequest, cluster: Cluster, *, kind: str, **ids: int) -> HttpResponse:
    job, page = _job_or_404(cluster, kind, ids)
    try:
        job_cancel(job=job, user=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Anulowano zadanie: %(job)s. Nic z niego nie zostało zapisane.") % {"job": job})
    return redirect(page, cluster.slug, job.pk)


@cluster_staff_required
@require_POST
def job_retry_view(request: HttpRequest, cluster: Cluster, *, kind: str, **ids: int) -> HttpResponse:
    job, page = _job_or_404(cluster, kind, ids)
    try:
        queued = job_retry(job=job, user=request.user)
    except ValidationError as exc:
        _errors(request, exc)
        return redirect(page, cluster.slug, job.pk)
    if job_send_failed(job=queued):
        messages.error(request, queue_unavailable_message())
    else:
        messages.success(request, _("Ponowiono zadanie: %(job)s (w kolejce).") % {"job": queued})
    return redirect(page, cluster.slug, queued.pk)


@cluster_staff_required
@require_POST
def statements_cancel_view(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = get_object_or_404(SettlementRun, cluster=cluster, pk=run_id)
    try:
        count = statements_cancel(run=run, user=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(
            request, _("Anulowano przygotowanie zestawień (%(count)d); „Generuj ponownie” wznowi je.") % {"count": count}
        )
    return redirect("reports:statement-list", cluster_slug=cluster.slug, run_id=run.pk)


urlpatterns = [
    path("settlements/<int:run_id>/cancel/", job_cancel_view, {"kind": "settlement"}, name="settlement-cancel"),
    path("settlements/<int:run_id>/retry/", job_retry_view, {"kind": "settlement"}, name="settlement-retry"),
    path("readings/<int:pk>/cancel/", job_cancel_view, {"kind": "reading_import"}, name="import-cancel"),
    path("readings/<int:pk>/retry/", job_retry_view, {"kind": "reading_import"}, name="import-retry"),
    path("settlements/<int:run_id>/statements/cancel/", statements_cancel_view, name="statements-cancel"),
]
