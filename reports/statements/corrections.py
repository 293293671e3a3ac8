"""Corrections ("korekty"): a recomputed period whose earlier statements were published.

When version n+1 of a period is published and a member had a published statement of an
earlier version of that period, the member's new statement is a correction of the last
published one: numbered ``<number of the first statement>/K<n>``, it shows the previously
published amount, the new amount and the difference (new − previous, to the grosz) and
why the period was recomputed (the reasons recorded on the earlier run). The original
statement is never altered or removed: the member sees both.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from members.models import Member
from reports.models import RunOutdatedReason, SettlementRun, Statement


def statement_predecessor(*, run: SettlementRun, member: Member) -> Statement | None:
    """The member's last published statement of an earlier version of the same cluster and period."""
    return (
        Statement.objects.filter(
            member=member, status=Statement.Status.PUBLISHED, run__cluster_id=run.cluster_id,
            run__period_start=run.period_start, run__period_end=run.period_end, run__version__lt=run.version,
        )
        .select_related("run", "line", "corrects")
        .order_by("-run__version")
        .first()
    )


def statement_root(statement: Statement) -> Statement:
    """The first statement of a correction chain (the original)."""
    while statement.corrects is not None:
        statement = statement.corrects
    return statement


def correction_number(*, predecessor: Statement) -> str:
    """``OKE/2026/03/0007-v1/K2``: the original's number and the correction's ordinal."""
    root = statement_root(predecessor)
    ordinal = 1
    chain = predecessor
    while chain.corrects is not None:
        ordinal += 1
        chain = chain.corrects
    return f"{root.number}/K{ordinal}"


def _reasons(predecessor: Statement) -> list[str]:
    rows = RunOutdatedReason.objects.filter(run=predecessor.run).order_by("created_at", "pk")
    reasons = [f"{r.get_code_display()}: {r.detail_text}" if r.detail_text else str(r.get_code_display()) for r in rows]
    return reasons or [_("ponowne przeliczenie okresu (wersja %(v)s)") % {"v": predecessor.run.version + 1}]


def correction_data(*, statement: Statement) -> dict[str, Any] | None:
    """What a correction statement prints; None for an original."""
    previous = statement.corrects
    if previous is None:
        return None
    old, new = previous.line, statement.line
    return {
        "previous_number": previous.number,
        "original_number": statement_root(previous).number,
        "previous_published_at": previous.published_at,
        "previous_total": old.total,
        "new_total": new.total,
        "difference": new.total - old.total,
        "previous_discount": old.discount,
        "new_discount": new.discount,
        "previous_exemptions": old.exemptions_total,
        "new_exemptions": new.exemptions_total,
        "previous_drawn_wh": old.drawn_wh,
        "new_drawn_wh": new.drawn_wh,
        "previous_shared_wh": old.shared_wh,
        "new_shared_wh": new.shared_wh,
        "drawn_difference_wh": new.drawn_wh - old.drawn_wh,
        "shared_difference_wh": new.shared_wh - old.shared_wh,
        "discount_difference": new.discount - old.discount,
        "exemptions_difference": new.exemptions_total - old.exemptions_total,
        "reasons": _reasons(previous),
    }
