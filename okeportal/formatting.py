"""Numbers, dates and periods as people read them, in the active language.

One layer for pages, e-mails and PDFs (templates: ``{% load oke_format %}``):

============  ==========================  ==========================
              Polish (``pl``, default)     English (``en``)
============  ==========================  ==========================
number        ``1 234 567,89``            ``1,234,567.89``
money         ``1 234,56 zł``             ``1,234.56 PLN``
energy        ``68,734 MWh``              ``68.734 MWh``
percent       ``6,66 %``                  ``6.66%``
date          ``01.11.2026``              ``2026-11-01``
date + time   ``01.11.2026 14:05``        ``2026-11-01 14:05``
month         ``listopad 2026``           ``November 2026``
period        ``01.11.2026 – 30.11.2026`` ``2026-11-01 – 2026-11-30``
============  ==========================  ==========================

Polish groups thousands with a non-breaking space and puts one before the unit
(so a figure never wraps); numbers round half-up, the rounding the statements
use for money (engine/money.py). Times are shown in Europe/Warsaw local time,
never as UTC or ISO strings. Missing values print as an em dash. PDFs are always
Polish: they are rendered under ``translation.override("pl")``. Exports (XLSX)
keep numbers and dates as values and do not use these functions.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

NBSP = "\u00a0"
DASH = "—"
WH_PER_MWH = Decimal(1_000_000)
WH_PER_KWH = Decimal(1_000)

MONTHS = {
    "pl": ["styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec",
           "lipiec", "sierpień", "wrzesień", "październik", "listopad", "grudzień"],
    "en": ["January", "February", "March", "April", "May", "June",
           "July", "August", "September", "October", "November", "December"],
}


def active_language() -> str:
    """``"en"`` on English pages, ``"pl"`` everywhere else (the portal's default)."""
    return "en" if (get_language() or "").lower().startswith("en") else "pl"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- numbers ---------------------------------------------------------------------


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


def number(value: Any, decimals: int | str = 2) -> str:
    """``1234567.891`` → ``1 234 567,89`` (Polish) / ``1,234,567.89`` (English), rounded half-up.

    Negative ``decimals`` (as in Django's floatformat): up to that many places, trailing
    zeros dropped (``number(Decimal("229.3000"), -3)`` → ``229,3``; ``12.000`` → ``12``).
    """
    parsed = to_decimal(value)
    if parsed is None:
        return DASH
    wanted = int(decimals)
    places = abs(wanted)
    rounded = parsed.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if wanted < 0:
        rounded = rounded.normalize() if rounded else Decimal(0)
        exponent = rounded.as_tuple().exponent  # an int: the value is finite
        places = max(-int(exponent), 0)
        rounded = rounded.quantize(Decimal(1).scaleb(-places))
    sign = "-" if rounded < 0 else ""
    integer, _dot, fraction = f"{abs(rounded):f}".partition(".")
    groups: list[str] = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    thousands, point = (",", ".") if active_language() == "en" else (NBSP, ",")
    text = thousands.join(groups)
    return f"{sign}{text}{point}{fraction}" if places else f"{sign}{text}"


# The filter name templates and callers have used since numbers were Polish only;
# it follows the active language like every other function here.
plnum = number


def _with_unit(text: str, unit: str) -> str:
    return text if text == DASH else f"{text}{NBSP}{unit}"


def currency() -> str:
    return "PLN" if active_language() == "en" else "zł"


def zl(value: Any) -> str:
    """Money: ``Decimal("31191.78")`` → ``31 191,78 zł`` / ``31,191.78 PLN``, half-up to the grosz."""
    return _with_unit(number(value, 2), currency())


def zl_per_mwh(value: Any) -> str:
    return _with_unit(number(value, 2), f"{currency()}/MWh")


def mwh(value: Any, decimals: int | str = 3) -> str:
    """Energy given in Wh (integer): ``1_400_000_000`` → ``1 400,000 MWh`` / ``1,400.000 MWh``."""
    parsed = to_decimal(value)
    return _with_unit(number(None if parsed is None else parsed / WH_PER_MWH, decimals), "MWh")


def kwh(value: Any, decimals: int | str = 3) -> str:
    """Energy given in Wh (integer): ``1234`` → ``1,234 kWh`` / ``1.234 kWh``."""
    parsed = to_decimal(value)
    return _with_unit(number(None if parsed is None else parsed / WH_PER_KWH, decimals), "kWh")


def pct(value: Any, decimals: int | str = 2) -> str:
    """A percentage (not a fraction): ``87.123`` → ``87,12 %`` / ``87.12%``."""
    text = number(value, decimals)
    if text == DASH:
        return text
    return f"{text}%" if active_language() == "en" else f"{text}{NBSP}%"


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
        return number(value, 0)
    return zl(value)


# --- dates, times, periods ----------------------------------------------------------


def _parse(value: Any) -> dt.date | dt.datetime | None:
    """A date or datetime from itself or its ISO text ("2026-11-30", "2026-11-30T23:00:00+00:00")."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) <= 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def to_local(value: dt.datetime) -> dt.datetime:
    """An aware datetime in Europe/Warsaw local time (a naive one is taken as local already)."""
    return value.astimezone(local_zone()) if value.tzinfo is not None else value


def to_date(value: Any) -> dt.date | None:
    """The local calendar day of a date, an aware datetime or their ISO text; None if neither."""
    parsed = _parse(value)
    if isinstance(parsed, dt.datetime):
        return to_local(parsed).date()
    return parsed


def _date_text(day_: dt.date) -> str:
    return day_.strftime("%Y-%m-%d") if active_language() == "en" else day_.strftime("%d.%m.%Y")


def day(value: Any) -> str:
    """A date: ``01.11.2026`` (Polish, day first) / ``2026-11-01`` (English); a datetime gives its local day."""
    parsed = to_date(value)
    return DASH if parsed is None else _date_text(parsed)


def when(value: Any) -> str:
    """A moment in local time: ``01.11.2026 14:05`` / ``2026-11-01 14:05``; a plain date gives the date."""
    parsed = _parse(value)
    if parsed is None:
        return DASH
    if not isinstance(parsed, dt.datetime):
        return _date_text(parsed)
    local = to_local(parsed)
    return f"{_date_text(local.date())} {local:%H:%M}"


def month(value: Any) -> str:
    """A calendar month: ``listopad 2026`` / ``November 2026`` (from a date, a datetime or ``"2026-11"``)."""
    if isinstance(value, str) and len(value.strip()) == 7:
        value = f"{value.strip()}-01"
    parsed = to_date(value)
    if parsed is None:
        return DASH
    return f"{MONTHS[active_language()][parsed.month - 1]} {parsed.year}"


def period(start: Any, end: Any = None) -> str:
    """A range of days: ``01.11.2026 – 30.11.2026``; one day alone; no end: ``01.11.2026 – …``."""
    first, last = to_date(start), to_date(end)
    if first is None and last is None:
        return DASH
    if first is not None and first == last:
        return _date_text(first)
    left = DASH if first is None else _date_text(first)
    right = "…" if last is None else _date_text(last)
    return f"{left} – {right}"


def period_of(obj: Any) -> str:
    """``period`` of anything with ``period_start`` / ``period_end`` (a settlement run)."""
    return period(getattr(obj, "period_start", None), getattr(obj, "period_end", None))
