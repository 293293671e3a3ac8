"""The member portal: a member's own PPEs, settlements and statements, nothing else.

Every query is filtered by ``member=member_for_user(request.user)``; anything
else (another member's id, an unpublished statement, a staff account without a
member record) answers 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from members.models import Member, PPEMembership
from members.permissions import member_for_user
from reports.models import SettlementLine
from reports.services.statements import statement_download_record, statement_filename, statements_for_member
from reports.views.statements import client_ip, pdf_response


def _member_or_404(request: HttpRequest) -> Member:
    member = member_for_user(request.user)
    if member is None:
        raise Http404("Brak konta członka klastra.")
    return member


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    member = _member_or_404(request)
    today = timezone.localdate()
    memberships = (
        PPEMembership.objects.filter(member=member, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("ppe", "ppe__gmina", "ppe__dso")
        .order_by("ppe__code")
    )
    statements = list(statements_for_member(member=member))
    by_line = {s.line_id: s for s in statements}
    # Settlements: published runs where this member has a line; its own figures only.
    lines = (
        SettlementLine.objects.filter(member=member, run__statements_published_at__isnull=False, pk__in=list(by_line))
        .select_related("run")
        .order_by("-run__period_start", "-run__version")
    )
    newest: dict[tuple, int] = {}
    for line in lines:
        key = (line.run.period_start, line.run.period_end)
        newest[key] = max(newest.get(key, 0), line.run.version)
    settlements = [
        {"line": line, "run": line.run, "statement": by_line.get(line.pk),
         "superseded": line.run.version < newest[(line.run.period_start, line.run.period_end)]}
        for line in lines
    ]
    return render(
        request,
        "portal/home.html",
        {"member": member, "memberships": memberships, "settlements": settlements, "portal_nav": "home"},
    )


@login_required
@require_GET
def statement_download(request: HttpRequest, statement_id: int) -> HttpResponse:
    member = _member_or_404(request)
    statement = get_object_or_404(statements_for_member(member=member), pk=statement_id)
    response = pdf_response(file=statement.file, filename=statement_filename(run=statement.run))
    statement_download_record(
        statement=statement, user=request.user, ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
    return response


urlpatterns = [
    path("", home, name="home"),
    path("statements/<int:statement_id>/download/", statement_download, name="statement-download"),
]
