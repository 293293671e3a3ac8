from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.decorators import cluster_staff_required
from members.filters import PPEFilter
from members.forms import GeneratorFormSet, PPETransferForm, StorageFormSet
from members.models import Cluster, MeteringPoint
from members.selectors import ppe_list as ppe_list_select
from members.services.registry import (
    InstallationRow,
    ppe_current_membership,
    ppe_installations_save,
)
from members.services.registry import (
    ppe_transfer as ppe_transfer_service,
)
from members.views.common import error_messages, page

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
    ppe = _ppe_or_404(cluster, pk)
    current = ppe_current_membership(ppe=ppe)
    return _detail(request, cluster, ppe, transfer_form=PPETransferForm(ppe=ppe, current=current.member if current else None))


def _detail(request: HttpRequest, cluster: Cluster, ppe: MeteringPoint, *, transfer_form: PPETransferForm) -> HttpResponse:
    return page(
        request, "members/ppe_detail.html", cluster=cluster, nav="ppes", ppe=ppe,
        current=ppe_current_membership(ppe=ppe),
        memberships=ppe.memberships.select_related("member").order_by("-valid_from"),
        generators=ppe.generators.all(), storage_units=ppe.storage_units.all(), transfer_form=transfer_form,
    )


@cluster_staff_required
@require_POST
def ppe_transfer(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    ppe = _ppe_or_404(cluster, pk)
    current = ppe_current_membership(ppe=ppe)
    form = PPETransferForm(request.POST, ppe=ppe, current=current.member if current else None)
    if form.is_valid():
        try:
            membership = ppe_transfer_service(ppe=ppe, to_member=form.cleaned_data["to_member"], on=form.cleaned_data["on"])
        except ValidationError as exc:
            for message in error_messages(exc):
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("PPE %(code)s należy do %(member)s od %(on)s.")
                % {"code": ppe.code, "member": membership.member.name, "on": membership.valid_from},
            )
            return redirect("members:ppe-detail", cluster_slug=cluster.slug, pk=ppe.pk)
    return _detail(request, cluster, ppe, transfer_form=form)


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
