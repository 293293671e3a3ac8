"""Notifications the registry sends; other apps listen without the registry importing them.

``registry_changed``: something that settlements depend on changed for a cluster from a
date on (``end`` None = open-ended). Sent by the registry services after the change is
saved (inside the same transaction); the settlement side marks the runs of that period
outdated (``reports.receivers``). Keyword arguments: ``cluster_id: int``,
``start: date | None`` (None = from the beginning), ``end: date | None``, ``code: str``
(one of ``reports.models.RunOutdatedReason.Code``), ``detail: Msg | str`` (what changed, for
people: an ``okeportal.messages`` code with parameters, shown in each reader's language).
"""

from __future__ import annotations

import datetime as dt

from django.dispatch import Signal

from okeportal.messages import Msg

registry_changed = Signal()


def registry_changed_send(
    *, cluster_id: int, start: dt.date | None, end: dt.date | None, code: str, detail: Msg | str
) -> None:
    registry_changed.send(sender=None, cluster_id=cluster_id, start=start, end=end, code=code, detail=detail)


# Questions the registry asks the settlement side before or when it acts (``send`` returns
# each receiver's answer; with reports not installed nobody answers and nothing is refused).
#
# ``registry_change_preview``: which finished runs a change of ``cluster_id`` for
# [start, end] would make outdated; each receiver returns a list of dicts
# ``{"period_start": date, "period_end": date, "version": int, "published": bool}``.
registry_change_preview = Signal()

# ``registry_published_since``: statements of ``cluster_id`` published after ``since``
# (an aware datetime); each receiver returns a list of dicts
# ``{"period_start": date, "period_end": date, "version": int, "published_at": datetime}``.
registry_published_since = Signal()


def registry_change_preview_ask(*, cluster_id: int, start: dt.date | None, end: dt.date | None) -> list[dict]:
    answers = registry_change_preview.send(sender=None, cluster_id=cluster_id, start=start, end=end)
    return [row for _receiver, rows in answers for row in rows or []]


def registry_published_since_ask(*, cluster_id: int, since: dt.datetime) -> list[dict]:
    answers = registry_published_since.send(sender=None, cluster_id=cluster_id, since=since)
    return [row for _receiver, rows in answers for row in rows or []]


# ``measured_energy_request``: the cluster's measured energy (``members.services.datastamp.MeasuredEnergy``)
# for a calendar ``year``, for the conditions that need meter data; the meter side answers,
# and without an answer the conditions are estimated from installed capacity.
measured_energy_request = Signal()

# ``reference_data_loading``: ``reference_data_load()`` has loaded TERYT and the registry's
# rule defaults; other apps load their own defaults (tariffs, fees, tiers) in the same step.
reference_data_loading = Signal()


def measured_energy_ask(*, cluster: object, year: int) -> object | None:
    for _receiver, answer in measured_energy_request.send(sender=None, cluster=cluster, year=year):
        if answer is not None:
            return answer
    return None
