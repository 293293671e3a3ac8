"""Listeners for other apps' notifications (connected in ReportsConfig.ready)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from okeportal.messages import Msg
from reports.settlement.outdated import settlements_mark_outdated


def on_registry_changed(
    sender: Any, *, cluster_id: int, start: dt.date | None, end: dt.date | None, code: str, detail: Msg | str, **kwargs: Any
) -> None:
    settlements_mark_outdated(cluster_id=cluster_id, start=start, end=end, code=code, detail=detail)


def on_meter_data_changed(
    sender: Any, *, cluster_id: int, start: dt.date, end: dt.date, detail: Msg | str, **kwargs: Any
) -> None:
    settlements_mark_outdated(cluster_id=cluster_id, start=start, end=end, code="meter_data", detail=detail)


def on_measured_energy(sender: Any, *, cluster: Any, year: int, **kwargs: Any) -> Any:
    from reports.metering.selectors import measured_energy

    return measured_energy(cluster=cluster, year=year)


def on_reference_data_load(sender: Any, **kwargs: Any) -> None:
    from reports.settlement.tariff_defaults import tariff_defaults_load

    tariff_defaults_load()


def on_registry_change_preview(
    sender: Any, *, cluster_id: int, start: dt.date | None, end: dt.date | None, **kwargs: Any
) -> list[dict]:
    """The finished runs a registry change for [start, end] would mark outdated (nothing is written)."""
    from django.db.models import Exists, OuterRef

    from reports.models import Statement
    from reports.settlement.outdated import settlement_runs_reaching

    runs = settlement_runs_reaching(cluster_id=cluster_id, start=start, end=end)
    published = Statement.objects.filter(run=OuterRef("pk"), status=Statement.Status.PUBLISHED)
    return list(runs.annotate(published=Exists(published)).values("period_start", "period_end", "version", "published"))


def on_registry_published_since(sender: Any, *, cluster_id: int, since: dt.datetime, **kwargs: Any) -> list[dict]:
    """Runs of the cluster with statements published after ``since`` (an undo must not change what members saw)."""
    from django.db.models import Max

    from reports.models import Statement

    rows = (
        Statement.objects.filter(run__cluster_id=cluster_id, status=Statement.Status.PUBLISHED, published_at__gt=since)
        .values("run__period_start", "run__period_end", "run__version")
        .annotate(published_at=Max("published_at"))
        .order_by("run__period_start", "run__version")
    )
    return [
        {"period_start": r["run__period_start"], "period_end": r["run__period_end"], "version": r["run__version"],
         "published_at": r["published_at"]}
        for r in rows
    ]
