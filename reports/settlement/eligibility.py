"""Is the cluster eligible for the support in a settlement period? (pure, no database)

The support (fee exemptions, tariff discounts; art. 184k ust. 1 ustawy o OZE, Dz.U.
2024 poz. 1361) applies to a cluster entered in the URE register of energy clusters
that meets the statutory conditions and has a JST (or a company a JST controls) among
its members; the mechanism's first day is rule data (``SettlementRule.support_earliest``, shipped as 2 July 2024).
Before the register entry, or while a condition fails, members get no benefit.

``eligibility_evaluate`` takes what the registry and the rules say for the period and
returns the verdict with its reasons (stored messages: ``okeportal.messages``) and
the first local day that carries a benefit; hours before it carry none. A run is
computed either way; an ineligible run's statements are published only with a
coordinator's written override (``reports.statements.services``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from okeportal.messages import Msg, msg

CLUSTER = "cluster"


@dataclass(frozen=True)
class ConditionVerdict:
    code: str
    name: str
    ok: bool | None  # None: could not be evaluated (no data)


@dataclass(frozen=True, kw_only=True)
class EligibilityInput:
    kind: str  # members.models.ClusterKind value
    period_start: dt.date
    period_end: dt.date  # inclusive
    area_ok: bool
    area_problems: Sequence[str] = ()
    conditions: Sequence[ConditionVerdict] = ()
    has_jst: bool = False
    register_number: str = ""
    register_date: dt.date | None = None
    support_start: dt.date | None = None  # the cluster's own start, if later than the register entry
    support_earliest: dt.date  # the rule's earliest support day (SettlementRule.support_earliest), never a constant here


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    benefit_from: dt.date | None  # first local day with a benefit; None: none in the period
    reasons: tuple[Msg, ...] = field(default_factory=tuple)  # why not (or why only from benefit_from)

    def as_json(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "benefit_from": self.benefit_from.isoformat() if self.benefit_from else None,
            "reasons": [r.as_json() for r in self.reasons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Eligibility:
        from okeportal.messages import msg_from_json

        reasons = tuple(m for m in (msg_from_json(r) for r in data["reasons"]) if m is not None)
        benefit_from = data["benefit_from"]
        return cls(
            eligible=bool(data["eligible"]),
            benefit_from=dt.date.fromisoformat(benefit_from) if benefit_from else None,
            reasons=reasons,
        )


def support_start_date(facts: EligibilityInput) -> dt.date | None:
    """The first day of support: the latest of the register entry, the cluster's own start and the rule's."""
    if facts.register_date is None:
        return None
    return max(d for d in (facts.register_date, facts.support_start, facts.support_earliest) if d is not None)


def eligibility_evaluate(facts: EligibilityInput) -> Eligibility:
    blocking: list[Msg] = []
    notes: list[Msg] = []
    if not facts.area_ok:
        blocking.append(msg(gettext_noop("Obszar klastra nie spełnia reguły obszaru (art. 2 pkt 15a ustawy o OZE): %(problems)s"),
                            problems="; ".join(facts.area_problems) or "—"))
    for condition in facts.conditions:
        if condition.ok is False:
            blocking.append(msg(gettext_noop("Warunek ustawowy niespełniony: %(condition_label)s."), condition_label=condition.name))
        elif condition.ok is None:
            notes.append(msg(gettext_noop("Warunku %(condition_label)s nie można ocenić z danych portalu."),
                             condition_label=condition.name))
    if facts.kind == CLUSTER and not facts.has_jst:
        blocking.append(msg(gettext_noop(
            "Wśród członków klastra nie ma jednostki samorządu terytorialnego ani spółki przez nią kontrolowanej "
            "(art. 2 pkt 15a ustawy o OZE, od 1 stycznia 2024 r.).")))
    start = support_start_date(facts)
    if facts.register_date is None:
        blocking.append(msg(gettext_noop(
            "Klaster nie ma wpisu do rejestru klastrów energii prowadzonego przez Prezesa URE: wsparcie przysługuje "
            "klastrom wpisanym do rejestru.")))
    elif start is not None and start > facts.period_end:
        blocking.append(msg(gettext_noop("Wsparcie przysługuje od %(day)s, po końcu okresu rozliczenia."), day=start.isoformat()))
    elif start is not None and start > facts.period_start:
        notes.append(msg(gettext_noop(
            "Wsparcie przysługuje od %(day)s (wpis do rejestru nr %(number)s z %(entry)s): godziny wcześniejsze nie dają korzyści."),
            day=start.isoformat(), number=facts.register_number or "—", entry=facts.register_date.isoformat()))
    if blocking:
        return Eligibility(eligible=False, benefit_from=None, reasons=tuple(blocking + notes))
    return Eligibility(eligible=True, benefit_from=max(start, facts.period_start) if start else None, reasons=tuple(notes))
