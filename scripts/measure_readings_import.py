"""Measure the generic CSV import end to end (file → parse → validate → MeterDay rows).

Not a test. Usage (a scratch database; the script creates a cluster ``meas``):

    .venv/bin/python scripts/measure_readings_import.py postgres://postgres@127.0.0.1:5432/oke_meas_readings --ppes 1000
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--file", type=Path, default=Path("/tmp/oke_meas_generic.csv"))
    args = parser.parse_args()
    cluster = measure_cluster(database_url=args.database_url, ppes=args.ppes)
    import pandas as pd
    from django.core.files import File

    from reports.metering.imports import reading_import_claim, reading_import_create, reading_import_process
    from reports.models import MeterDay

    codes = [f"MEAS{i:06d}" for i in range(args.ppes)]
    MeterDay.objects.filter(ppe__cluster=cluster).delete()
    n_hours = args.days * 24
    if not args.file.exists():
        t = time.perf_counter()
        start = pd.Timestamp("2025-01-01", tz="Europe/Warsaw")
        stamps = pd.date_range(start, periods=n_hours, freq="h").map(lambda x: x.isoformat())
        rng = np.random.default_rng(1)
        with args.file.open("w") as out:
            out.write("ppe_code;start;import_kwh;export_kwh\n")
            for code in codes:
                frame = pd.DataFrame({
                    "ppe_code": code, "start": stamps,
                    "import_kwh": rng.integers(0, 5000, n_hours) / 1000, "export_kwh": rng.integers(0, 3000, n_hours) / 1000,
                })
                frame.to_csv(out, sep=";", header=False, index=False, decimal=",", float_format="%.3f")
        print(f"wrote {args.file} in {time.perf_counter() - t:.1f} s")
    size = args.file.stat().st_size
    readings = args.ppes * n_hours
    with args.file.open("rb") as handle:
        imp = reading_import_create(cluster=cluster, file=File(handle), name=args.file.name, format="generic",
                                    enqueue=False)
    assert reading_import_claim(import_id=imp.id)
    t, cpu = time.perf_counter(), time.process_time()
    result = reading_import_process(import_id=imp.id)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    assert result.status == "done", (result.message, result.errors[:5])
    parse = result.summary["parse_seconds"]
    print(f"import: {readings:,} readings ({size / 2**20:,.0f} MiB, ';' + decimal comma) in {seconds:.1f} s "
          f"(CPU {cpu:.1f} s) = {readings / seconds:,.0f} readings/s; parse+validate {parse} s = "
          f"{readings / parse:,.0f} readings/s; load {Path('/proc/loadavg').read_text().split()[0]}")
    os.remove(imp.file.path)


if __name__ == "__main__":
    main()
