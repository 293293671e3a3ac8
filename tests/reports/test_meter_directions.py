"""One direction per file: a file that carries only drawn (or only fed-in) energy changes only that direction."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from reports.metering.imports import reading_import_create
from reports.metering.selectors import completeness, ppe_export_required
from reports.metering.store import Block, hourly_matrix, meter_blocks_upsert, meter_days_upsert
from reports.models import JobStatus, MeterDay, Quality, ReadingImport
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)

UTC = dt.UTC
A = "590322400000000010"
M, E, X = Quality.MEASURED, Quality.ESTIMATED, Quality.MISSING
# local 10 January 2026 (CET): label H:00 covers [H-1, H) local = [H-2, H-1) UTC
DAY_START = dt.datetime(2026, 1, 9, 23, tzinfo=UTC)
DRAWN = [100 + 7 * h for h in range(24)]  # Wh
FED = [(h * 37) % 500 for h in range(24)]


def _tauron(kind: str, values: list[int]) -> bytes:
    lines = [" Data; Wartość kWh; Rodzaj"]
    for hour, wh in enumerate(values, start=1):
        lines.append(f"2026-01-10 {hour}:00; {wh / 1000:.3f}".replace(".", ",") + f"; {kind}")
    return ("\n".join(lines) + "\n").encode("cp1250")


@pytest.fixture
def ppe(cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=A)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    GeneratorFactory(ppe=ppe)
    return ppe


@pytest.fixture
def run_tauron(cluster, ppe, django_capture_on_commit_callbacks):
    def run(content: bytes) -> ReadingImport:
        with django_capture_on_commit_callbacks(execute=True):
            created = reading_import_create(cluster=cluster, file=ContentFile(content), name="eLicznik.csv",
                                            format="tauron", ppe=ppe)
        result = ReadingImport.objects.get(id=created.id)
        assert result.status == JobStatus.DONE, result.errors
        return result

    return run


@pytest.mark.parametrize("order", [("pobór", "oddanie"), ("oddanie", "pobór")])
def test_it_keeps_both_directions_when_elicznik_exports_them_as_two_files(run_tauron, ppe, order):
    files = {"pobór": _tauron("pobór", DRAWN), "oddanie": _tauron("oddanie", FED)}
    first, second = order
    run_tauron(files[first])
    after_first = hourly_matrix(ppe_ids=[ppe.id], start_utc=DAY_START, end_utc=DAY_START + dt.timedelta(hours=24))
    if first == "pobór":
        assert after_first.import_present.all() and not after_first.export_present.any()
        assert after_first.export_wh.tolist() == [[0] * 24]
    else:
        assert after_first.export_present.all() and not after_first.import_present.any()
        assert after_first.import_wh.tolist() == [[0] * 24]
    assert not after_first.present.any()  # the PPE has a generator: fed-in energy is required
    run_tauron(files[second])
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=DAY_START, end_utc=DAY_START + dt.timedelta(hours=24))
    assert data.import_wh[0].tolist() == DRAWN
    assert data.export_wh[0].tolist() == FED
    assert data.present.all() and data.import_present.all() and data.export_present.all()
    assert not data.estimated.any()
    [row] = MeterDay.objects.filter(ppe=ppe, day=dt.date(2026, 1, 9)) or [None]
    assert row is not None and bytes(row.quality)[23] == M and bytes(row.export_quality)[23] == M


def test_it_leaves_the_stored_export_and_its_quality_alone_for_a_drawn_only_block(cluster, ppe):
    start = dt.datetime(2026, 2, 1, tzinfo=UTC)
    exp_q = np.array([E] * 12 + [M] * 12, np.uint8)
    meter_blocks_upsert(blocks=[Block(ppe.id, start, 60, np.full(24, 5), np.arange(24) * 3, np.full(24, M),
                                      export_quality=exp_q)])
    meter_blocks_upsert(blocks=[Block(ppe.id, start, 60, np.arange(24) + 1000, np.full(24, 999_999),
                                      np.full(24, E), has_export=False)])
    row = MeterDay.objects.get(ppe=ppe)
    assert np.frombuffer(row.import_wh, "<i8").tolist() == list(range(1000, 1024))
    assert np.frombuffer(row.export_wh, "<i8").tolist() == [3 * h for h in range(24)]
    assert bytes(row.quality) == bytes([E] * 24) and bytes(row.export_quality) == exp_q.tobytes()


def test_it_never_marks_a_direction_measured_that_no_file_carried(cluster):
    consumer = MeteringPointFactory(cluster=cluster)
    start = dt.datetime(2026, 2, 3, tzinfo=UTC)
    meter_days_upsert(ppe_id=consumer.id, start_utc=start, resolution_min=15, import_wh=np.full(96, 4),
                      export_wh=np.full(96, 77), quality=np.full(96, M), has_export=False)
    row = MeterDay.objects.get(ppe=consumer)
    assert bytes(row.export_quality) == bytes(96) and np.frombuffer(row.export_wh, "<i8").sum() == 0
    both = hourly_matrix(ppe_ids=[consumer.id], start_utc=start, end_utc=start + dt.timedelta(days=1))
    assert not both.present.any() and both.import_present.all() and not both.export_present.any()
    drawn_only = hourly_matrix(ppe_ids=[consumer.id], start_utc=start, end_utc=start + dt.timedelta(days=1),
                               export_required=[False])
    assert drawn_only.present.all() and drawn_only.import_wh.tolist() == [[16] * 24]
    assert drawn_only.export_wh.tolist() == [[0] * 24]


def test_it_merges_a_fed_in_only_quarter_hour_day_into_an_hourly_day_direction_by_direction(cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    start = dt.datetime(2026, 2, 4, tzinfo=UTC)
    meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=np.arange(24),
                      export_wh=np.zeros(24), quality=np.full(24, M), has_export=False)
    meter_days_upsert(ppe_id=ppe.id, start_utc=start + dt.timedelta(hours=2), resolution_min=15,
                      import_wh=np.zeros(8), export_wh=np.array([1, 2, 3, 4, 5, 6, 7, 8]),
                      quality=np.array([M, M, E, M, M, M, M, M]), has_import=False)
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=start, end_utc=start + dt.timedelta(days=1))
    assert data.import_wh[0].tolist() == list(range(24)) and data.import_present.all()
    assert data.export_wh[0, :5].tolist() == [0, 0, 10, 26, 0]
    assert data.export_present[0].tolist() == [False, False, True, True] + [False] * 20
    assert data.estimated[0, :4].tolist() == [False, False, True, False]


def test_it_requires_fed_in_energy_only_for_ppes_with_a_generator_or_storage(cluster):
    member = MemberFactory(cluster=cluster)
    consumer, producer, storage = (MeteringPointFactory(cluster=cluster) for _ in range(3))
    for p in (consumer, producer, storage):
        PPEMembershipFactory(ppe=p, member=member, valid_from=dt.date(2026, 1, 1))
    GeneratorFactory(ppe=producer)
    StorageUnitFactory(ppe=storage)
    assert ppe_export_required(ppes=[consumer, producer, storage]).tolist() == [False, True, True]
    start = dt.datetime(2026, 2, 28, 23, tzinfo=UTC)  # local March
    hours = 743
    for p in (consumer, producer, storage):
        meter_days_upsert(ppe_id=p.id, start_utc=start, resolution_min=60, import_wh=np.full(hours, 1),
                          export_wh=np.zeros(hours), quality=np.full(hours, M), has_export=False)
    meter_days_upsert(ppe_id=storage.id, start_utc=start, resolution_min=60, import_wh=np.zeros(10),
                      export_wh=np.full(10, 2), quality=np.full(10, M), has_import=False)
    rows = {r.ppe.id: r for r in completeness(cluster=cluster, year=2026, month=3)}
    assert (rows[consumer.id].present, rows[consumer.id].missing) == (743, 0)
    assert (rows[producer.id].present, rows[producer.id].missing) == (0, 743)
    assert (rows[storage.id].present, rows[storage.id].missing) == (10, 733)
    directions = {p: (rows[p.id].missing_import, rows[p.id].missing_export, rows[p.id].export_required)
                  for p in (consumer, producer, storage)}
    assert directions == {consumer: (0, 0, False), producer: (0, 743, True), storage: (0, 733, True)}


def test_the_completeness_page_says_which_direction_is_missing(client, coordinator, cluster):
    producer = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=producer, member=MemberFactory(cluster=cluster), valid_from=dt.date(2026, 1, 1))
    GeneratorFactory(ppe=producer)
    start = dt.datetime(2026, 2, 28, 23, tzinfo=UTC)
    meter_days_upsert(ppe_id=producer.id, start_utc=start, resolution_min=60, import_wh=np.full(743, 1),
                      export_wh=np.zeros(743), quality=np.full(743, M), has_export=False)
    client.force_login(coordinator)
    html = client.get(reverse("reports:completeness", args=[cluster.slug]), {"month": "2026-03"}).content.decode()
    assert "pobór: 0, oddanie: 743" in html and "energia oddana" in html
