from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command

from members.models import Source
from reports.metering.selectors import completeness, measured_energy
from reports.metering.store import Block, MeterStoreError, hourly_matrix, meter_blocks_upsert, meter_days_upsert
from reports.metering.synthetic import synthetic_readings
from reports.models import MeterDay, Quality
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory

UTC = dt.UTC
WARSAW = ZoneInfo("Europe/Warsaw")
M, E, X = Quality.MEASURED, Quality.ESTIMATED, Quality.MISSING


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def ppe(cluster):
    return MeteringPointFactory(cluster=cluster)


def test_it_stores_a_day_and_reads_it_back_hour_by_hour(ppe):
    meter_days_upsert(
        ppe_id=ppe.id, start_utc=utc(2026, 1, 1), resolution_min=60,
        import_wh=range(24), export_wh=[5] * 24, quality=[M] * 24,
    )
    row = MeterDay.objects.get(ppe=ppe)
    assert row.day == dt.date(2026, 1, 1) and row.resolution_min == 60
    assert np.frombuffer(row.import_wh, "<i8").tolist() == list(range(24))
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2026, 1, 1, 10), end_utc=utc(2026, 1, 2, 2))
    assert data.import_wh.shape == (1, 16)
    assert data.import_wh[0].tolist() == list(range(10, 24)) + [0, 0]
    assert data.present[0].tolist() == [True] * 14 + [False, False]
    assert data.hours[0] == np.datetime64("2026-01-01T10:00:00")


def test_it_splits_a_block_over_utc_days_and_reimport_replaces_without_duplicates(ppe):
    block = Block(
        ppe_id=ppe.id, start_utc=dt.datetime(2026, 1, 1, tzinfo=WARSAW), resolution_min=60,
        import_wh=np.arange(48), export_wh=np.zeros(48, np.int64), quality=np.full(48, M, np.uint8),
    )
    assert meter_blocks_upsert(blocks=[block]) == 3  # local days start at 23:00 UTC
    meter_blocks_upsert(blocks=[block])
    assert MeterDay.objects.filter(ppe=ppe).count() == 3
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2025, 12, 31, 23), end_utc=utc(2026, 1, 2, 23))
    assert data.import_wh[0].tolist() == list(range(48))
    assert data.present.all()


def test_it_keeps_stored_slots_that_a_new_block_does_not_carry(ppe):
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 2, 1), resolution_min=60,
                      import_wh=[100] * 24, export_wh=[0] * 24, quality=[M] * 24)
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 2, 1, 5), resolution_min=60,
                      import_wh=[7, 8, 9], export_wh=[1, 1, 1], quality=[E, X, M])
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2026, 2, 1), end_utc=utc(2026, 2, 2))
    assert data.import_wh[0, 4:8].tolist() == [100, 7, 100, 9]
    assert data.estimated[0, 4:8].tolist() == [False, True, False, False]


def test_it_sums_quarters_to_hours_only_when_all_four_are_present(ppe):
    quality = np.full(96, M, np.uint8)
    quality[5] = X  # hour 1 incomplete
    quality[9] = E  # hour 2 estimated
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 3, 2), resolution_min=15,
                      import_wh=np.full(96, 10), export_wh=np.full(96, 1), quality=quality)
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2026, 3, 2), end_utc=utc(2026, 3, 3))
    assert data.import_wh[0, :3].tolist() == [40, 0, 40]
    assert data.present[0, :3].tolist() == [True, False, True]
    assert data.estimated[0, :3].tolist() == [False, False, True]
    assert MeterDay.objects.get(ppe=ppe).resolution_min == 15


def test_it_converts_a_day_to_hourly_when_resolutions_meet_and_refuses_partial_hours(ppe):
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 1), resolution_min=60,
                      import_wh=[100] * 24, export_wh=[0] * 24, quality=[M] * 24)
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 1, 3), resolution_min=15,
                      import_wh=[1, 2, 3, 4], export_wh=[0] * 4, quality=[M] * 4)
    row = MeterDay.objects.get(ppe=ppe)
    assert row.resolution_min == 60
    assert np.frombuffer(row.import_wh, "<i8")[2:5].tolist() == [100, 10, 100]
    with pytest.raises(MeterStoreError, match="część godziny"):
        meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 1, 5, 15), resolution_min=15,
                          import_wh=[1, 2], export_wh=[0, 0], quality=[M, M])
    with pytest.raises(MeterStoreError, match="wyrównany"):
        meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 1, 5, 30), resolution_min=60,
                          import_wh=[1], export_wh=[0], quality=[M])


def test_it_replaces_an_hourly_day_with_a_full_quarter_hour_day(ppe):
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 2), resolution_min=60,
                      import_wh=[100] * 24, export_wh=[0] * 24, quality=[M] * 24)
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 4, 2), resolution_min=15,
                      import_wh=[5] * 96, export_wh=[0] * 96, quality=[M] * 96)
    assert MeterDay.objects.get(ppe=ppe).resolution_min == 15
    assert hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2026, 4, 2), end_utc=utc(2026, 4, 3)).import_wh.sum() == 480


def _member_ppe(cluster, *, valid_from=dt.date(2024, 1, 1), valid_to=None):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=valid_from, valid_to=valid_to)
    return ppe


def _fill_local(ppe, start: dt.date, end: dt.date, *, quality: int = M) -> None:
    t0 = dt.datetime.combine(start, dt.time(), WARSAW).astimezone(UTC)
    n = int((dt.datetime.combine(end, dt.time(), WARSAW).astimezone(UTC) - t0).total_seconds() // 3600)
    meter_days_upsert(ppe_id=ppe.id, start_utc=t0, resolution_min=60, import_wh=np.full(n, 1000),
                      export_wh=np.zeros(n, np.int64), quality=np.full(n, quality, np.uint8))


@pytest.mark.parametrize(("month", "hours"), [(3, 743), (10, 745), (11, 720)])
def test_it_counts_expected_hours_by_local_month(cluster, month, hours):
    full = _member_ppe(cluster)
    _fill_local(full, dt.date(2026, month, 1), dt.date(2026, month + 1, 1))
    [row] = completeness(cluster=cluster, year=2026, month=month)
    assert (row.expected, row.present, row.missing, row.estimated) == (hours, hours, 0, 0)


def test_it_counts_missing_estimated_and_only_membership_hours(cluster):
    joined = _member_ppe(cluster, valid_from=dt.date(2026, 3, 30))  # two days of March
    _fill_local(joined, dt.date(2026, 3, 1), dt.date(2026, 3, 31))  # 31 March missing
    empty = _member_ppe(cluster)
    estimated = _member_ppe(cluster)
    _fill_local(estimated, dt.date(2026, 3, 29), dt.date(2026, 3, 30), quality=E)  # the 23-hour day
    _member_ppe(cluster, valid_to=dt.date(2026, 2, 28))  # not a member in March: not listed
    rows = {r.ppe.id: r for r in completeness(cluster=cluster, year=2026, month=3)}
    assert len(rows) == 3
    assert (rows[joined.id].expected, rows[joined.id].present, rows[joined.id].missing) == (48, 24, 24)
    assert (rows[empty.id].expected, rows[empty.id].present, rows[empty.id].percent) == (743, 0, Decimal("0.0"))
    assert (rows[estimated.id].present, rows[estimated.id].estimated) == (23, 23)


def test_it_measures_a_complete_year_and_splits_mixed_generation_by_capacity(cluster):
    ppe = _member_ppe(cluster)
    GeneratorFactory(ppe=ppe, source=Source.PV, capacity_kw=Decimal("30"))
    GeneratorFactory(ppe=ppe, source=Source.CHP_GAS, capacity_kw=Decimal("10"))
    t0 = dt.datetime(2025, 1, 1, tzinfo=WARSAW)
    meter_days_upsert(ppe_id=ppe.id, start_utc=t0, resolution_min=60, import_wh=np.full(8760, 2),
                      export_wh=np.full(8760, 4), quality=np.full(8760, M, np.uint8))
    measured = measured_energy(cluster=cluster, year=2025)
    assert measured is not None
    assert (measured.year, measured.drawn_wh, measured.fed_in_wh) == (2025, 17520, 35040)
    assert (measured.renewable_fed_in_wh, measured.generated_wh) == (26280, 35040)
    meter_days_upsert(ppe_id=ppe.id, start_utc=t0, resolution_min=60, import_wh=[0], export_wh=[0], quality=[X])
    assert measured_energy(cluster=cluster, year=2025) is not None  # a MISSING slot never erases data
    _member_ppe(cluster)  # a member PPE without data: the year is not complete
    assert measured_energy(cluster=cluster, year=2025) is None


def test_it_generates_deterministic_plausible_synthetic_data(cluster):
    pv = MeteringPointFactory(cluster=cluster, tariff_group="C11", annual_demand_kwh=Decimal("20000"))
    GeneratorFactory(ppe=pv, source=Source.PV, capacity_kw=Decimal("50"))
    home = MeteringPointFactory(cluster=cluster, tariff_group="G11", annual_demand_kwh=Decimal("2500"))
    ppes = [pv, home]
    one = list(synthetic_readings(ppes=ppes, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), seed=7))
    two = list(synthetic_readings(ppes=ppes, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), seed=7))
    assert all((a.import_wh == b.import_wh).all() and (a.export_wh == b.export_wh).all() for a, b in zip(one, two, strict=True))
    assert len(one[0].import_wh) == 8760
    pv_block, home_block = one
    assert 2000 <= home_block.import_wh.sum() / 1000 <= 3000
    assert home_block.export_wh.sum() == 0
    net_generation = (pv_block.export_wh.sum() - pv_block.import_wh.sum()) / 1000 + 20000
    assert 40_000 <= net_generation <= 60_000  # ~1,000 kWh/kWp
    assert pv_block.export_wh.reshape(-1, 24)[:, :3].sum() == 0  # no sun at night (UTC 23–02 local)


def test_it_loads_demo_readings_for_every_ppe(cluster):
    a, b = MeteringPointFactory(cluster=cluster), MeteringPointFactory(cluster=cluster, tariff_group="G11")
    call_command("load_demo_readings", cluster.slug, "--start", "2026-03-28", "--end", "2026-03-30")
    data = hourly_matrix(
        ppe_ids=[a.id, b.id], start_utc=dt.datetime(2026, 3, 28, tzinfo=WARSAW),
        end_utc=dt.datetime(2026, 3, 31, tzinfo=WARSAW),
    )
    assert data.present.all() and data.present.shape == (2, 71)


def test_it_computes_warsaw_offsets_like_zoneinfo_across_dst_changes():
    from reports.metering.store import warsaw_offsets

    seconds = np.arange(int(utc(2024, 1, 1).timestamp()), int(utc(2028, 1, 1).timestamp()), 3600, dtype=np.int64)
    expected = [dt.datetime.fromtimestamp(int(s), WARSAW).utcoffset().total_seconds() for s in seconds]
    assert warsaw_offsets(seconds).tolist() == expected


def _hourly_block(ppe, start: dt.datetime, values, quality=None) -> Block:
    values = np.asarray(values, dtype=np.int64)
    quality = np.full(len(values), M, np.uint8) if quality is None else np.asarray(quality, np.uint8)
    return Block(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=values,
                 export_wh=np.zeros(len(values), np.int64), quality=quality)


def test_a_reimport_of_whole_days_keeps_stored_days_in_the_gaps_of_the_file(ppe):
    meter_blocks_upsert(blocks=[_hourly_block(ppe, utc(2026, 5, 1), np.full(5 * 24, 1))])
    second = np.full(5 * 24, 2)
    quality = np.full(5 * 24, M, np.uint8)
    quality[2 * 24 : 3 * 24] = X  # 3 May is not in the new file: whole-day gap
    assert meter_blocks_upsert(blocks=[_hourly_block(ppe, utc(2026, 5, 1), second, quality)]) == 4
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=utc(2026, 5, 1), end_utc=utc(2026, 5, 6))
    assert data.import_wh[0].reshape(5, 24)[:, 0].tolist() == [2, 2, 1, 2, 2]
    assert data.present.all() and MeterDay.objects.filter(ppe=ppe).count() == 5


def test_blocks_of_one_call_that_cover_the_same_day_are_merged_in_order(ppe, cluster):
    other = MeteringPointFactory(cluster=cluster)
    first = _hourly_block(ppe, utc(2026, 6, 1), np.full(48, 1))  # two whole days
    second = _hourly_block(ppe, utc(2026, 6, 1, 12), np.full(24, 2))  # second half of day 1, first of day 2
    third = _hourly_block(other, utc(2026, 6, 1), np.full(24, 3))
    assert meter_blocks_upsert(blocks=iter([first, second, third])) == 3
    data = hourly_matrix(ppe_ids=[ppe.id, other.id], start_utc=utc(2026, 6, 1), end_utc=utc(2026, 6, 3))
    assert data.import_wh[0].tolist() == [1] * 12 + [2] * 24 + [1] * 12
    assert data.import_wh[1].tolist() == [3] * 24 + [0] * 24


def test_mixed_resolutions_in_one_call_keep_each_whole_day_at_its_own_resolution(ppe, cluster):
    quarter = MeteringPointFactory(cluster=cluster)
    quarters = Block(ppe_id=quarter.id, start_utc=utc(2026, 7, 1), resolution_min=15, import_wh=np.full(192, 5),
                     export_wh=np.full(192, 1), quality=np.full(192, E, np.uint8))
    assert meter_blocks_upsert(blocks=[_hourly_block(ppe, utc(2026, 7, 1, 6), np.arange(30)), quarters]) == 4
    assert {(r.ppe_id, r.resolution_min) for r in MeterDay.objects.all()} == {(ppe.id, 60), (quarter.id, 15)}
    data = hourly_matrix(ppe_ids=[ppe.id, quarter.id], start_utc=utc(2026, 7, 1), end_utc=utc(2026, 7, 3))
    assert data.import_wh[0, 6:36].tolist() == list(range(30)) and not data.present[0, :6].any()
    assert data.import_wh[1].tolist() == [20] * 48 and data.estimated[1].all()


def test_a_refused_block_writes_nothing_of_the_call(ppe):
    meter_days_upsert(ppe_id=ppe.id, start_utc=utc(2026, 8, 1), resolution_min=60,
                      import_wh=[100] * 24, export_wh=[0] * 24, quality=[M] * 24)
    bad = Block(ppe_id=ppe.id, start_utc=utc(2026, 8, 1, 5, 15), resolution_min=15, import_wh=np.ones(2, np.int64),
                export_wh=np.zeros(2, np.int64), quality=np.full(2, M, np.uint8))
    with pytest.raises(MeterStoreError, match="część godziny"):
        meter_blocks_upsert(blocks=[_hourly_block(ppe, utc(2026, 8, 2), np.full(24, 7)), bad])
    assert list(MeterDay.objects.filter(ppe=ppe).values_list("day", flat=True)) == [dt.date(2026, 8, 1)]


def test_it_encodes_day_rows_for_binary_copy_and_groups_keys_in_runs():
    import struct

    from reports.metering.store import _key_ranges, _Rows

    key = (7 << 22) + dt.date(2026, 1, 2).toordinal()
    imp, exp, qual = np.arange(24, dtype=np.int64), np.full(24, 3, np.int64), np.full(24, E, np.uint8)
    exp_qual = np.full(24, M, np.uint8)
    raw = _Rows(60, np.array([key]), imp[None], exp[None], qual[None], exp_qual[None]).copy_binary()
    expected = (struct.pack(">hiqiiihi", 11, 8, 7, 4, (dt.date(2026, 1, 2) - dt.date(2000, 1, 1)).days, 2, 60, 192)
                + imp.astype("<i8").tobytes() + struct.pack(">i", 192) + exp.astype("<i8").tobytes()
                + struct.pack(">i", 24) + qual.tobytes() + struct.pack(">i", 24) + exp_qual.tobytes())
    assert raw == expected + struct.pack(">iiii", 0, 0, 0, 0)  # no balanced series: four empty columns
    b_imp, b_exp = np.full(24, 5, np.int64), np.zeros(24, np.int64)
    raw = _Rows(60, np.array([key]), imp[None], exp[None], qual[None], exp_qual[None],
                (b_imp[None], b_exp[None], qual[None], exp_qual[None])).copy_binary()
    assert raw == expected + (struct.pack(">i", 192) + b_imp.tobytes() + struct.pack(">i", 192) + b_exp.tobytes()
                              + struct.pack(">i", 24) + qual.tobytes() + struct.pack(">i", 24) + exp_qual.tobytes())
    d = dt.date(2026, 3, 30).toordinal()
    keys = np.array([(2 << 22) + d, (1 << 22) + d + 1, (1 << 22) + d, (1 << 22) + d + 3, (2 << 22) + d + 1])
    assert _key_ranges(keys) == (
        [1, 1, 2],
        [dt.date(2026, 3, 30), dt.date(2026, 4, 2), dt.date(2026, 3, 30)],
        [dt.date(2026, 3, 31), dt.date(2026, 4, 2), dt.date(2026, 3, 31)],
    )
