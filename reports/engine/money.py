"""Money and energy conversions for the settlement engine.

Rounding points (ROUND_HALF_UP to the grosz, 0.01 zł), in this order:

1. Rates are never rounded. A fee set as obligation × price stays unrounded
   (5 % × 47.03 = 2.3515 zł/MWh, 0.5 % × 300.27 = 1.50135 zł/MWh): the seed's
   totals (Tables 3, 6, 8) are only reproducible that way.
2. Energy enters money as integer Wh; ``Wh × zł/MWh / 1 000 000`` is exact in
   ``Decimal``.
3. A cluster amount (the discount; each exempt fee separately) is the exact sum
   over PPEs, hours and tariffs, rounded to the grosz ONCE. The exemptions total
   is the sum of the rounded fees, the total is discount + exemptions total
   (Table 3: 16,951.41 = 3,292.10 + 2,101.89 + 2,905.42 + 8,652.00 + 0.00).
4. A member's amount is its share of the rounded cluster amount: the exact
   member amounts are rounded down to the grosz and the missing grosze go to the
   largest remainders (Hamilton). Member lines therefore always add up to the
   cluster totals, and no member is off by more than one grosz.
5. Figures per MWh are the rounded total divided by the energy, rounded to the
   grosz (Table 3, 80 %: 80,215.44 / 1,600 = 50.13, not 38.03 + 12.11).
6. Unit figures (Table 2: discount per MWh = tier % × rate) are rounded for
   display only and never multiplied back into totals.
7. Gross (``vat_gross``), for a member that does not deduct VAT: the member's
   rounded net total × (1 + VAT rate / 100), rounded to the grosz ONCE
   (20,977.13 zł × 1.23 = 25,801.8699 → 25,801.87 zł). Only the total is shown
   gross; the components stay net (a gross per component, each rounded, would
   not always add up to the gross total).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

GROSZ = Decimal("0.01")
WH_PER_MWH = Decimal(1_000_000)
ZERO = Decimal("0.00")


def money_round(value: Decimal) -> Decimal:
    return value.quantize(GROSZ, rounding=ROUND_HALF_UP)


def money_str(value: Decimal) -> str:
    """A rounded amount as the decimal string stored in JSON fields."""
    return str(money_round(value))


def wh_amount(*, wh: int, rate: Decimal) -> Decimal:
    """Exact zł for ``wh`` at ``rate`` zł/MWh (not rounded: see point 2)."""
    return Decimal(int(wh)) * rate / WH_PER_MWH


def mwh(wh: int) -> Decimal:
    return Decimal(int(wh)) / WH_PER_MWH


def per_mwh(*, amount: Decimal, wh: int) -> Decimal:
    """Point 5: a rounded amount per MWh, rounded to the grosz; 0.00 without energy."""
    if not wh:
        return ZERO
    return money_round(amount / mwh(wh))


def grosze_split(*, total: Decimal, exact: Sequence[Decimal]) -> list[Decimal]:
    """Point 4: split the rounded ``total`` in proportion to the ``exact`` parts.

    Parts are floored to the grosz; the remaining grosze go one each to the
    largest remainders (ties to the earlier part, so the result is stable).
    """
    if not exact:
        return []
    weight = sum(exact, Decimal(0))
    if weight == 0:
        return [ZERO for _ in exact]
    scaled = [total * part / weight for part in exact]
    floors = [s.quantize(GROSZ, rounding=ROUND_FLOOR) for s in scaled]
    left = int(((total - sum(floors, Decimal(0))) / GROSZ).to_integral_value(rounding=ROUND_HALF_UP))
    order = sorted(range(len(exact)), key=lambda i: (-(scaled[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += GROSZ
    return floors


def vat_gross(*, net: Decimal, vat_rate_pct: Decimal) -> Decimal:
    """Point 7: the gross amount of a rounded net amount at ``vat_rate_pct`` %, rounded half-up to the grosz."""
    return money_round(net * (Decimal(100) + vat_rate_pct) / Decimal(100))


def pct_of(*, part: int, whole: int) -> Decimal:
    """A share of integer energies as a percentage with 2 decimals (display only)."""
    if not whole:
        return Decimal("0.00")
    return (Decimal(int(part)) * 100 / Decimal(int(whole))).quantize(GROSZ, rounding=ROUND_HALF_UP)
