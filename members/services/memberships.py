"""A PPE code is a member of at most one cluster at a time.

The database enforces it (migration ``members/0002``: an exclusion constraint
on PostgreSQL, triggers on SQLite); these functions give the clear message
first. The message says only "innego klastra" and the dates: nothing about
which cluster or its members.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils.translation import gettext as _

from members.models import PPEMembership

CONSTRAINT = "ppe_code_one_cluster_at_a_time"


def ppe_code_other_cluster_periods(
    *, code: str, cluster_id: int, valid_from: dt.date, valid_to: dt.date | None
) -> list[tuple[dt.date, dt.date | None]]:
    """Membership periods of ``code`` in other clusters that overlap [valid_from, valid_to]."""
    if valid_to is not None and valid_to < valid_from:
        return []
    others = (
        PPEMembership.objects.filter(ppe_code=code)
        .exclude(ppe__cluster_id=cluster_id)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")))
    )
    if valid_to is not None:
        others = others.filter(valid_from__lte=valid_to)
    return list(others.order_by("valid_from").values_list("valid_from", "valid_to"))


def ppe_codes_other_cluster_periods(*, codes: set[str], cluster_id: int, chunk: int = 900) -> dict[str, list[tuple[dt.date, dt.date | None]]]:
    """All membership periods of these codes in other clusters, by code (for checking a whole file)."""
    found: dict[str, list[tuple[dt.date, dt.date | None]]] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), chunk):
        rows = (
            PPEMembership.objects.filter(ppe_code__in=ordered[start : start + chunk])
            .exclude(ppe__cluster_id=cluster_id)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")))
            .order_by("valid_from")
            .values_list("ppe_code", "valid_from", "valid_to")
        )
        for code, valid_from, valid_to in rows:
            found.setdefault(code, []).append((valid_from, valid_to))
    return found


def periods_overlapping(
    periods: list[tuple[dt.date, dt.date | None]], *, valid_from: dt.date, valid_to: dt.date | None
) -> list[tuple[dt.date, dt.date | None]]:
    if valid_to is not None and valid_to < valid_from:
        return []
    return [
        (s, e) for s, e in periods
        if (e is None or e >= valid_from) and (valid_to is None or s <= valid_to)
    ]


def _period(start: dt.date, end: dt.date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat() if end else '…'}"


def ppe_code_clash_message(*, code: str, periods: list[tuple[dt.date, dt.date | None]]) -> str:
    return _(
        "PPE %(code)s należy już do innego klastra w okresie %(periods)s; PPE może należeć tylko do "
        "jednego klastra naraz — przystąpienie musi zacząć się po wystąpieniu z tamtego klastra."
    ) % {"code": code, "periods": ", ".join(_period(s, e) for s, e in periods)}


def ppe_code_one_cluster_validate(
    *, code: str, cluster_id: int, valid_from: dt.date, valid_to: dt.date | None, field: str = "valid_from"
) -> None:
    """Raise ``ValidationError`` ({field: message}) when the code is in another cluster in that period."""
    periods = ppe_code_other_cluster_periods(code=code, cluster_id=cluster_id, valid_from=valid_from, valid_to=valid_to)
    if periods:
        raise ValidationError({field: ppe_code_clash_message(code=code, periods=periods)})


def is_one_cluster_violation(exc: IntegrityError) -> bool:
    """The database refused a membership by the one-cluster rule (a race past the check above)."""
    return CONSTRAINT in str(exc)
