"""Measure meter-data layouts: a row per interval vs one row of arrays per PPE-day.

Not a test. Usage (scratch databases only, the script drops and creates tables):

    .venv/bin/python scripts/measure_meter_layout.py sqlite:////tmp/oke_meas.sqlite3 --ppes 100 --days 365
    .venv/bin/python scripts/measure_meter_layout.py postgres://postgres@127.0.0.1:5432/oke_meas_readings --ppes 1000

Writes to each layout, then reads one settlement year back into the
``int64[n_ppe, n_hours]`` matrices the engine wants, and prints rates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure_setup import measure_cluster


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--ppes", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skip-rows", action="store_true", help="measure only the day-array layout")
    args = parser.parse_args()

    cluster = measure_cluster(database_url=args.database_url, ppes=args.ppes)
    from django.db import connection, transaction

    from members.models import MeteringPoint
    from reports.metering.store import Block, hourly_matrix, meter_blocks_upsert

    ppe_ids = list(MeteringPoint.objects.filter(cluster=cluster).order_by("id").values_list("id", flat=True))[: args.ppes]
    n_hours = args.days * 24
    readings = len(ppe_ids) * n_hours
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=n_hours)
    rng = np.random.default_rng(1)
    imp = rng.integers(0, 5000, size=(len(ppe_ids), n_hours), dtype=np.int64)
    exp = rng.integers(0, 3000, size=(len(ppe_ids), n_hours), dtype=np.int64)
    print(f"{connection.vendor}: {len(ppe_ids)} PPE x {args.days} days = {readings:,} hourly readings")

    # --- day arrays (the chosen layout, through the real service) -------------
    blocks = [
        Block(ppe_id=p, start_utc=start, resolution_min=60, import_wh=imp[i], export_wh=exp[i],
              quality=np.ones(n_hours, dtype=np.uint8))
        for i, p in enumerate(ppe_ids)
    ]
    t = time.perf_counter()
    rows = meter_blocks_upsert(blocks=blocks)
    dt_w = time.perf_counter() - t
    print(f"  day arrays  write: {rows:,} rows in {dt_w:.2f} s = {readings / dt_w:,.0f} readings/s")
    t = time.perf_counter()
    rows = meter_blocks_upsert(blocks=blocks)
    dt_w = time.perf_counter() - t
    print(f"  day arrays  rewrite (upsert over existing): {dt_w:.2f} s = {readings / dt_w:,.0f} readings/s")
    t = time.perf_counter()
    data = hourly_matrix(ppe_ids=ppe_ids, start_utc=start, end_utc=end)
    dt_r = time.perf_counter() - t
    assert (data.import_wh == imp).all() and data.present.all()
    print(f"  day arrays  read matrix: {dt_r:.2f} s = {readings / dt_r:,.0f} readings/s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('reports_meterday')")
            print(f"  day arrays  size: {cur.fetchone()[0] / 2**20:,.1f} MiB")

    if args.skip_rows:
        return
    # --- a row per interval ------------------------------------------------------
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS meas_reading")
        cur.execute(
            "CREATE TABLE meas_reading (ppe_id integer NOT NULL, ts timestamp NOT NULL, import_wh bigint NOT NULL,"
            " export_wh bigint NOT NULL, quality smallint NOT NULL, PRIMARY KEY (ppe_id, ts))"
        )
    hours = [start.replace(tzinfo=None) + dt.timedelta(hours=h) for h in range(n_hours)]
    t = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cur:
            sql = (
                "INSERT INTO meas_reading (ppe_id, ts, import_wh, export_wh, quality) VALUES (%s, %s, %s, %s, 1)"
                " ON CONFLICT (ppe_id, ts) DO UPDATE SET import_wh = excluded.import_wh,"
                " export_wh = excluded.export_wh, quality = excluded.quality"
            )
            for i, p in enumerate(ppe_ids):
                cur.executemany(sql, list(zip([p] * n_hours, hours, imp[i].tolist(), exp[i].tolist(), strict=True)))
    dt_w = time.perf_counter() - t
    print(f"  row/interval write (executemany upsert): {dt_w:.2f} s = {readings / dt_w:,.0f} readings/s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("TRUNCATE meas_reading")
        raw = connection.connection
        t = time.perf_counter()
        with raw.cursor() as cur:
            with cur.copy("COPY meas_reading (ppe_id, ts, import_wh, export_wh, quality) FROM STDIN") as copy:
                for i, p in enumerate(ppe_ids):
                    for h, a, b in zip(hours, imp[i].tolist(), exp[i].tolist(), strict=True):
                        copy.write_row((p, h, a, b, 1))
        raw.commit()
        dt_w = time.perf_counter() - t
        print(f"  row/interval write (COPY, no upsert): {dt_w:.2f} s = {readings / dt_w:,.0f} readings/s")
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ppe_id, ts, import_wh, export_wh FROM meas_reading WHERE ts >= %s AND ts < %s ORDER BY ppe_id, ts",
            [start.replace(tzinfo=None), end.replace(tzinfo=None)],
        )
        got = cur.fetchall()
    index = {p: i for i, p in enumerate(ppe_ids)}
    m_imp = np.zeros((len(ppe_ids), n_hours), dtype=np.int64)
    pi = np.fromiter((index[r[0]] for r in got), dtype=np.int64, count=len(got))
    hi = np.fromiter((int((r[1] - start.replace(tzinfo=None)).total_seconds()) // 3600 for r in got), np.int64, len(got))
    m_imp[pi, hi] = np.fromiter((r[2] for r in got), np.int64, len(got))
    dt_r = time.perf_counter() - t
    assert (m_imp == imp).all()
    print(f"  row/interval read matrix: {dt_r:.2f} s = {readings / dt_r:,.0f} readings/s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('meas_reading')")
            print(f"  row/interval size: {cur.fetchone()[0] / 2**20:,.1f} MiB")
    with connection.cursor() as cur:
        cur.execute("DROP TABLE meas_reading")


if __name__ == "__main__":
    main()
