"""Notifications the registry sends; other apps listen without the registry importing them.

``registry_changed``: something that settlements depend on changed for a cluster from a
date on (``end`` None = open-ended). Sent by the registry services after the change is
saved (inside the same transaction); the settlement side marks the runs of that period
outdated (``reports.receivers``). Keyword arguments: ``cluster_id: int``,
``start: date | None`` (None = from the beginning), ``end: date | None``, ``code: str``
(one of ``reports.models.RunOutdatedReason.Code``), ``detail: str`` (what changed, for people).
"""

from __future__ import annotations

import datetime as dt

from django.dispatch import Signal

registry_changed = Signal()


def registry_changed_send(*, cluster_id: int, start: dt.date | None, end: dt.date | None, code: str, detail: str) -> None:
    registry_changed.send(sender=None, cluster_id=cluster_id, start=start, end=end, code=code, detail=detail)
