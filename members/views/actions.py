"""The confirmation page every safe registry action passes through, and the undo of a recorded action.

A form POST without ``confirm=1`` runs the action as a dry run (rolled back) and
shows what would change and which settlements would become outdated; the page
posts the same values back with ``confirm=1``.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.decorators import cluster_staff_required
from members.models import Cluster, RegistryAction
from members.services.actions import (
    registry_action_affected_runs,
    registry_action_lines,
    registry_action_undo,
    registry_actions_undo_refusals,
)
from members.views.common import error_messages, page


def is_confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "1"


def confirm_page(
    request: HttpRequest, cluster: Cluster, *, action: RegistryAction, title: str, post_url: str, back_url: str,
    form: forms.Form | None = None, undo: bool = False,
) -> HttpResponse:
    """What the (dry-run) action changes, the settlements it outdates, and the buttons to apply or go back."""
    if undo:
        lines = registry_action_lines(before=action.after, after=action.before)
    else:
        lines = registry_action_lines(before=action.before, after=action.after)
    runs = registry_action_affected_runs(action=action)
    hidden = [(name, request.POST.get(name, "")) for name in (form.fields if form is not None else ())]
    return page(
        request, "members/confirm_action.html", cluster=cluster, nav="ppes" if action.ppe_id else "members",
        action=action, title=title, lines=lines, runs=runs, published=[r for r in runs if r["published"]],
        hidden=hidden, post_url=post_url, back_url=back_url, undo=undo,
    )


def confirm_or_apply(
    request: HttpRequest, cluster: Cluster, *, form: forms.Form, run: Callable[[bool], RegistryAction], back_url: str,
    success: Callable[[RegistryAction], str],
) -> HttpResponse | None:
    """``run(dry_run)`` without ``confirm=1``: the confirmation page; with it: the action, a message and back.

    None when the service refused: its messages are on the form, nothing changed.
    """
    confirmed = is_confirmed(request)
    try:
        action = run(not confirmed)
    except ValidationError as exc:
        for message in error_messages(exc):
            form.add_error(None, message)
        return None
    if not confirmed:
        return confirm_page(request, cluster, action=action, form=form, title=action.summary, post_url=request.path, back_url=back_url)
    messages.success(request, success(action))
    return redirect(back_url)


def action_back_url(cluster: Cluster, action: RegistryAction) -> str:
    from django.urls import reverse

    if action.ppe_id and action.kind != RegistryAction.Kind.LEAVE:
        return reverse("members:ppe-history", kwargs={"cluster_slug": cluster.slug, "pk": action.ppe_id})
    return reverse("members:member-history", kwargs={"cluster_slug": cluster.slug, "pk": action.member_id})


@cluster_staff_required
@require_POST
def action_undo(request: HttpRequest, cluster: Cluster, pk: int) -> HttpResponse:
    action = get_object_or_404(RegistryAction.objects.select_related("member", "ppe"), cluster=cluster, pk=pk)
    back = action_back_url(cluster, action)
    if not is_confirmed(request):
        refusal = registry_actions_undo_refusals(actions=[action])[action.pk]
        if refusal is not None:
            messages.error(request, _("Nie można cofnąć akcji „%(summary)s”: %(reason)s") % {"summary": action.summary, "reason": refusal})
            return redirect(back)
        return confirm_page(
            request, cluster, action=action, undo=True, post_url=request.path, back_url=back,
            title=_("Cofnięcie: %(summary)s") % {"summary": action.summary},
        )
    try:
        registry_action_undo(action=action, user=request.user)
    except ValidationError as exc:
        for message in error_messages(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Cofnięto: %(summary)s.") % {"summary": action.summary})
    return redirect(back)
