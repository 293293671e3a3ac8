"""Two meter imports running at once that share UTC days serialise: every reading of both survives."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections

from reports.metering import store as meterstore
from reports.metering.imports import reading_import_claim, reading_import_create, reading_import_process
from reports.metering.store import hourly_matrix
from reports.models import JobStatus, ReadingImport
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, ppe_code

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
N_PPE = 25

pytestmark = pytest.mark.django_db(transaction=True)


def _local_hours(first: dt.date, after: dt.date) -> list[dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), WARSAW).astimezone(UTC)
    end = dt.datetime.combine(after, dt.time(), WARSAW).astimezone(UTC)
    return [start + dt.timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600))]


def _values(p: int, hours: list[dt.datetime]) -> tuple[np.ndarray, np.ndarray]:
    stamps = np.array([int(h.timestamp()) // 3600 for h in hours], dtype=np.int64)
    return p * 100_000 + stamps % 10_000, (stamps * 7 + p) % 997


def _file(codes: list[str], hours: list[dt.datetime]) -> bytes:
    lines = ["ppe_code,start,import_kwh,export_kwh"]
    for p, code in enumerate(codes):
        imp, exp = _values(p, hours)
        lines += [f"{code},{h.isoformat()},{i / 1000:.3f},{e / 1000:.3f}" for h, i, e in zip(hours, imp, exp, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def test_two_imports_sharing_a_utc_day_in_parallel_keep_every_reading(cluster, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is one in-memory connection; the lock is exercised on PostgreSQL")
    member = MemberFactory(cluster=cluster)
    codes = [ppe_code(9000 + i) for i in range(N_PPE)]
    ppes = [MeteringPointFactory(cluster=cluster, code=code) for code in codes]
    for ppe in ppes:
        PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2025, 1, 1))
    # local February ends at 23:00 UTC on 28 Feb: that UTC day is partly in each file
    february = _local_hours(dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    march = _local_hours(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    imports = [
        reading_import_create(cluster=cluster, file=ContentFile(_file(codes, hours)), name=f"{name}.csv",
                              format="generic", enqueue=False)
        for name, hours in (("luty", february), ("marzec", march))
    ]
    assert all(reading_import_claim(import_id=imp.id) for imp in imports)

    # Widen the window between reading the partly covered days and writing them, so an
    # import that read before the other committed would overwrite its readings.
    real = meterstore._rows_to_write

    def slow_rows_to_write(splits):
        rows = real(splits)
        threading.Event().wait(0.3)
        return rows

    monkeypatch.setattr(meterstore, "_rows_to_write", slow_rows_to_write)
    start = threading.Barrier(len(imports))
    failures: list[BaseException] = []

    def work(import_id: int) -> None:
        try:
            start.wait(timeout=30)
            reading_import_process(import_id=import_id)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(imp.id,)) for imp in imports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures and not any(t.is_alive() for t in threads)
    for imp in imports:
        imp.refresh_from_db()
        assert imp.status == JobStatus.DONE, (imp.message, imp.errors)
    hours = february + march
    data = hourly_matrix(ppe_ids=[p.id for p in ppes], start_utc=hours[0], end_utc=hours[-1] + dt.timedelta(hours=1))
    assert data.present.all()
    for p in range(N_PPE):
        imp, exp = _values(p, hours)
        assert data.import_wh[p].tolist() == imp.tolist()
        assert data.export_wh[p].tolist() == exp.tolist()
    assert ReadingImport.objects.filter(status=JobStatus.DONE).count() == 2
