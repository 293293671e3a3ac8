"""The cooperative under Dz.U. 2022 poz. 703: hourly 1 : 1, then 1 : 0.6 netting with carry-forward."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from reports.engine.cooperative import CarriedSurplus, cooperative_netting, hourly_balance

COEF = Decimal("0.6")


def test_hours_balance_one_to_one_and_leave_surplus_and_deficit():
    # hour 1: 10 fed, 4 drawn → 4 balanced, 6 surplus; hour 2: 0 fed, 5 drawn → 5 deficit;
    # hour 3: 3 fed, 3 drawn → 3 balanced
    assert hourly_balance(fed_h=np.array([10, 0, 3]), drawn_h=np.array([4, 5, 3])) == (7, 6, 5)


def test_surplus_nets_against_deficit_at_six_tenths():
    # 6 000 Wh surplus nets 3 600 Wh of a 5 000 Wh deficit; settled = 7 000 + 3 600
    result = cooperative_netting(balanced_wh=7_000, surplus_wh=6_000, deficit_wh=5_000, coefficient=COEF,
                                 period_start=dt.date(2026, 3, 1))
    assert result.netted_wh == 3_600
    assert result.settled_wh == 10_600
    assert result.used_surplus_wh == 6_000
    assert result.carried_out == ()


def test_unused_surplus_is_carried_and_used_next_month_oldest_first():
    march = cooperative_netting(balanced_wh=1_000, surplus_wh=10_000, deficit_wh=3_000, coefficient=COEF,
                                period_start=dt.date(2026, 3, 1))
    # deficit binds: 3 000 Wh netted use 5 000 Wh of surplus, 5 000 Wh carried
    assert march.netted_wh == 3_000 and march.used_surplus_wh == 5_000
    assert march.carried_out == (CarriedSurplus(dt.date(2026, 3, 1), 5_000),)
    april = cooperative_netting(balanced_wh=2_000, surplus_wh=1_000, deficit_wh=6_000, coefficient=COEF,
                                period_start=dt.date(2026, 4, 1), carried_in=march.carried_out)
    # available 5 000 carried + 1 000 own = 6 000 → 3 600 netted, all used; March's surplus goes first
    assert april.carried_in_wh == 5_000
    assert april.netted_wh == 3_600 and april.settled_wh == 5_600
    assert april.carried_out == ()


def test_carried_surplus_expires_after_twelve_months():
    old = CarriedSurplus(dt.date(2025, 2, 1), 4_000)
    recent = CarriedSurplus(dt.date(2025, 3, 1), 1_000)
    result = cooperative_netting(balanced_wh=0, surplus_wh=0, deficit_wh=10_000, coefficient=COEF,
                                 period_start=dt.date(2026, 3, 1), carried_in=[old, recent])
    assert result.expired_wh == 4_000 and result.carried_in_wh == 1_000
    assert result.netted_wh == 600


def test_partial_use_keeps_the_younger_remainder():
    carried = [CarriedSurplus(dt.date(2026, 1, 1), 1_000), CarriedSurplus(dt.date(2026, 2, 1), 2_000)]
    result = cooperative_netting(balanced_wh=0, surplus_wh=500, deficit_wh=1_200, coefficient=COEF,
                                 period_start=dt.date(2026, 3, 1), carried_in=carried)
    # 1 200 Wh deficit needs 2 000 Wh surplus: all of January, 1 000 of February
    assert result.netted_wh == 1_200 and result.used_surplus_wh == 2_000
    assert result.carried_out == (CarriedSurplus(dt.date(2026, 2, 1), 1_000), CarriedSurplus(dt.date(2026, 3, 1), 500))


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        cooperative_netting(balanced_wh=0, surplus_wh=-1, deficit_wh=0, coefficient=COEF, period_start=dt.date(2026, 1, 1))
    with pytest.raises(ValueError):
        cooperative_netting(balanced_wh=0, surplus_wh=0, deficit_wh=0, coefficient=Decimal(0), period_start=dt.date(2026, 1, 1))
