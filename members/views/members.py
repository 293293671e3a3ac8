from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.decorators import cluster_staff_required
from members.filters import MemberFilter
from members.forms import (
    GMINA_DATALIST_ID,
    TARIFF_GROUPS,
    MemberForm,
    MemberLeaveForm,
    member_ppes_queryset,
    ppe_formset_class,
)
from members.models import Cluster, Gmina, Member, PPEMembership
from members.selectors import gminas_ordered
from members.selectors import member_list as member_list_select
from members.services.actions import registry_action_leave
from members.services.history import registry_history_member
from members.services.registry import PPERow, member_save_with_ppes
from members.views.actions import confirm_or_apply
from members.views.common import error_messages, page
from okeportal.formatting import day

PAGE_SIZE = 25


@cluster_staff_required
def member_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    members = MemberFilter(request.GET or None, queryset=member_list_select(cluster=cluster))
    paginator = Paginator(members.qs, PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request, "members/member_list.html", cluster=cluster, nav="members",
        filter=members, page_obj=page_obj, query=query.urlencode(), today=timezone.localdate(),
    )


@cluster_staff_required
def member_detail(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, cluster=cluster, pk=pk)
    return _detail(request, cluster, member, leave_form=MemberLeaveForm())


def _detail(request: HttpRequest, cluster: Cluster, member: Member, *, leave_form: MemberLeaveForm) -> HttpResponse:
    today = timezone.localdate()
    memberships = (
        PPEMembership.objects.filter(member=member)
        .select_related("ppe__gmina", "ppe__dso")
        .prefetch_related("ppe__generators", "ppe__storage_units")
        .order_by("-valid_from", "ppe__code")
    )
    current = [m for m in memberships if m.valid_to is None or m.valid_to >= today]
    past = [m for m in memberships if m.valid_to is not None and m.valid_to < today]
    return page(
        request, "members/member_detail.html", cluster=cluster, nav="members",
        member=member, current=current, past=past, today=today, leave_form=leave_form,
        history=registry_history_member(member=member, limit=5)[:5],
    )


@cluster_staff_required
def member_create(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return _member_page(request, cluster, member=None)


@cluster_staff_required
def member_edit(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    return _member_page(request, cluster, member=get_object_or_404(Member, cluster=cluster, pk=pk))


def _member_page(request: HttpRequest, cluster: Cluster, *, member: Member | None) -> HttpResponse:
    """The member and its PPEs on one page, saved in one transaction."""
    ppes = member_ppes_queryset(member)
    # The edit page opens without an empty PPE row when the member has PPEs ("Dodaj PPE" adds one).
    formset_class = ppe_formset_class(extra=0 if member is not None and ppes.exists() else 1)
    formset_kwargs = {"queryset": ppes, "prefix": "ppe", "cluster": cluster, "form_kwargs": {"cluster": cluster}}
    if request.method == "POST":
        form = MemberForm(request.POST, instance=member, cluster=cluster)
        formset = formset_class(request.POST, **formset_kwargs)
        if form.is_valid() and formset.is_valid():
            joined_on: dt.date = form.cleaned_data["joined_on"]
            rows = [
                PPERow(
                    data=f.cleaned_data,
                    valid_from=f.cleaned_data.get("valid_from") or (None if f.instance.pk else joined_on),
                    ppe=f.instance if f.instance.pk else None,
                )
                for f in formset.forms
                if f.instance.pk or f.has_changed()
            ]
            try:
                result = member_save_with_ppes(cluster=cluster, member=member, member_data=form.cleaned_data, ppes=rows)
            except ValidationError as exc:
                for message in error_messages(exc):
                    form.add_error(None, message)
            else:
                saved = result.member
                messages.success(
                    request,
                    (_("Zarejestrowano członka %(name)s.") if member is None else _("Zapisano zmiany: %(name)s."))
                    % {"name": saved.name},
                )
                if "add_installations" in request.POST:
                    target = result.created_ppes[0] if result.created_ppes else member_ppes_queryset(saved).first()
                    if target is not None:
                        return redirect("members:ppe-installations", cluster_slug=cluster.slug, pk=target.pk)
                    messages.info(request, _("Członek nie ma jeszcze PPE — dodaj PPE, by zarejestrować instalacje."))
                    return redirect("members:member-edit", cluster_slug=cluster.slug, pk=saved.pk)
                return redirect("members:member-detail", cluster_slug=cluster.slug, pk=saved.pk)
    else:
        form = MemberForm(instance=member, cluster=cluster)
        formset = formset_class(**formset_kwargs)
    return page(
        request, "members/member_form.html", cluster=cluster, nav="members",
        member=member, form=form, formset=formset,
        gminas=_gmina_suggestions(cluster), gmina_datalist_id=GMINA_DATALIST_ID, tariff_groups=TARIFF_GROUPS,
    )


def _gmina_suggestions(cluster: Cluster) -> list[Gmina]:
    """Gminas offered in the datalist: the cluster's voivodeships (all of Poland for an empty cluster),
    in Polish alphabetical order.

    Any gmina may still be typed by its TERC code, or by its name with or without diacritics.
    """
    wojs = Gmina.objects.filter(meteringpoint__cluster=cluster).values("woj_terc").distinct()
    qs = Gmina.objects.filter(woj_terc__in=wojs) if wojs.exists() else Gmina.objects.all()
    return list(gminas_ordered(qs.only("terc", "name", "type", "powiat_name")))


@cluster_staff_required
@require_POST
def member_leave(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    """Leaving: the form, then a confirmation page (dry run), then ``confirm=1`` applies and records it."""
    member = get_object_or_404(Member, cluster=cluster, pk=pk)
    form = MemberLeaveForm(request.POST)
    if form.is_valid():
        on = form.cleaned_data["on"]
        response = confirm_or_apply(
            request, cluster, form=form,
            run=lambda dry_run: registry_action_leave(member=member, on=on, user=request.user, dry_run=dry_run),
            back_url=reverse("members:member-detail", kwargs={"cluster_slug": cluster.slug, "pk": member.pk}),
            success=lambda action: _("%(name)s wystąpił z klastra; ostatni dzień %(on)s. Zmianę można cofnąć w historii.")
            % {"name": member.name, "on": day(on)},
        )
        if response is not None:
            return response
    return _detail(request, cluster, member, leave_form=form)
