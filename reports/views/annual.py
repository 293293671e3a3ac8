"""Coordinator pages for annual summary statements: issue, review, publish, download.

Every lookup goes through the cluster the user staffs (``cluster_staff_required``) and
answers 404 across the boundary; members download their own through the portal.
"""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from members.decorators import cluster_staff_required
from members.models import Cluster
from reports.models import AnnualStatement, LevelPeriod, Statement
from reports.statements.annual import (
    OVERRIDE_REASON_MIN,
    annual_download_record,
    annual_override_needed,
    annual_rule,
    annual_run,
    annual_sources,
    annual_statement_filename,
    annual_statements_for_year,
    annual_statements_issue,
    annual_statements_publish,
    annual_years,
)
from reports.views.statements import pdf_response


def annual_pdf_download(request: HttpRequest, statement: AnnualStatement, *, inline: bool = False) -> FileResponse:
    """Serve an annual statement the caller already looked up within its boundary, and log the download."""
    response = pdf_response(file=statement.file, filename=annual_statement_filename(statement), inline=inline)
    annual_download_record(
        statement=statement, user=request.user, ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return response


@cluster_staff_required
@require_GET
def annual_list(request: HttpRequest, cluster: Cluster, year: int | None = None) -> HttpResponse:
    years = annual_years(cluster=cluster)
    if year is None:
        year = years[0] if years else timezone.localdate().year
    statements = list(annual_statements_for_year(cluster=cluster, year=year))
    version = statements[0].version if statements else None
    current = [s for s in statements if s.version == version]
    counts = Counter(s.status for s in current)
    problem = ""
    try:
        annual_sources(cluster=cluster, year=year)  # the checks only: no member's figures computed on a page view
    except ValidationError as exc:
        problem = " ".join(exc.messages)
    try:
        rule = annual_rule(year=year)
    except ValidationError:
        rule = None  # the problem above names it
    run = annual_run(cluster=cluster, year=year) if rule is not None and rule.evaluation_period == LevelPeriod.YEAR else None
    return render(request, "reports/statements/annual.html", {
        "cluster": cluster, "nav": "settlements", "year": year, "years": years, "rule": rule, "annual_run": run,
        "statements": current, "older": [s for s in statements if s.version != version], "version": version,
        "counts": counts, "problem": problem,
        "published": bool(current) and counts.get(Statement.Status.PUBLISHED, 0) == len(current),
        "busy": counts.get(Statement.Status.PENDING, 0) > 0,
        "can_publish": bool(current) and counts.get(Statement.Status.READY, 0) > 0
        and counts.get(Statement.Status.PENDING, 0) == 0 and counts.get(Statement.Status.FAILED, 0) == 0,
        "override_needed": run is not None and annual_override_needed(run=run),
        "override_min": OVERRIDE_REASON_MIN,
        "totals": {
            "total": sum((s.total for s in current), start=0),
            "shown": sum((s.shown_total for s in current), start=0),
            "correction": sum((s.correction or 0 for s in current), start=0),
        },
    })


@cluster_staff_required
@require_POST
def annual_issue(request: HttpRequest, cluster: Cluster, year: int) -> HttpResponse:
    try:
        count = annual_statements_issue(
            cluster=cluster, year=year, user=request.user, override_reason=request.POST.get("override_reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "Zlecono przygotowanie %(count)d zestawienia rocznego.",
            "Zlecono przygotowanie %(count)d zestawień rocznych.", count) % {"count": count})
    return redirect("reports:annual-year", cluster_slug=cluster.slug, year=year)


@cluster_staff_required
@require_POST
def annual_publish(request: HttpRequest, cluster: Cluster, year: int) -> HttpResponse:
    try:
        count = annual_statements_publish(cluster=cluster, year=year, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "Opublikowano %(count)d zestawienie roczne: członkowie widzą je w portalu.",
            "Opublikowano %(count)d zestawień rocznych: członkowie widzą je w portalu.", count) % {"count": count})
    return redirect("reports:annual-year", cluster_slug=cluster.slug, year=year)


@cluster_staff_required
@require_GET
def annual_download(request: HttpRequest, cluster: Cluster, annual_id: int) -> HttpResponse:
    statement = get_object_or_404(AnnualStatement.objects.select_related("member"), pk=annual_id, cluster=cluster)
    return annual_pdf_download(request, statement, inline=request.GET.get("inline") == "1")


urlpatterns = [
    path("annual/", annual_list, name="annual-list"),
    path("annual/<int:year>/", annual_list, name="annual-year"),
    path("annual/<int:year>/issue/", annual_issue, name="annual-issue"),
    path("annual/<int:year>/publish/", annual_publish, name="annual-publish"),
    path("annual/statements/<int:annual_id>/download/", annual_download, name="annual-download"),
]
