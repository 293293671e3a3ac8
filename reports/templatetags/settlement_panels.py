"""Settlement panels other apps' pages include (the registry's dashboard), so members imports nothing from reports."""

from __future__ import annotations

from typing import Any

from django import template

from reports.settlement.outdated import settlement_runs_outdated
from reports.settlement.periods import run_level_provisional

register = template.Library()


@register.inclusion_tag("reports/settlements/_outdated_panel.html")
def outdated_settlements(cluster: Any) -> dict[str, Any]:
    """The current versions of the cluster's periods that are outdated, with their reasons."""
    return {"cluster": cluster, "runs": settlement_runs_outdated(cluster_id=cluster.pk)}


@register.filter
def level_provisional(run: Any) -> bool:
    """The run's level was evaluated over less than the calendar year its rule asks for: provisional figures."""
    return run_level_provisional(run)
