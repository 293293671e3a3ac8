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
from reports.services.statements import settlements_for_member, statements_for_member
from reports.views.statements import statement_pdf_download


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
    return render(
        request,
        "portal/home.html",
        {"member": member, "memberships": memberships, "settlements": settlements_for_member(member=member),
         "portal_nav": "home"},
    )


@login_required
@require_GET
def statement_download(request: HttpRequest, statement_id: int) -> HttpResponse:
    member = _member_or_404(request)
    return statement_pdf_download(request, get_object_or_404(statements_for_member(member=member), pk=statement_id))


urlpatterns = [
    path("", home, name="home"),
    path("statements/<int:statement_id>/download/", statement_download, name="statement-download"),
]
