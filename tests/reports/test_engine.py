"""The hourly engine on hand-computed inputs (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np

from reports.engine import Fee, HourlyInput, RateSegment, Tariff, Tier, hour_axis, hours_for_days

SEED_TARIFF = Tariff(D("229.30"), D("24.21"))
SEED_FEES = (
    Fee("oze", D("0.00")),
    Fee("cogeneration", D("6.18")),
    Fee("green", D("2.3515")),
    Fee("blue", D("1.50135")),
    Fee("white", D("2.0753")),
    Fee("capacity", D("50.00"), cluster=False),
)
SEED_TIERS = tuple(Tier(D(t), D(d)) for t, d in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)])


def period(start: dt.date, end: dt.date) -> tuple[np.ndarray, int]:
    hours = hours_for_days(start=start, end=end)
    return hours, len(hour_axis(hours).days)


def one_segment(n_ppe: int, n_days: int, *, tariffs=(SEED_TARIFF,), tariff_of_ppe=None, exempt=True) -> list[RateSegment]:
    of_ppe = np.zeros(n_ppe, dtype=np.int64) if tariff_of_ppe is None else np.asarray(tariff_of_ppe)
    return [RateSegment(0, n_days, tuple(tariffs), of_ppe, SEED_FEES, exempt)]


def hourly_input(hours, imp, exp, *, share, membership) -> HourlyInput:
    imp, exp = np.asarray(imp, dtype=np.int64), np.asarray(exp, dtype=np.int64)
    membership = np.asarray(membership, dtype=np.int32)
    return HourlyInput(
        hours_utc=hours,
        import_wh=imp,
        export_wh=exp,
        renewable_share=np.asarray(share, dtype=np.float64),
        membership=membership,
        n_members=int(membership.max()) + 1,
    )


def seventy_pct_dataset() -> tuple[HourlyInput, int]:
    """Two consumers (5 : 3) draw 2,000 MWh in 240 hours; a PV member feeds in so that
    exactly 1,400 MWh is shared (with surplus hours that must not count twice)."""
    hours, n_days = period(dt.date(2025, 1, 1), dt.date(2025, 1, 10))
    n = len(hours)
    assert n == 240
    drawn = np.where(np.arange(n) < 200, 8_000_000, 10_000_000)
    fed = np.zeros(n, dtype=np.int64)
    fed[:140] = 2 * drawn[:140]  # surplus hours: only the drawn part is shared
    fed[200:228] = drawn[200:228]
    imp = np.vstack([drawn * 5 // 8, drawn * 3 // 8, np.zeros(n, dtype=np.int64)])
    exp = np.vstack([np.zeros(n), np.zeros(n), fed])
    membership = np.array([[0] * n_days, [1] * n_days, [2] * n_days])
    return hourly_input(hours, imp, exp, share=[0, 0, 1], membership=membership), n_days


# --- tests ------------------------------------------------------------------

import pytest  # noqa: E402

from reports.engine import STATIC, quarters_to_hours, settle  # noqa: E402

KWH = 1000


def small(imp, exp, *, share, membership, start=dt.date(2025, 6, 2), end=None):
    hours, n_days = period(start, end or start)
    imp, exp = np.asarray(imp), np.asarray(exp)
    n = len(hours)
    pad = lambda a: np.pad(a, ((0, 0), (0, n - a.shape[1])))  # noqa: E731
    return hourly_input(hours, pad(imp), pad(exp), share=share, membership=membership), n_days


def test_it_shares_min_of_fed_and_drawn_per_hour_surplus_and_deficit():
    # hour 0: PV 10 kWh, draw 4 → shared 4 (surplus 6 not shared); hour 1: PV 3, draw 8 → 3
    data, n_days = small([[4 * KWH, 8 * KWH], [0, 0]], [[0, 0], [10 * KWH, 3 * KWH]], share=[0, 1], membership=[[0], [1]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(2, n_days))
    assert (r.drawn_wh, r.shared_wh, r.fed_in_wh) == (12 * KWH, 7 * KWH, 13 * KWH)
    assert r.tier is None  # 58.33 % < 60 %
    assert r.autoconsumption_pct == D("58.33")
    assert r.discount == D("0.00")
    # each fee on 0.007 MWh rounded: cogeneration 0.04326 → 0.04, green 0.01646 → 0.02,
    # blue 0.01051 → 0.01, white 0.01453 → 0.01, OZE 0 → total 0.08
    assert r.exemptions == {"oze": D("0.00"), "cogeneration": D("0.04"), "green": D("0.02"), "blue": D("0.01"), "white": D("0.01")}
    assert r.exemptions_total == D("0.08")


def test_it_counts_only_hours_in_which_the_ppe_is_a_member():
    # two days; the consumer joins on day 2: its day-1 draw and the PV's day-1 export don't count
    hours, n_days = period(dt.date(2025, 6, 2), dt.date(2025, 6, 3))
    imp = np.zeros((2, len(hours)), dtype=np.int64)
    exp = np.zeros_like(imp)
    imp[0, 12], imp[0, 36] = 5 * KWH, 6 * KWH
    exp[1, 12], exp[1, 36] = 9 * KWH, 9 * KWH
    data = hourly_input(hours, imp, exp, share=[0, 1], membership=[[-1, 0], [1, 1]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(2, n_days))
    assert (r.drawn_wh, r.shared_wh) == (6 * KWH, 6 * KWH)
    assert r.fed_in_wh == 18 * KWH  # the PV is a member on both days
    assert r.tier.threshold_pct == 100


def test_it_follows_a_ppe_that_moves_between_members():
    hours, n_days = period(dt.date(2025, 6, 2), dt.date(2025, 6, 3))
    imp = np.zeros((2, len(hours)), dtype=np.int64)
    exp = np.zeros_like(imp)
    imp[0, 10], imp[0, 34] = 2 * KWH, 3 * KWH
    exp[1, :] = 10 * KWH
    data = hourly_input(hours, imp, exp, share=[0, 1], membership=[[0, 2], [1, 1]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(2, n_days))
    by_member = {m.member: m for m in r.members}
    assert by_member[0].shared_wh == 2 * KWH and by_member[2].shared_wh == 3 * KWH
    assert [p.ppe for p in by_member[2].ppes] == [0]


def test_it_splits_a_mixed_ppe_export_by_renewable_capacity():
    # PPE with 60 kW PV + 40 kW gas CHP exports 10 kWh: 6 kWh renewable
    data, n_days = small([[9 * KWH], [0]], [[0], [10 * KWH]], share=[0, 0.6], membership=[[0], [1]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(2, n_days))
    assert (r.renewable_fed_in_wh, r.shared_wh, r.fed_in_wh) == (6 * KWH, 6 * KWH, 10 * KWH)


@pytest.mark.parametrize(("day", "n_hours"), [(dt.date(2025, 3, 30), 23), (dt.date(2025, 10, 26), 25)])
def test_it_settles_the_dst_days_hour_by_hour(day, n_hours):
    hours, n_days = period(day, day)
    assert (len(hours), n_days) == (n_hours, 1)
    imp = np.vstack([np.full(n_hours, 2 * KWH), np.zeros(n_hours)])
    exp = np.vstack([np.zeros(n_hours), np.full(n_hours, KWH)])
    data = hourly_input(hours, imp, exp, share=[0, 1], membership=[[0], [1]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(2, n_days))
    assert (r.drawn_wh, r.shared_wh) == (2 * KWH * n_hours, KWH * n_hours)
    assert r.n_hours == n_hours
    # the mean local day: 25-hour day has two clock hours "2"
    profile = {p["hour"]: p["drawn_wh"] for p in r.hourly_profile}
    assert profile[2] == (0 if n_hours == 23 else 4 * KWH) and profile[5] == 2 * KWH


def test_it_aggregates_15_minute_data_to_hours():
    quarters = np.array([[250, 250, 250, 250, 1000, 0, 0, 0]])
    assert quarters_to_hours(quarters).tolist() == [[1000, 1000]]
    with pytest.raises(ValueError):
        quarters_to_hours(np.zeros((1, 6)))


def test_it_allocates_by_static_keys_capped_at_the_draw():
    # hour 0: shared 10; keys 1:1; A draws 2 → capped, B gets 8 of its 20
    # hour 1: A draws nothing → B gets all 6 shared (keys renormalised among drawers)
    imp = [[2 * KWH, 0], [20 * KWH, 10 * KWH], [0, 0]]
    exp = [[0, 0], [0, 0], [10 * KWH, 6 * KWH]]
    data, n_days = small(imp, exp, share=[0, 0, 1], membership=[[0], [1], [2]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(3, n_days), allocation=STATIC, keys=np.array([1, 1, 0]))
    shared = {m.member: m.shared_wh for m in r.members}
    assert shared == {0: 2 * KWH, 1: 14 * KWH, 2: 0}
    pro = settle(data=data, tiers=SEED_TIERS, segments=one_segment(3, n_days))
    # pro rata: hour 0 → A 10×2/22, B 10×20/22; hour 1 → B 6
    assert {m.member: m.shared_wh for m in pro.members} == {0: 909, 1: 15091, 2: 0}


def test_it_uses_each_ppe_tariff_for_its_discount():
    cheap, dear = Tariff(D("100"), D("0")), Tariff(D("300"), D("0"))
    imp = [[1 * MWH_, 0], [1 * MWH_, 0], [0, 0]]
    exp = [[0, 0], [0, 0], [2 * MWH_, 0]]
    data, n_days = small(imp, exp, share=[0, 0, 1], membership=[[0], [1], [2]])
    segments = one_segment(3, n_days, tariffs=(cheap, dear), tariff_of_ppe=[0, 1, 0])
    r = settle(data=data, tiers=SEED_TIERS, segments=segments)
    assert r.tier.discount_pct == 25
    discounts = {m.member: m.discount for m in r.members}
    assert discounts[0] == D("25.00") and discounts[1] == D("75.00") and r.discount == D("100.00")


def test_it_stops_exemptions_after_the_exemption_end():
    hours, n_days = period(dt.date(2029, 12, 31), dt.date(2030, 1, 1))
    imp = np.vstack([np.full(len(hours), MWH_), np.zeros(len(hours))])
    exp = np.vstack([np.zeros(len(hours)), np.full(len(hours), MWH_)])
    data = hourly_input(hours, imp, exp, share=[0, 1], membership=[[0, 0], [1, 1]])
    of_ppe = np.zeros(2, dtype=np.int64)
    segments = [
        RateSegment(0, 1, (SEED_TARIFF,), of_ppe, SEED_FEES, True),
        RateSegment(1, 2, (SEED_TARIFF,), of_ppe, SEED_FEES, False),
    ]
    r = settle(data=data, tiers=SEED_TIERS, segments=segments)
    assert r.shared_wh == 48 * MWH_
    assert r.exemptions["cogeneration"] == D("148.32")  # 24 MWh × 6.18, only 31 Dec 2029
    assert r.discount == D("3042.12")  # 48 MWh × 25 % × 253.51, both days


def test_it_splits_grosze_so_member_lines_add_up():
    # three equal members share 1 kWh: 0.0121… zł of exemptions cannot split evenly
    imp = [[KWH], [KWH], [KWH], [0]]
    exp = [[0], [0], [0], [3 * KWH]]
    data, n_days = small(imp, exp, share=[0, 0, 0, 1], membership=[[0], [1], [2], [3]])
    r = settle(data=data, tiers=SEED_TIERS, segments=one_segment(4, n_days))
    assert sum(m.total for m in r.members) == r.total
    for code in r.exemptions:
        assert sum(m.exemptions[code] for m in r.members) == r.exemptions[code]


MWH_ = 1_000_000


def test_streamed_chunks_give_identical_flows():
    """The engine's result does not depend on how the meter data arrive (chunk sizes, int32 vs int64)."""
    from reports.engine import HourlyStream, energy_flows

    hours = hours_for_days(start=dt.date(2025, 3, 29), end=dt.date(2025, 4, 1))
    rng = np.random.default_rng(3)
    n_ppe, n_hours = 7, len(hours)
    imp = rng.integers(0, 5000, (n_ppe, n_hours))
    exp = rng.integers(0, 7000, (n_ppe, n_hours)) * (rng.random(n_ppe) > 0.5)[:, None]
    membership = np.full((n_ppe, 4), 1, dtype=np.int32)
    membership[::2] = 0
    membership[3, 2:] = -1
    share = rng.random(n_ppe)
    whole = energy_flows(
        data=HourlyInput(hours_utc=hours, import_wh=imp, export_wh=exp, renewable_share=share,
                         membership=membership, n_members=2),
        chunk_rows=3,
    )
    cuts = [0, 1, 5, 7]
    streamed = energy_flows(
        data=HourlyStream(hours_utc=hours, chunks=((imp[a:b].astype(np.int32), exp[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)),
                          renewable_share=share, membership=membership, n_members=2),
        chunk_rows=3,
    )
    for name in ("drawn_h", "renewable_h", "shared_h", "settled_h", "daily_drawn", "daily_shared", "daily_settled"):
        assert np.array_equal(getattr(whole, name), getattr(streamed, name)), name
