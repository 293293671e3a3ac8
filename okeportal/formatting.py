"""Number formatting for pages and PDFs (templates: ``{% load oke_format %}``).

``1 234,56 zł``, ``1 400,000 MWh``, ``87,12 %``: decimal comma, a non-breaking
space between thousands and before the unit (so a figure never wraps), and
ROUND_HALF_UP, the rounding the statements use for money (engine/money.py).
Missing values print as an em dash. Services, views and the PDF builder import
these functions; ``reports.templatetags.oke_format`` registers them as filters.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

NBSP = "\u00a0"
DASH = "—"
WH_PER_MWH = Decimal(1_000_000)
WH_PER_KWH = Decimal(1_000)


def to_decimal(value: Any) -> Decimal | None:
    """Decimal of a Decimal, int, float or decimal string ("1234.5" or "1234,5"); None if not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(NBSP, "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
    return number if number.is_finite() else None


def plnum(value: Any, decimals: int | str = 2) -> str:
    """``1234567.891`` → ``1 234 567,89`` (NBSP-grouped, decimal comma, half-up)."""
    number = to_decimal(value)
    if number is None:
        return DASH
    places = max(int(decimals), 0)
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    integer, _dot, fraction = f"{abs(rounded):f}".partition(".")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    text = NBSP.join(groups)
    return f"{sign}{text},{fraction}" if places else f"{sign}{text}"


def _with_unit(number: str, unit: str) -> str:
    return number if number == DASH else f"{number}{NBSP}{unit}"


def zl(value: Any) -> str:
    """Money: ``Decimal("31191.78")`` → ``31 191,78 zł``, rounded half-up to the grosz."""
    return _with_unit(plnum(value, 2), "zł")


def zl_per_mwh(value: Any) -> str:
    return _with_unit(plnum(value, 2), "zł/MWh")


def mwh(value: Any, decimals: int | str = 3) -> str:
    """Energy given in Wh (integer): ``1_400_000_000`` → ``1 400,000 MWh``."""
    number = to_decimal(value)
    return _with_unit(plnum(None if number is None else number / WH_PER_MWH, decimals), "MWh")


def kwh(value: Any, decimals: int | str = 3) -> str:
    """Energy given in Wh (integer): ``1234`` → ``1,234 kWh``."""
    number = to_decimal(value)
    return _with_unit(plnum(None if number is None else number / WH_PER_KWH, decimals), "kWh")


def pct(value: Any, decimals: int | str = 2) -> str:
    """A percentage (not a fraction): ``87.123`` → ``87,12 %``."""
    return _with_unit(plnum(value, decimals), "%")


def tier_label(tier: Any) -> str:
    """A discount tier ``{threshold_pct, discount_pct}`` → ``≥ 70 % → upust 10 %``; none → a dash."""
    if not isinstance(tier, dict) or tier.get("discount_pct") is None:
        return _("brak progu")
    return _("≥ %(threshold)s → upust %(discount)s") % {
        "threshold": pct(tier.get("threshold_pct"), 0),
        "discount": pct(tier.get("discount_pct"), 0),
    }


def format_by_key(key: str, value: Any) -> str:
    """Format a value of a totals/diff key by its name: ``*_wh`` energy, ``*_pct`` percent, else money."""
    if isinstance(value, dict):
        return tier_label(value) if "discount_pct" in value else DASH
    if value is None:
        return DASH
    if key.endswith("_wh"):
        return mwh(value)
    if key.endswith("_pct"):
        return pct(value)
    if key in ("members", "ppes", "hours"):
        return plnum(value, 0)
    return zl(value)
