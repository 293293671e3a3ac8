from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.decorators import cluster_staff_required
from members.forms import RegistryUploadForm
from members.models import Cluster, RegistryImport
from members.services import imports as registry_imports
from members.views.common import page

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
            report = registry_imports.registry_import(cluster=cluster, source=upload, user=request.user)
            if report.ok:
                messages.success(request, _("Zaimportowano rejestr z pliku %(name)s.") % {"name": upload.name})
            else:
                messages.error(
                    request,
                    _("Plik %(name)s odrzucono (błędy: %(n)s); niczego nie zapisano.")
                    % {"name": upload.name, "n": len(report.errors)},
                )
            return redirect("members:registry-import-detail", cluster_slug=cluster.slug, pk=report.registry_import_id)
    else:
        form = RegistryUploadForm()
    return page(
        request, "members/registry_import.html", cluster=cluster, nav="members", form=form,
        imports=cluster.registry_imports.select_related("created_by")[:RECENT_IMPORTS],
        examples=_example_names(),
    )


@cluster_staff_required
def registry_import_detail(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    result = get_object_or_404(RegistryImport.objects.select_related("created_by"), cluster=cluster, pk=pk)
    summary = result.summary or {}
    counts = [
        (label, *(summary.get(key, {}).get(kind, 0) for key in ("created", "updated", "unchanged")))
        for kind, label in KIND_LABELS.items()
    ]
    return page(
        request, "members/registry_import_detail.html", cluster=cluster, nav="members", result=result,
        counts=counts if result.status == RegistryImport.Status.DONE else [], ignored=summary.get("ignored", []),
        form=RegistryUploadForm(), examples=_example_names(),
    )


def _example_names() -> list[str]:
    folder = examples_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@cluster_staff_required
def registry_examples(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """The example registry files (docs/examples/registry) as one zip."""
    names = _example_names()
    if not names:
        raise Http404(_("Brak przykładowych plików rejestru."))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(examples_dir() / name, arcname=name)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="rejestr-przyklad.zip"'
    return response
