"""Coordinator pages for statements: review, generate, publish, download, invite.

Every lookup goes through the cluster the user staffs (``cluster_staff_required``)
and answers 404 across the boundary. Files are served only through these views
and the portal's; MEDIA is never served by URL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Sum
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from members.decorators import cluster_staff_required
from members.models import Cluster, Member
from okeportal.jobs import queue_unavailable_message
from reports.models import ClusterReport, JobStatus, SettlementRun, Statement
from reports.portal.invitations import member_invite
from reports.settlement.snapshot import run_snapshot_read
from reports.statements.services import (
    OVERRIDE_REASON_MIN,
    statement_download_record,
    statement_filename,
    statements_for_run,
    statements_generate,
    statements_override_needed,
    statements_publish,
    statements_send_failed,
)

# Statement rows per page of the statements list.
STATEMENTS_PAGE_SIZE = 50


def pdf_response(*, file: FieldFile, filename: str, inline: bool = False) -> FileResponse:
    """The stored PDF as a download: ASCII ``filename`` plus RFC 5987 ``filename*``."""
    if not file:
        raise Http404(_("Plik nie jest jeszcze gotowy."))
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("Nie znaleziono pliku.")) from exc
    # FileResponse builds Content-Disposition (ASCII filename plus RFC 5987 filename*).
    response = FileResponse(handle, content_type="application/pdf", as_attachment=not inline, filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def statement_pdf_download(request: HttpRequest, statement: Statement, *, inline: bool = False) -> FileResponse:
    """Serve a statement the caller has already looked up within its boundary, and log the download."""
    response = pdf_response(
        file=statement.file, filename=statement_filename(run=statement.run, statement=statement), inline=inline
    )
    statement_download_record(
        statement=statement,
        user=request.user,
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return response


def _run_or_404(cluster: Cluster, run_id: int) -> SettlementRun:
    return get_object_or_404(SettlementRun.objects.select_related("cluster"), cluster=cluster, pk=run_id)


def _redirect_next_or(request: HttpRequest, *fallback: Any, **fallback_kwargs: Any) -> HttpResponse:
    """Back to the page the form came from (``next``, same host only), else to ``fallback``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(*fallback, **fallback_kwargs)


def _back(request: HttpRequest, cluster: Cluster, run: SettlementRun) -> HttpResponse:
    return _redirect_next_or(request, "reports:statement-list", cluster_slug=cluster.slug, run_id=run.pk)


@cluster_staff_required
@require_GET
def statement_list(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    # One page of rows (1,000 members made an 870 KB page); counts and sizes cover them all,
    # from one light query that also gives the paginator its count.
    every = list(run.statements.values_list("status", "file"))
    counts = dict(Counter(status for status, _ in every))
    files = [name for _, name in every if name]
    paginator = Paginator(statements_for_run(run=run), STATEMENTS_PAGE_SIZE)
    paginator.count = len(every)
    page_obj = paginator.get_page(request.GET.get("page"))
    statements = list(page_obj.object_list)
    busy = counts.get(Statement.Status.PENDING, 0) > 0
    context = {
        "cluster": cluster,
        "nav": "settlements",
        "run": run,
        "statements": statements,
        "page_obj": page_obj,
        "counts": counts,
        "counts_display": [(Statement.Status(k).label, n) for k, n in sorted(counts.items())],
        "lines_count": run.lines.count(),
        "busy": busy,
        "report": ClusterReport.objects.filter(run=run).first(),
        "total_size": sum((default_storage.size(name) for name in files if default_storage.exists(name)), 0),
        "benefit_total": run.lines.aggregate(total=Sum("total"))["total"],
        "can_generate": run.status == JobStatus.DONE and run.statements_published_at is None,
        "can_publish": page_obj.paginator.count > 0 and not busy and counts.get(Statement.Status.READY, 0) > 0
        and counts.get(Statement.Status.FAILED, 0) == 0,
        "filename": statement_filename(run=run),
        # an ineligible run's statements are published only with the coordinator's written reason
        "override_needed": run.status == JobStatus.DONE and statements_override_needed(run=run),
        "eligibility": run_snapshot_read(run).status.eligibility if run.status == JobStatus.DONE else None,
        "override_min": OVERRIDE_REASON_MIN,
    }
    return render(request, "reports/statements/list.html", context)


@cluster_staff_required
@require_POST
def statements_generate_view(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    try:
        count = statements_generate(run=run, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if statements_send_failed(run=run):  # broker down: the statements are FAILED with this reason
            messages.error(request, queue_unavailable_message())
        else:
            messages.success(request, ngettext(
                "Zlecono przygotowanie %(count)d zestawienia i raportu klastra.",
                "Zlecono przygotowanie %(count)d zestawień i raportu klastra.", count,
            ) % {"count": count})
    return _back(request, cluster, run)


@cluster_staff_required
@require_POST
def statements_publish_view(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    try:
        count = statements_publish(run=run, user=request.user, override_reason=request.POST.get("override_reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, ngettext(
                "Opublikowano %(count)d zestawienie; członkowie z adresem e-mail dostali powiadomienie.",
                "Opublikowano %(count)d zestawień; członkowie z adresem e-mail dostali powiadomienie.", count,
            ) % {"count": count}
        )
    return _back(request, cluster, run)


@cluster_staff_required
@require_GET
def statement_download(request: HttpRequest, cluster: Cluster, statement_id: int) -> HttpResponse:
    statement = get_object_or_404(Statement.objects.select_related("run__cluster"), pk=statement_id, run__cluster=cluster)
    return statement_pdf_download(request, statement, inline=request.GET.get("inline") == "1")


@cluster_staff_required
@require_GET
def cluster_report_download(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    report = get_object_or_404(ClusterReport.objects.select_related("run__cluster"), run__pk=run_id, run__cluster=cluster)
    name = statement_filename(run=report.run).replace("zestawienie-", "raport-klastra-", 1)
    return pdf_response(file=report.file, filename=name, inline=request.GET.get("inline") == "1")


@cluster_staff_required
@require_POST
def member_portal_invite(request: HttpRequest, cluster: Cluster, member_id: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=member_id, cluster=cluster)
    try:
        user = member_invite(member=member, invited_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Wysłano zaproszenie do portalu dla %(name)s na adres %(email)s (login: %(username)s).")
            % {"name": member.name, "email": user.email, "username": user.username},
        )
    return _redirect_next_or(request, "home")


urlpatterns = [
    path("settlements/<int:run_id>/statements/", statement_list, name="statement-list"),
    path("settlements/<int:run_id>/statements/generate/", statements_generate_view, name="statements-generate"),
    path("settlements/<int:run_id>/statements/publish/", statements_publish_view, name="statements-publish"),
    path("settlements/<int:run_id>/report.pdf", cluster_report_download, name="cluster-report-download"),
    path("statements/<int:statement_id>/download/", statement_download, name="statement-download"),
    path("members/<int:member_id>/portal-invite/", member_portal_invite, name="member-portal-invite"),
]
