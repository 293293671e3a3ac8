"""Listeners for other apps' notifications (connected in ReportsConfig.ready)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reports.services.settlement.outdated import settlements_mark_outdated


def on_registry_changed(
    sender: Any, *, cluster_id: int, start: dt.date | None, end: dt.date | None, code: str, detail: str, **kwargs: Any
) -> None:
    settlements_mark_outdated(cluster_id=cluster_id, start=start, end=end, code=code, detail=detail)
