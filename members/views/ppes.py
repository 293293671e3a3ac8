from __future__ import annotations

from collections.abc import Callable

from django import forms
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
from members.filters import PPEFilter
from members.forms import (
    BillingRegimeForm,
    GeneratorFormSet,
    MembershipDatesForm,
    PPERemoveForm,
    PPETransferForm,
    StorageFormSet,
)
from members.models import BillingRegime, Cluster, MeteringPoint, RegistryAction
from members.polish import polish_order
from members.selectors import ppe_list as ppe_list_select
from members.services.actions import registry_action_membership_dates, registry_action_remove, registry_action_transfer
from members.services.regimes import ppe_regime_add, ppe_regime_on
from members.services.registry import (
    InstallationRow,
    ppe_current_membership,
    ppe_installations_save,
)
from members.views.actions import confirm_or_apply
from members.views.common import error_messages, page
from okeportal.formatting import day

PAGE_SIZE = 25


def _ppe_or_404(cluster: Cluster, pk: int) -> MeteringPoint:
    return get_object_or_404(MeteringPoint.objects.select_related("gmina", "dso", "cluster"), cluster=cluster, pk=pk)


@cluster_staff_required
def ppe_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    ppes = PPEFilter(request.GET or None, queryset=ppe_list_select(cluster=cluster), cluster=cluster)
    page_obj = Paginator(ppes.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request, "members/ppe_list.html", cluster=cluster, nav="ppes", filter=ppes, page_obj=page_obj,
        query=query.urlencode(),
    )


@cluster_staff_required
def ppe_detail(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    return _detail(request, cluster, _ppe_or_404(cluster, pk))


def _detail(
    request: HttpRequest, cluster: Cluster, ppe: MeteringPoint, *, transfer_form: PPETransferForm | None = None,
    remove_form: PPERemoveForm | None = None, dates_form: MembershipDatesForm | None = None,
    regime_form: BillingRegimeForm | None = None,
) -> HttpResponse:
    current = ppe_current_membership(ppe=ppe)
    regimes = list(ppe.billing_regimes.order_by("-valid_from"))
    if transfer_form is None:
        transfer_form = PPETransferForm(ppe=ppe, current=current.member if current else None)
    return page(
        request, "members/ppe_detail.html", cluster=cluster, nav="ppes", ppe=ppe, current=current,
        memberships=ppe.memberships.select_related("member").order_by("-valid_from"),
        generators=ppe.generators.order_by(polish_order("name"), "pk"),
        storage_units=ppe.storage_units.order_by(polish_order("name"), "pk"), transfer_form=transfer_form,
        remove_form=remove_form or PPERemoveForm(), dates_form=dates_form or MembershipDatesForm(ppe=ppe),
        regimes=regimes, regime_now=BillingRegime(ppe_regime_on(ppe=ppe, on=timezone.localdate())).label,
        regime_form=regime_form or BillingRegimeForm(),
    )


@cluster_staff_required
@require_POST
def ppe_regime(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    """A new billing regime of the PPE from a day on; the runs it affects are marked outdated."""
    ppe = _ppe_or_404(cluster, pk)
    form = BillingRegimeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = ppe_regime_add(ppe=ppe, regime=data["regime"], valid_from=data["valid_from"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("PPE %(code)s: sposób rozliczenia „%(regime)s” od %(start)s.") % {
                "code": ppe.code, "regime": row.get_regime_display(), "start": day(row.valid_from)})
            return redirect("members:ppe-detail", cluster_slug=cluster.slug, pk=ppe.pk)
    return _detail(request, cluster, ppe, regime_form=form)


def _apply(
    request: HttpRequest, cluster: Cluster, ppe: MeteringPoint, form: forms.Form, run: Callable[[bool], RegistryAction],
) -> HttpResponse | None:
    return confirm_or_apply(
        request, cluster, form=form, run=run,
        back_url=reverse("members:ppe-detail", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk}),
        success=lambda action: _("Zapisano: %(summary)s. Zmianę można cofnąć w historii PPE.") % {"summary": action.summary},
    )


@cluster_staff_required
@require_POST
def ppe_transfer(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    ppe = _ppe_or_404(cluster, pk)
    current = ppe_current_membership(ppe=ppe)
    form = PPETransferForm(request.POST, ppe=ppe, current=current.member if current else None)
    if form.is_valid():
        data = form.cleaned_data
        response = _apply(request, cluster, ppe, form, lambda dry_run: registry_action_transfer(
            ppe=ppe, to_member=data["to_member"], on=data["on"], user=request.user, dry_run=dry_run,
        ))
        if response is not None:
            return response
    return _detail(request, cluster, ppe, transfer_form=form)


@cluster_staff_required
@require_POST
def ppe_remove(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    """Take the PPE out of the cluster from a date (its current membership ends), with confirmation."""
    ppe = _ppe_or_404(cluster, pk)
    form = PPERemoveForm(request.POST)
    if form.is_valid():
        on = form.cleaned_data["on"]
        response = _apply(request, cluster, ppe, form, lambda dry_run: registry_action_remove(
            ppe=ppe, on=on, user=request.user, dry_run=dry_run,
        ))
        if response is not None:
            return response
    return _detail(request, cluster, ppe, remove_form=form)


@cluster_staff_required
@require_POST
def ppe_membership_dates(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    """Move the start and end of one of the PPE's memberships, with confirmation."""
    ppe = _ppe_or_404(cluster, pk)
    form = MembershipDatesForm(request.POST, ppe=ppe)
    if form.is_valid():
        data = form.cleaned_data
        response = _apply(request, cluster, ppe, form, lambda dry_run: registry_action_membership_dates(
            membership=data["membership"], valid_from=data["valid_from"], valid_to=data["valid_to"],
            user=request.user, dry_run=dry_run,
        ))
        if response is not None:
            return response
    return _detail(request, cluster, ppe, dates_form=form)


@cluster_staff_required
def ppe_installations(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    """Generators and storage behind one PPE, both edited on one page."""
    ppe = _ppe_or_404(cluster, pk)
    if request.method == "POST":
        generators = GeneratorFormSet(request.POST, instance=ppe, prefix="gen")
        storage = StorageFormSet(request.POST, instance=ppe, prefix="sto")
        if generators.is_valid() and storage.is_valid():

            def rows(formset: GeneratorFormSet | StorageFormSet) -> list[InstallationRow]:
                return [
                    InstallationRow(data=f.cleaned_data, obj=f.instance if f.instance.pk else None, delete=delete)
                    for f, delete in formset.rows()
                ]

            try:
                n_gen, n_sto = ppe_installations_save(ppe=ppe, generators=rows(generators), storage=rows(storage))
            except ValidationError as exc:
                for message in error_messages(exc):
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("Zapisano instalacje PPE %(code)s: jednostki wytwórcze %(g)s, magazyny %(s)s.")
                    % {"code": ppe.code, "g": n_gen, "s": n_sto},
                )
                if "add_more" in request.POST:
                    return redirect("members:ppe-installations", cluster_slug=cluster.slug, pk=ppe.pk)
                return redirect("members:ppe-detail", cluster_slug=cluster.slug, pk=ppe.pk)
    else:
        generators = GeneratorFormSet(instance=ppe, prefix="gen")
        storage = StorageFormSet(instance=ppe, prefix="sto")
    return page(
        request, "members/ppe_installations.html", cluster=cluster, nav="ppes", ppe=ppe,
        current=ppe_current_membership(ppe=ppe), generators=generators, storage=storage,
    )
