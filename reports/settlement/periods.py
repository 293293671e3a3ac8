"""The period over which the autoconsumption level and the tier are evaluated (``SettlementRule.evaluation_period``).

``month`` (the default): the DSO's billing period; every run's level sets its own tier and its figures are final.
``year``: the calendar year; a run shorter than a whole calendar year evaluates the level over its own period
only, so its figures are provisional, and the annual statement corrects them from the whole-year run
(``reports.statements.annual``). docs/domain.md explains both readings.
"""

from __future__ import annotations

import datetime as dt

from reports.models import LevelPeriod


def level_period_provisional(*, evaluation_period: str, period_start: dt.date, period_end: dt.date) -> bool:
    """A run's figures are provisional under the rule: the level is evaluated over the calendar year and
    the run does not settle one whole calendar year."""
    if evaluation_period != LevelPeriod.YEAR:
        return False
    return not (period_start == dt.date(period_start.year, 1, 1) and period_end == dt.date(period_start.year, 12, 31))


def run_level_provisional(run) -> bool:
    """``level_period_provisional`` for a finished run, from the rule its snapshot recorded."""
    rule = (run.snapshot or {}).get("rule") or {}
    return level_period_provisional(
        evaluation_period=rule.get("evaluation_period") or LevelPeriod.MONTH,
        period_start=run.period_start, period_end=run.period_end,
    )
