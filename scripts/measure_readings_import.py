"""Measure the generic CSV import end to end (file → parse → validate → MeterDay rows).

Not a test. Usage (a scratch database; the script creates a cluster ``meas``):

    .venv/bin/python scripts/measure_readings_import.py postgres://postgres@127.0.0.1:5432/oke_meas_readings --ppes 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--ppes", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--file", type=Path, default=Path("/tmp/oke_meas_generic.csv"))
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okeportal.settings")
    os.environ.setdefault("OKE_VAR_DIR", "/tmp/oke-meas-var")
    import django

    django.setup()
    import pandas as pd
    from django.core.files import File
    from django.core.management import call_command

    from members.models import DSO, Cluster, Gmina, MeteringPoint
    from reports.models import MeterDay
    from reports.services.readings_import import reading_import_claim, reading_import_create, reading_import_process

    call_command("migrate", verbosity=0)
    dso, _ = DSO.objects.get_or_create(slug="meas", defaults={"name": "Meas"})
    gmina, _ = Gmina.objects.get_or_create(
        terc="9999999",
        defaults=dict(name="X", type="gm", powiat_terc="9999", powiat_name="X", woj_terc="99", woj_name="X"),
    )
    cluster, _ = Cluster.objects.get_or_create(slug="meas", defaults={"name": "Meas", "dso": dso})
    existing = MeteringPoint.objects.filter(cluster=cluster).count()
    MeteringPoint.objects.bulk_create(
        MeteringPoint(cluster=cluster, code=f"MEAS{i:06d}", gmina=gmina, dso=dso, voltage_level="nN",
                      tariff_group="C11", contracted_kw=40)
        for i in range(existing, args.ppes)
    )
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
