"""Meter-data pages: upload and imports, import progress, completeness per month."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.decorators import cluster_staff_required
from members.models import Cluster, MeteringPoint, PPEMembership
from members.views.common import page
from okeportal.formatting import number
from okeportal.jobs import ACTIVE, job_send_failed, queue_unavailable_message
from reports.metering.imports import reading_import_create
from reports.metering.parsers.common import YEAR_MAX, YEAR_MIN
from reports.metering.selectors import completeness_cached, reading_imports_recent
from reports.models import ReadingImport


class ReadingUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("plik z danymi pomiarowymi"),
        help_text=gettext_lazy("CSV ogólny (ppe_code, start, import_kwh, export_kwh), eksport Tauron eLicznik "
                               "albo produkcja jednostek wytwórczych (ppe_code, generator, start, production_kwh)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt"}),
    )
    format = forms.ChoiceField(label=gettext_lazy("format"), choices=ReadingImport.Format.choices)
    ppe = forms.ModelChoiceField(
        label=gettext_lazy("PPE (dla eLicznik)"),
        queryset=MeteringPoint.objects.none(),
        required=False,
        help_text=gettext_lazy("Plik eLicznik nie zawiera kodu PPE: wybierz go albo umieść kod w nazwie pliku."),
    )

    def __init__(self, *args: Any, cluster: Cluster, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ppe"].queryset = MeteringPoint.objects.filter(cluster=cluster).order_by("code")
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_file(self) -> Any:
        # checked on the size alone, before anything is parsed; the format field is cleaned
        # after this one, so its raw value picks the limit (an unknown format gets the larger)
        upload = self.cleaned_data["file"]
        limits = {
            ReadingImport.Format.GENERIC: settings.OKE_READINGS_UPLOAD_MAX_MB_GENERIC,
            ReadingImport.Format.TAURON: settings.OKE_READINGS_UPLOAD_MAX_MB_TAURON,
            # read whole by its parser: a few generators, not a cluster's every PPE
            ReadingImport.Format.PRODUCTION: settings.OKE_READINGS_UPLOAD_MAX_MB_TAURON,
        }
        chosen = self.data.get("format") if self.is_bound else None
        limit = limits.get(chosen, max(limits.values()))
        if upload.size > limit * 1024 * 1024:
            label = dict(ReadingImport.Format.choices).get(chosen, "")
            raise ValidationError(_(
                "Plik %(name)s ma %(size)s MB, a limit dla formatu %(format)s to %(mb)d MB."
            ) % {"name": upload.name, "size": number(upload.size / 2**20, 1), "format": label, "mb": limit})
        return upload


@cluster_staff_required
def import_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    if request.method == "POST":
        form = ReadingUploadForm(request.POST, request.FILES, cluster=cluster)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            reading_import = reading_import_create(
                cluster=cluster, file=upload, name=upload.name, format=form.cleaned_data["format"],
                ppe=form.cleaned_data["ppe"], user=request.user,
            )
            if job_send_failed(job=reading_import):  # broker down: FAILED with this reason; the file stays for a retry
                messages.error(request, queue_unavailable_message())
            else:
                messages.info(request, _("Plik %(name)s przyjęty, import w toku.") % {"name": upload.name})
            return redirect("reports:import-detail", cluster_slug=cluster.slug, pk=reading_import.pk)
    else:
        form = ReadingUploadForm(cluster=cluster)
    return page(
        request, "reports/readings/import_list.html", cluster=cluster, nav="readings", form=form,
        imports=reading_imports_recent(cluster=cluster),
    )


def _import(cluster: Cluster, pk: int) -> ReadingImport:
    return get_object_or_404(ReadingImport.objects.select_related("ppe", "created_by"), cluster=cluster, pk=pk)


@cluster_staff_required
def import_detail(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    reading_import = _import(cluster, pk)
    running = reading_import.status in ACTIVE
    return page(request, "reports/readings/import_detail.html", cluster=cluster, nav="readings", imp=reading_import, running=running)


@cluster_staff_required
def import_progress(request: HttpRequest, cluster: Cluster, pk: int) -> JsonResponse:
    reading_import = _import(cluster, pk)
    return JsonResponse({
        "status": reading_import.status,
        "status_display": reading_import.get_status_display(),
        "progress": reading_import.progress,
        "message": reading_import.message_text,
        "done": reading_import.status not in ACTIVE,
    })


COMPLETENESS_YEARS = (YEAR_MIN, YEAR_MAX)  # the years meter files may hold: outside, no data can be there


def _month(value: str | None) -> tuple[int, int] | None:
    """``(year, month)`` of an ``RRRR-MM`` value within ``COMPLETENESS_YEARS``, else None."""
    text = (value or "").strip()
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m")
    except ValueError:
        return None
    if len(text) != 7 or not COMPLETENESS_YEARS[0] <= parsed.year <= COMPLETENESS_YEARS[1]:
        return None
    return parsed.year, parsed.month


def _member_names(*, ppe_ids: list[int], first: dt.date, last: dt.date) -> dict[int, list[str]]:
    """Names of the members each PPE belonged to in the month (one query for the page's PPEs)."""
    names: dict[int, list[str]] = {}
    memberships = (
        PPEMembership.objects.filter(ppe_id__in=ppe_ids, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .order_by("ppe_id", "valid_from").values_list("ppe_id", "member__name")
    )
    for ppe_id, name in memberships:
        if name not in names.setdefault(ppe_id, []):
            names[ppe_id].append(name)
    return names


# PPE rows per page of the completeness table.
COMPLETENESS_PAGE_SIZE = 100


@cluster_staff_required
def completeness_view(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    today = timezone.localdate()
    raw = request.GET.get("month")
    chosen = _month(raw)
    if chosen is None:
        if raw:
            messages.warning(request, _(
                "Nieprawidłowy miesiąc „%(m)s” w parametrze month — oczekiwano RRRR-MM z lat %(lo)d–%(hi)d; "
                "pokazano ostatni zakończony miesiąc.") % {"m": raw[:20], "lo": COMPLETENESS_YEARS[0], "hi": COMPLETENESS_YEARS[1]})
        # The last month that has ended: the current one is incomplete by definition (all red).
        last_complete = today.replace(day=1) - dt.timedelta(days=1)
        chosen = (last_complete.year, last_complete.month)
    year, month = chosen
    rows = completeness_cached(cluster=cluster, year=year, month=month)
    previous = dt.date(year, month, 1) - dt.timedelta(days=1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    totals = {
        "expected": sum(r.expected for r in rows),
        "present": sum(r.present for r in rows),
        "missing": sum(r.missing for r in rows),
        "estimated": sum(r.estimated for r in rows),
    }
    # One page of PPE rows (1,000 PPEs made a 430 KB page); the totals row covers them all.
    page_obj = Paginator(rows, COMPLETENESS_PAGE_SIZE).get_page(request.GET.get("page"))
    names = _member_names(
        ppe_ids=[r.ppe.pk for r in page_obj.object_list], first=dt.date(year, month, 1), last=following - dt.timedelta(days=1)
    )
    return page(
        request, "reports/readings/completeness.html", cluster=cluster, nav="readings", rows=page_obj.object_list,
        row_members=[(r, names.get(r.ppe.pk, [])) for r in page_obj.object_list],
        totals=totals, page_obj=page_obj, query=f"month={year:04d}-{month:02d}",
        month=dt.date(year, month, 1), previous=f"{previous:%Y-%m}", following=f"{following:%Y-%m}",
    )


urlpatterns = [
    path("readings/", import_list, name="import-list"),
    path("readings/completeness/", completeness_view, name="completeness"),
    path("readings/<int:pk>/", import_detail, name="import-detail"),
    path("readings/<int:pk>/progress/", import_progress, name="import-progress"),
]
