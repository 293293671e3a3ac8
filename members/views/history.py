"""History pages of a member and a PPE: recorded actions (with undo) and field-level changes."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from members.decorators import cluster_staff_required
from members.models import Cluster, Member, MeteringPoint, RegistryAction
from members.services.actions import registry_actions_lines, registry_actions_undo_refusals
from members.services.history import registry_history_member, registry_history_ppe
from members.views.common import page

ACTIONS_LIMIT = 100


def _actions(queryset: QuerySet[RegistryAction]) -> list[dict]:
    actions = list(queryset.select_related("created_by", "reversed_by")[:ACTIONS_LIMIT])
    refusals = registry_actions_undo_refusals(actions=actions)
    lines = registry_actions_lines(changes=[(a.before, a.after) for a in actions])
    return [{"action": a, "refusal": refusals.get(a.pk), "lines": lines[i]} for i, a in enumerate(actions)]


@cluster_staff_required
def member_history(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, cluster=cluster, pk=pk)
    actions = RegistryAction.objects.filter(cluster=cluster).filter(Q(member=member) | Q(to_member=member))
    return page(
        request, "members/history.html", cluster=cluster, nav="members", member=member, ppe=None,
        actions=_actions(actions), entries=registry_history_member(member=member),
    )


@cluster_staff_required
def ppe_history(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    ppe = get_object_or_404(MeteringPoint, cluster=cluster, pk=pk)
    return page(
        request, "members/history.html", cluster=cluster, nav="ppes", member=None, ppe=ppe,
        actions=_actions(RegistryAction.objects.filter(cluster=cluster, ppe=ppe)), entries=registry_history_ppe(ppe=ppe),
    )
