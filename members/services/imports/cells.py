"""Parsing single cells of the registry files; each raises ``CellError`` with a Polish message."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_noop

from okeportal.messages import MsgStr, msg_str


class CellError(ValueError):
    """A cell that cannot be read; its message is a ``MsgStr`` (the text and its code)."""

    def __str__(self) -> str:
        message = self.args[0] if self.args else ""
        return message if isinstance(message, MsgStr) else str(message)


_DATE_PL = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


def parse_date(value: str) -> dt.date:
    """ISO ``2024-01-31`` or Polish ``31.01.2024``."""
    try:
        m = _DATE_PL.match(value)
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        return dt.date.fromisoformat(value[:10] if len(value) > 10 and value[10] in "T " else value)
    except ValueError:
        raise CellError(
            msg_str(gettext_noop("„%(v)s” nie jest prawidłową datą (format RRRR-MM-DD, np. 2024-01-31, albo DD.MM.RRRR)."), v=value)
        ) from None


def parse_decimal(value: str, *, places: int, digits: int, minimum: Decimal = Decimal(0)) -> Decimal:
    """A number with a decimal comma or point; spaces as thousands separators are ignored."""
    text = _SPACES.sub("", value).replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(msg_str(gettext_noop("„%(v)s” nie jest liczbą (np. 12,5 albo 12.5)."), v=value)) from None
    if not number.is_finite():
        raise CellError(msg_str(gettext_noop("„%(v)s” nie jest liczbą."), v=value))
    if number.is_zero():
        number = Decimal(0)  # "-0" and "0E+1000000" are plain zero
    elif number.adjusted() >= digits - places:
        # Before any arithmetic: exponents past the context's range (1e1000000) trap in comparisons.
        raise CellError(msg_str(gettext_noop("„%(v)s”: liczba jest za duża."), v=value))
    elif number.adjusted() < -places:
        raise CellError(msg_str(gettext_noop("„%(v)s”: najwyżej %(p)s miejsc po przecinku."), v=value, p=places))
    if number < minimum:
        raise CellError(msg_str(gettext_noop("wartość %(v)s jest mniejsza niż %(min)s."), v=value, min=minimum))
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise CellError(msg_str(gettext_noop("„%(v)s”: najwyżej %(p)s miejsc po przecinku."), v=value, p=places))
    if abs(number) >= Decimal(10) ** (digits - places):
        raise CellError(msg_str(gettext_noop("„%(v)s”: liczba jest za duża."), v=value))
    return number.quantize(Decimal(1).scaleb(-places))


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in {"1", "tak", "t", "true", "yes", "y", "x"}:
        return True
    if v in {"", "0", "nie", "n", "false", "no"}:
        return False
    raise CellError(msg_str(gettext_noop("„%(v)s”: wpisz tak albo nie."), v=value))


def parse_choice(value: str, *, choices: list[str]) -> str:
    for choice in choices:
        if value == choice or value.lower() == choice.lower():
            return choice
    raise CellError(
        msg_str(gettext_noop("„%(v)s” nie jest dozwoloną wartością; dozwolone: %(c)s."), v=value, c=", ".join(choices))
    )


def parse_percent_fraction(value: str) -> Decimal:
    """Efficiency as a fraction (0,9) or with a percent sign (90 %)."""
    text = value.strip()
    if text.endswith("%"):
        number = parse_decimal(text[:-1], places=3, digits=6) / 100
    else:
        number = parse_decimal(text, places=3, digits=4)
    if not Decimal("0.01") <= number <= 1:
        raise CellError(msg_str(gettext_noop("sprawność „%(v)s” musi być między 0,01 a 1 (albo 1–100 %%)."), v=value))
    return number.quantize(Decimal("0.001"))


_REGIMES = {
    "ordinary": "ordinary", "zwykly": "ordinary", "zwykły": "ordinary",
    "net_metering": "net_metering", "net-metering": "net_metering", "opusty": "net_metering",
    "net_billing": "net_billing", "net-billing": "net_billing",
}


def parse_regime(value: str) -> str:
    """A PPE's billing regime: ordinary (zwykły), net_metering (net-metering, opusty), net_billing (net-billing)."""
    regime = _REGIMES.get(value.strip().lower())
    if regime is None:
        raise CellError(msg_str(gettext_noop(
            "„%(v)s”: nieznany sposób rozliczenia (dozwolone: ordinary, net_metering, net_billing)."), v=value[:40]))
    return regime
