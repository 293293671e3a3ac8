"""Consent panels other pages include (the settlement result page)."""

from __future__ import annotations

from typing import Any

from django import template

from members.services.consents import ppes_without_authorisation

register = template.Library()


@register.inclusion_tag("members/consents_run_panel.html")
def run_ppes_without_authorisation(run: Any, cluster: Any) -> dict[str, Any]:
    """PPEs of the run's members (within its period) whose member has no meter-data authorisation on record."""
    member_ids = run.lines.values_list("member_id", flat=True)
    return {
        "cluster": cluster, "rows": ppes_without_authorisation(
            member_ids=member_ids, start=run.period_start, end=run.period_end
        ),
    }
