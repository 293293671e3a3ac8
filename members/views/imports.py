"""Registry import pages: upload (queues a background job), progress, cancel / retry, examples."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from members.decorators import cluster_staff_required
from members.forms import RegistryUploadForm
from members.models import Cluster, RegistryImport
from members.services import imports as registry_imports
from members.views.common import page
from okeportal import jobs
from okeportal.jobs import JobStatus

RECENT_IMPORTS = 10
KIND_LABELS = {
    "members": gettext_lazy("członkowie"),
    "metering_points": gettext_lazy("PPE"),
    "memberships": gettext_lazy("przynależność PPE"),
    "generators": gettext_lazy("jednostki wytwórcze"),
    "storage_units": gettext_lazy("magazyny energii"),
}


def examples_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "examples" / "registry"


@cluster_staff_required
def registry_import(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    if request.method == "POST":
        form = RegistryUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            entry = registry_imports.registry_import_create(cluster=cluster, file=upload, name=upload.name, user=request.user)
            if jobs.job_send_failed(job=entry):
                messages.error(request, jobs.queue_unavailable_message())
            else:
                messages.info(request, _("Plik %(name)s przyjęty, import w toku.") % {"name": upload.name})
            return redirect("members:registry-import-detail", cluster_slug=cluster.slug, pk=entry.pk)
    else:
        form = RegistryUploadForm()
    return page(
        request, "members/registry_import.html", cluster=cluster, nav="members", form=form,
        imports=cluster.registry_imports.select_related("created_by").defer("errors", "summary")[:RECENT_IMPORTS],
        examples=_example_names(),
    )


def _import(cluster: Cluster, pk: int) -> RegistryImport:
    return get_object_or_404(RegistryImport.objects.select_related("created_by"), cluster=cluster, pk=pk)


@cluster_staff_required
def registry_import_detail(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    result = _import(cluster, pk)
    summary = result.summary or {}
    counts = [
        (label, *(summary.get(key, {}).get(kind, 0) for key in ("created", "updated", "unchanged")))
        for kind, label in KIND_LABELS.items()
    ]
    return page(
        request, "members/registry_import_detail.html", cluster=cluster, nav="members", result=result,
        running=result.status in jobs.ACTIVE, can_retry=result.status in jobs.RETRYABLE and bool(result.file),
        counts=counts if result.status == JobStatus.DONE else [], ignored=summary.get("ignored", []),
        form=RegistryUploadForm(), examples=_example_names(),
    )


@cluster_staff_required
def registry_import_progress(request: HttpRequest, cluster: Cluster, pk: int) -> JsonResponse:
    row = get_object_or_404(
        RegistryImport.objects.only("status", "progress", "message", "message_data", "cluster_id"), cluster=cluster, pk=pk
    )
    return JsonResponse({
        "status": row.status,
        "status_display": row.get_status_display(),
        "progress": row.progress,
        "message": row.message_text,
        "done": row.status in jobs.FINISHED,
    })


@cluster_staff_required
@require_POST
def registry_import_cancel(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    entry = _import(cluster, pk)
    try:
        jobs.job_cancel(job=entry, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Import %(name)s anulowano; niczego nie zapisano.") % {"name": entry.file_name})
    return redirect("members:registry-import-detail", cluster_slug=cluster.slug, pk=entry.pk)


@cluster_staff_required
@require_POST
def registry_import_retry(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    entry = _import(cluster, pk)
    try:
        entry = jobs.job_retry(job=entry, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if jobs.job_send_failed(job=entry):
            messages.error(request, jobs.queue_unavailable_message())
        else:
            messages.info(request, _("Import %(name)s ponownie w kolejce.") % {"name": entry.file_name})
    return redirect("members:registry-import-detail", cluster_slug=cluster.slug, pk=entry.pk)


def _example_names() -> list[str]:
    folder = examples_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@cluster_staff_required
def registry_examples(request: HttpRequest, cluster: Cluster) -> FileResponse:
    """The example registry files (docs/examples/registry) as one zip."""
    names = _example_names()
    if not names:
        raise Http404(_("Brak przykładowych plików rejestru."))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(examples_dir() / name, arcname=name)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename="rejestr-przyklad.zip", content_type="application/zip")
