"""Notifications the meter store sends; the settlement side listens (``reports.receivers``).

``meter_data_changed``: an import saved meter data of ``cluster_id`` for the local days
[start, end]; keyword arguments ``cluster_id: int``, ``start: date``, ``end: date``,
``detail: Msg | str`` (the file and what it held, for people, an ``okeportal.messages`` code). Sent inside the import's
transaction, so a rolled-back import notifies nobody. Finished settlement runs of
those days become outdated.
"""

from __future__ import annotations

import datetime as dt

from django.dispatch import Signal

from okeportal.messages import Msg

meter_data_changed = Signal()


def meter_data_changed_send(*, cluster_id: int, start: dt.date, end: dt.date, detail: Msg | str) -> None:
    meter_data_changed.send(sender=None, cluster_id=cluster_id, start=start, end=end, detail=detail)
