"""Storage dispatch and scenarios on hand-computed hourly totals."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from reports.engine import StorageSpec, storage_dispatch, storage_simulate
from tests.reports.test_engine import SEED_TIERS

MWH = 1_000_000


def test_it_charges_from_surplus_and_discharges_into_deficit_with_losses():
    renewable = np.array([10, 10, 0, 0, 0]) * 1000.0
    drawn = np.array([4, 4, 5, 5, 5]) * 1000.0
    # 5 kW / 8 kWh / 80 %: charges 5 + 5 kWh → stores 4 + 4 = 8; delivers 5, 3, 0
    charge, discharge = storage_dispatch(renewable_h=renewable, drawn_h=drawn, power_wh=5000, capacity_wh=8000, efficiency=0.8)
    assert charge.tolist() == [5000, 5000, 0, 0, 0]
    assert discharge.tolist() == [0, 0, 5000, 3000, 0]


def test_it_raises_the_level_and_tier_and_values_the_shifted_energy():
    # 10 h surplus of 1 MWh, 10 h deficit of 1 MWh; base: shared 690 of 1,000 MWh drawn (69 %)
    renewable = np.array([2.0] * 10 + [0.0] * 10) * MWH
    drawn = np.array([1.0] * 20) * MWH
    scenarios = storage_simulate(
        renewable_h=renewable,
        drawn_h=drawn,
        shared_wh=690 * MWH,
        drawn_wh=1000 * MWH,
        tiers=SEED_TIERS,
        shared_rate_exact=D("253.51") * 690,
        shared_fees_exact=D("12.10815") * 690,
        specs=[StorageSpec("none", D(0), D(0), D("0.9")), StorageSpec("big", D(1000), D(20000), D("1"))],
        price_spread=D("180"),
    )
    none, big = scenarios
    assert (none.shifted_wh, none.gain, none.tier.threshold_pct) == (0, D("0.00"), 60)
    assert big.shifted_wh == 10 * MWH and big.shared_wh == 700 * MWH
    assert big.autoconsumption_pct == D("70.00") and big.tier.threshold_pct == 70
    # 700 MWh at 10 %: 17,745.70 + 8,475.705 = 26,221.405 → 26,221.41
    assert big.total == D("26221.41")
    assert big.spread_value == D("1800.00")  # 10 MWh × 180 zł/MWh
    # base 690 MWh at 5 %: 8,746.095 + 8,354.6235 = 17,100.7185 → 17,100.72
    assert big.gain == D("9120.69")


def test_it_values_shifted_energy_at_hourly_prices():
    renewable = np.array([2.0, 0.0]) * MWH
    drawn = np.array([1.0, 1.0]) * MWH
    (s,) = storage_simulate(
        renewable_h=renewable, drawn_h=drawn, shared_wh=MWH, drawn_wh=2 * MWH, tiers=SEED_TIERS,
        shared_rate_exact=D("253.51"), shared_fees_exact=D("12.10815"),
        specs=[StorageSpec("s", D(1000), D(1000), D("0.5"))], prices=np.array([100.0, 400.0]),
    )
    # charges 1 MWh at 100, stores 0.5, delivers 0.5 MWh at 400: 200 − 100 = 100 zł
    assert s.shifted_wh == MWH // 2 and s.spread_value == D("100.00")
