"""Template filters ``{% load oke_format %}``: the functions of ``okeportal.formatting``."""

from __future__ import annotations

from django import template

from okeportal.formatting import DASH, NBSP, format_by_key, kwh, mwh, pct, plnum, tier_label, to_decimal, zl, zl_per_mwh

register = template.Library()

for _filter in (plnum, zl, zl_per_mwh, mwh, kwh, pct, tier_label):
    register.filter(_filter.__name__, _filter)

__all__ = ["DASH", "NBSP", "format_by_key", "kwh", "mwh", "pct", "plnum", "tier_label", "to_decimal", "zl", "zl_per_mwh"]
