"""The store against a plain model: any sequence of hourly blocks, each carrying one or both
directions with gaps, reads back exactly as slot-by-slot "last carried value wins" per direction."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.metering.store import Block, hourly_matrix, meter_blocks_upsert
from reports.models import MeterDay, Quality
from tests.factories import MeteringPointFactory

T0 = dt.datetime(2026, 3, 27, tzinfo=dt.UTC)
HOURS = 4 * 24
QUALITY = st.sampled_from([Quality.MISSING, Quality.MEASURED, Quality.ESTIMATED])


@st.composite
def blocks(draw):
    start = draw(st.integers(0, HOURS - 1))
    n = draw(st.integers(1, HOURS - start))
    directions = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    values = st.lists(st.integers(0, 10**6), min_size=n, max_size=n)
    qualities = st.lists(QUALITY, min_size=n, max_size=n)
    separate = draw(st.booleans())
    return (start, directions, draw(values), draw(values), draw(qualities),
            draw(qualities) if separate else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.lists(blocks(), min_size=1, max_size=3), min_size=1, max_size=4))
def test_it_stores_what_a_slot_by_slot_model_of_both_directions_says(cluster, calls):
    MeterDay.objects.all().delete()
    ppe = MeteringPointFactory(cluster=cluster)
    model = {d: (np.zeros(HOURS, np.int64), np.zeros(HOURS, np.uint8)) for d in ("import", "export")}
    for call in calls:
        batch = []
        for start, (has_import, has_export), imp, exp, qual, exp_qual in call:
            batch.append(Block(ppe.id, T0 + dt.timedelta(hours=start), 60, np.array(imp, np.int64),
                               np.array(exp, np.int64), np.array(qual, np.uint8), has_import=has_import,
                               has_export=has_export,
                               export_quality=None if exp_qual is None else np.array(exp_qual, np.uint8)))
            for carried, direction, values, quality in ((has_import, "import", imp, qual),
                                                        (has_export, "export", exp, exp_qual or qual)):
                if not carried:
                    continue
                for i, (v, q) in enumerate(zip(values, quality, strict=True)):
                    if q != Quality.MISSING:
                        model[direction][0][start + i], model[direction][1][start + i] = v, q
        meter_blocks_upsert(blocks=batch)
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=T0, end_utc=T0 + dt.timedelta(hours=HOURS))
    (imp, imp_q), (exp, exp_q) = model["import"], model["export"]
    assert data.import_wh[0].tolist() == imp.tolist()
    assert data.export_wh[0].tolist() == exp.tolist()
    assert data.import_present[0].tolist() == (imp_q != Quality.MISSING).tolist()
    assert data.export_present[0].tolist() == (exp_q != Quality.MISSING).tolist()
    present = (imp_q != Quality.MISSING) & (exp_q != Quality.MISSING)
    assert data.present[0].tolist() == present.tolist()
    estimated = present & ((imp_q == Quality.ESTIMATED) | (exp_q == Quality.ESTIMATED))
    assert data.estimated[0].tolist() == estimated.tolist()
