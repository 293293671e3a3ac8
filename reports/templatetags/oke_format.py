"""Template filters ``{% load oke_format %}``: the functions of ``okeportal.formatting``.

Numbers: ``number`` (alias ``plnum``), ``zl``, ``zl_per_mwh``, ``mwh``, ``kwh``, ``pct``,
``tier_label``. Dates: ``day`` (a date), ``when`` (a moment, local time), ``month``
(``listopad 2026``), ``period`` (``{{ start|period:end }}``) and ``period_of``
(``{{ run|period_of }}``). Each follows the active language.
"""

from __future__ import annotations

from django import template

from okeportal.formatting import (
    DASH,
    NBSP,
    day,
    format_by_key,
    kwh,
    month,
    mwh,
    number,
    pct,
    period,
    period_of,
    plnum,
    tier_label,
    to_decimal,
    when,
    zl,
    zl_per_mwh,
)

register = template.Library()

for _filter in (number, zl, zl_per_mwh, mwh, kwh, pct, tier_label, day, when, month, period, period_of):
    register.filter(_filter.__name__, _filter)
register.filter("plnum", plnum)

__all__ = [
    "DASH", "NBSP", "day", "format_by_key", "kwh", "month", "mwh", "number", "pct", "period", "period_of",
    "plnum", "tier_label", "to_decimal", "when", "zl", "zl_per_mwh",
]
