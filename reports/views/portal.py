"""The member portal: a member's own PPEs, settlements and statements, nothing else.

Every query is filtered by ``member=member_for_user(request.user)``; anything
else (another member's id, an unpublished statement, a staff account without a
member record) answers 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from operator import itemgetter
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from members.models import Member, PPEMembership
from members.permissions import member_for_user
from members.services.consents import consent_texts_missing, consents_accept, member_for_user_with_consents
from members.services.exports import Column, Table, table_csv_chunks
from okeportal.downloads import ChunkFile
from reports.portal.services import (
    MAX_EXPORT_DAYS,
    portal_day_chart,
    portal_hourly_csv_rows,
    portal_last_data_day,
    portal_year_totals,
)
from reports.statements.annual import annual_statements_for_member
from reports.statements.services import settlements_for_member, statements_for_member
from reports.views.annual import annual_pdf_download
from reports.views.statements import statement_pdf_download


def _member_or_404(request: HttpRequest) -> Member:
    member = getattr(request, "portal_member", None) or member_for_user(request.user)
    if member is None:
        raise Http404("Brak konta członka klastra.")
    return member


def consent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Portal views: a member account must have confirmed every consent text in force first.

    Staff and superusers are not asked; an account without a member record gets 404 from the view.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_staff or user.is_superuser):
            member = member_for_user_with_consents(user=user)
            if member is not None:
                request.portal_member = member
                if member.consents_pending:
                    return redirect(f"{reverse('portal:consents')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@login_required
@require_http_methods(["GET", "POST"])
def consents(request: HttpRequest) -> HttpResponse:
    """The texts in force the member has not confirmed yet, each shown whole, confirmed together."""
    member = _member_or_404(request)
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("portal:home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("portal:home")
    missing = consent_texts_missing(member=member)
    if not missing:
        return redirect(next_url)
    error = ""
    if request.method == "POST":
        checked = {int(v) for v in request.POST.getlist("text") if v.isdigit()}
        unchecked = [t for t in missing if t.pk not in checked]
        if unchecked:
            error = _("Zaznacz potwierdzenie: „%(title)s” (wersja %(version)s).") % {
                "title": unchecked[0].title, "version": unchecked[0].version}
        else:
            try:
                consents_accept(member=member, user=request.user, text_ids=checked)
            except ValidationError as exc:
                error = " ".join(exc.messages)
                missing = consent_texts_missing(member=member)
            else:
                messages.success(request, _("Dziękujemy, potwierdzenie zapisano."))
                return redirect(next_url)
    return render(request, "portal/consents.html", {
        "member": member, "texts": missing, "next": next_url, "error": error, "portal_nav": "home",
    }, status=400 if error else 200)


@consent_required
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
    settlements = settlements_for_member(member=member)
    return render(
        request,
        "portal/home.html",
        {"member": member, "memberships": memberships, "settlements": settlements,
         "annual_statements": list(annual_statements_for_member(member=member)),
         "totals": portal_year_totals(settlements=settlements, year=today.year), "portal_nav": "home"},
    )


@consent_required
@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    """Glossary of the statement's terms and the coordinator's contact."""
    member = _member_or_404(request)
    cluster = member.cluster
    staff_email = cluster.staff.exclude(email="").order_by("pk").values_list("email", flat=True).first()
    return render(request, "portal/help.html", {
        "member": member, "cluster_info": cluster, "contact_email": staff_email, "portal_nav": "help",
    })


def _parse_day(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        raise Http404("Nieprawidłowa data.") from None


def _data_page(request: HttpRequest, member: Member, *, day: dt.date, form: forms.Form, status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    chart = portal_day_chart(member=member, day=day)
    return render(request, "portal/data.html", {
        "member": member, "chart": chart, "form": form, "portal_nav": "data",
        "previous_day": day - dt.timedelta(days=1), "next_day": day + dt.timedelta(days=1) if day < today else None,
        "chart_data": {"labels": chart["labels"], "drawn": chart["drawn_kwh"], "fed": chart["fed_kwh"],
                       "shared": chart["shared_kwh"],
                       "names": {"drawn": _("Energia pobrana"), "fed": _("Energia oddana do sieci"),
                                 "shared": _("Energia współdzielona")}},
    }, status=status)


@consent_required
@require_GET
def data_day(request: HttpRequest) -> HttpResponse:
    """One day of the member's own hourly draw, feed-in and shared energy, with previous/next day links."""
    member = _member_or_404(request)
    today = timezone.localdate()
    default = portal_last_data_day(member=member, before=today) or today - dt.timedelta(days=1)
    day = _parse_day(request.GET.get("day"), default)
    return _data_page(request, member, day=day, form=HourlyExportForm(initial={"start": day.replace(day=1), "end": day}))


class HourlyExportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("Od dnia"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=gettext_lazy("Do dnia (włącznie)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise ValidationError(_("Pole „Do dnia”: data końcowa jest wcześniejsza niż początkowa."))
            if (end - start).days >= MAX_EXPORT_DAYS:
                raise ValidationError(
                    _("Pola „Od dnia” i „Do dnia”: zakres może obejmować najwyżej %(days)s dni.") % {"days": MAX_EXPORT_DAYS}
                )
        return data


@consent_required
@require_GET
def data_csv(request: HttpRequest) -> HttpResponseBase:
    """The member's own hourly data as CSV (``;``, decimal comma, local time): its right of access."""
    member = _member_or_404(request)
    form = HourlyExportForm(request.GET)
    if not form.is_valid():
        return _data_page(request, member, day=timezone.localdate() - dt.timedelta(days=1), form=form, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    rows = portal_hourly_csv_rows(member=member, start=start, end=end)
    header = next(rows)
    # The same CSV writer as every coordinator export (UTF-8 BOM, ';', CRLF); the cells come formatted.
    table = Table(title="", columns=[Column(h, itemgetter(i)) for i, h in enumerate(header)], rows=rows)
    return FileResponse(
        ChunkFile(table_csv_chunks(table=table)), as_attachment=True, content_type="text/csv; charset=utf-8",
        filename=f"dane-godzinowe-{member.ref}-{start:%Y%m%d}-{end:%Y%m%d}.csv",
    )


@consent_required
@require_GET
def statement_download(request: HttpRequest, statement_id: int) -> HttpResponse:
    member = _member_or_404(request)
    return statement_pdf_download(request, get_object_or_404(statements_for_member(member=member), pk=statement_id))


@consent_required
@require_GET
def annual_download(request: HttpRequest, statement_id: int) -> HttpResponse:
    member = _member_or_404(request)
    return annual_pdf_download(request, get_object_or_404(annual_statements_for_member(member=member), pk=statement_id))


urlpatterns = [
    path("", home, name="home"),
    path("annual/<int:statement_id>/download/", annual_download, name="annual-download"),
    path("statements/<int:statement_id>/download/", statement_download, name="statement-download"),
    path("consents/", consents, name="consents"),
    path("help/", help_page, name="help"),
    path("data/", data_day, name="data"),
    path("data/csv/", data_csv, name="data-csv"),
]
