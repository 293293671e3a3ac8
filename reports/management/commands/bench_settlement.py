"""``manage.py bench_settlement --ppe N --days D [--keep]``: import and settlement speed.

Creates a throwaway cluster of N PPEs (consumers and PV prosumers) in the
configured database, stores synthetic hourly data, settles it, and runs
openenergyid's relative (pro rata) energy-sharing on the same arrays for a
speed comparison. "Readings" are PPE-hours (each holding A+ and A−).
"""

from __future__ import annotations

import datetime as dt
import gc
import resource
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from members.models import Cluster, Generator, Gmina, Member, MeteringPoint, PPEMembership, Source, VoltageLevel
from reports.engine import HourlyInput, energy_flows, hour_axis, settle
from reports.metering.store import HourlyData, hourly_matrix, meter_blocks_upsert
from reports.metering.synthetic import synthetic_readings
from reports.models import JobStatus, MeterDay, SettlementLine, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.gather import engine_input, engine_segments, engine_tiers, settlement_gather
from reports.settlement.tasks import settlement_run_task

PPE_PER_MEMBER = 5
PROSUMER_EVERY = 3  # every third PPE has PV
OEID_MAX_CELLS = 3_000_000


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


class _ReadTimer:
    """Seconds spent waiting for meter data while the engine consumes the stream."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, chunks: Iterator[HourlyData]) -> Iterator[HourlyData]:
        while True:
            t0 = time.perf_counter()
            part = next(chunks, None)
            self.seconds += time.perf_counter() - t0
            if part is None:
                return
            yield part


def bench_cluster_create(
    *, n_ppe: int, start: dt.date, ppe_per_member: int = PPE_PER_MEMBER, tag: str | None = None
) -> Cluster:
    """A throwaway cluster of ``n_ppe`` PPEs (every third with PV), ``ppe_per_member`` to a member.

    ``tag`` names it (slug ``bench-<tag>``); by default a random one. Also used by bench_pages.
    """
    from members.models import DSO

    gmina = Gmina.objects.get(terc="2408031")
    dso = DSO.objects.filter(slug="tauron").first() or DSO.objects.first()
    tag = tag or uuid.uuid4().hex[:8]
    with transaction.atomic():
        cluster = Cluster.objects.create(name=f"Benchmark {tag}", slug=f"bench-{tag}", dso=dso)
        members = Member.objects.bulk_create(
            Member(cluster=cluster, ref=f"m{i}", name=f"Członek {i}", legal_form="small_enterprise", joined_on=start,
                   deducts_vat=True)
            for i in range(-(-n_ppe // ppe_per_member))
        )
        ppes = MeteringPoint.objects.bulk_create(
            MeteringPoint(
                cluster=cluster, code=f"BENCH{tag}{i:07d}", is_legacy_code=True, gmina=gmina, dso=dso,
                voltage_level=VoltageLevel.NN_LOW, tariff_group="G11" if i % 2 else "C11",
                contracted_kw=Decimal("40"), annual_demand_kwh=Decimal(4000 if i % 2 else 40000),
            )
            for i in range(n_ppe)
        )
        PPEMembership.objects.bulk_create(
            PPEMembership(ppe=p, member=members[i // ppe_per_member], valid_from=start) for i, p in enumerate(ppes)
        )
        Generator.objects.bulk_create(
            Generator(ppe=p, name=f"PV {i}", source=Source.PV, capacity_kw=Decimal(60 if i % 2 else 30))
            for i, p in enumerate(ppes)
            if i % PROSUMER_EVERY == 0
        )
    return cluster


class Command(BaseCommand):
    help = "Benchmark: import and settle synthetic data for N PPEs over D days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ppe", type=int, default=1000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--start", default="2025-01-01")
        parser.add_argument("--keep", action="store_true")
        parser.add_argument("--no-oeid", action="store_true", help="skip the openenergyid comparison")

    def handle(self, *args, **opts) -> None:
        n_ppe, n_days = opts["ppe"], opts["days"]
        start = dt.date.fromisoformat(opts["start"])
        end = start + dt.timedelta(days=n_days - 1)
        cluster = self._cluster(n_ppe, start)
        try:
            self._run(cluster, start, end, n_ppe, opts)
        finally:
            if not opts["keep"]:
                self._cleanup(cluster)

    def _cluster(self, n_ppe: int, start: dt.date) -> Cluster:
        return bench_cluster_create(n_ppe=n_ppe, start=start)

    def _run(self, cluster: Cluster, start: dt.date, end: dt.date, n_ppe: int, opts: dict) -> None:
        out = self.stdout.write
        ppes = list(MeteringPoint.objects.filter(cluster=cluster).prefetch_related("generators").order_by("pk"))
        t_gen = t_store = cpu_store = 0.0
        readings = 0
        out(f"PPE {n_ppe}, days {(end - start).days + 1}, database {self._vendor()}, load average {_loadavg()}")
        for i in range(0, len(ppes), 100):  # batches keep the import's day dict small
            t0 = time.perf_counter()
            blocks = list(synthetic_readings(ppes=ppes[i : i + 100], start=start, end=end, seed=7))
            t1, c1 = time.perf_counter(), time.process_time()
            meter_blocks_upsert(blocks=blocks)
            t_store += time.perf_counter() - t1
            cpu_store += time.process_time() - c1
            t_gen += t1 - t0
            readings += sum(len(b.quality) for b in blocks)
        del blocks
        gc.collect()
        out(f"readings stored: {readings:,} PPE-hours ({MeterDay.objects.filter(ppe__cluster=cluster).count():,} day rows)")
        out(f"import: {readings / t_store:,.0f} readings/s ({t_store:.2f} s wall, {cpu_store:.2f} s CPU in this process;"
            f" synthetic generation {t_gen:.2f} s, not counted); load average {_loadavg()}")
        rss_before = _maxrss_mb()

        run = settlement_request(cluster=cluster, period_start=start, period_end=end, period_kind="custom", dispatch=False)
        t0, c0 = time.perf_counter(), time.process_time()
        settlement_run_task(run.pk)
        t_total, c_total = time.perf_counter() - t0, time.process_time() - c0
        run.refresh_from_db()
        if run.status != JobStatus.DONE:
            out(f"settlement FAILED: {run.error_text}")
            return
        out(f"settlement (read + engine + save, one run): {t_total:.2f} s wall, {c_total:.2f} s CPU; load average {_loadavg()}")
        out(f"  level {run.totals['autoconsumption_pct']} %, total {run.totals['total']} zł, lines {run.lines.count()}")
        out(f"  peak RSS {_maxrss_mb():,.0f} MB (before settlement {rss_before:,.0f} MB)")

        # breakdown (timed without tracing): the engine reads the meter data as it goes,
        # so "read" is the metadata plus the time spent waiting for meter chunks
        t0 = time.perf_counter()
        g = settlement_gather(cluster=cluster, start=start, end=end)
        t_meta = time.perf_counter() - t0
        segments, tiers = engine_segments(g), engine_tiers(g)
        waiting = _ReadTimer()
        t0 = time.perf_counter()
        result = settle(data=engine_input(g, meter=waiting.timed(g.meter_chunks())), tiers=tiers, segments=segments)
        t_stream = time.perf_counter() - t0
        t_read, t_engine = t_meta + waiting.seconds, t_stream - waiting.seconds
        out(f"  breakdown: read (registry + meter data) {t_read:.2f} s, engine {t_engine:.2f} s, "
            f"save + completeness + storage ≈ {max(t_total - t_read - t_engine, 0):.2f} s")
        del result
        gc.collect()
        tracemalloc.start()
        result = settle(data=engine_input(g), tiers=tiers, segments=segments)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n_hours = len(g.hours)
        out(f"  read + engine traced peak: {peak / 2**20:,.0f} MB (int64 import + export matrices would be"
            f" {2 * 8 * n_ppe * n_hours / 2**20:,.0f} MB)")
        if not opts["no_oeid"]:
            self._oeid(g, result, out)

    def _oeid(self, g, result, out) -> None:
        import pandas as pd
        from openenergyid.energysharing import CalculationMethod
        from openenergyid.energysharing.data_formatting import create_multi_index_input_frame
        from openenergyid.energysharing.main import calculate

        n_ppe, n_hours = len(g.ppes), len(g.hours)
        axis = hour_axis(g.hours)
        # openenergyid loops over injecting participants in pandas: whole days up to a cell budget
        n_sub = max(1, min(len(axis.days), OEID_MAX_CELLS // max(n_ppe * 24, 1)))
        hours = int(axis.day_starts[n_sub]) if n_sub < len(axis.days) else n_hours
        first = dt.datetime.fromtimestamp(int(g.hours[0].astype("datetime64[s]").astype(np.int64)), dt.UTC)
        meter = hourly_matrix(ppe_ids=[p.pk for p in g.ppes], start_utc=first, end_utc=first + dt.timedelta(hours=hours))
        data = HourlyInput(
            hours_utc=meter.hours, import_wh=meter.import_wh, export_wh=meter.export_wh,
            renewable_share=g.renewable_share, membership=g.membership[:, :n_sub], n_members=len(g.members),
        )
        subset = HourlyInput(
            hours_utc=data.hours_utc[:hours], import_wh=data.import_wh[:, :hours], export_wh=data.export_wh[:, :hours],
            renewable_share=data.renewable_share, membership=data.membership[:, :n_sub], n_members=data.n_members,
        )
        t0 = time.perf_counter()
        flows = energy_flows(data=subset)
        ours = time.perf_counter() - t0
        index = pd.DatetimeIndex(data.hours_utc[:hours], tz="UTC")
        cols = [f"p{i}" for i in range(n_ppe)]
        offtake = data.import_wh[:, :hours].T / 1000.0
        injecting = data.renewable_share > 0
        injection = (data.export_wh[:, :hours] * data.renewable_share[:, None]).T / 1000.0
        total = offtake.sum(axis=1, keepdims=True)
        key = np.divide(offtake, total, out=np.zeros_like(offtake), where=total > 0)
        t0 = time.perf_counter()
        frame = create_multi_index_input_frame(
            gross_injection=pd.DataFrame(injection[:, injecting], index=index, columns=[c for c, j in zip(cols, injecting, strict=True) if j]),
            gross_offtake=pd.DataFrame(offtake, index=index, columns=cols),
            key=pd.DataFrame(key, index=index, columns=cols),
        )
        shared = calculate(frame, CalculationMethod.RELATIVE)["Shared Energy"].to_numpy().sum()
        theirs = time.perf_counter() - t0
        scope = "all hours" if hours == n_hours else f"first {hours} hours ({n_ppe * hours:,} PPE-hours)"
        out(f"openenergyid relative allocation on {scope}: {theirs:.2f} s; our hourly engine on the same: {ours:.3f} s")
        out(f"  speed ratio: {theirs / max(ours, 1e-9):,.0f}×; shared energy openenergyid {shared:,.0f} kWh"
            + f", ours {flows.shared_h.sum() / 1000:,.0f} kWh (openenergyid excludes a PPE's own injection)")

    def _vendor(self) -> str:
        from django.db import connection

        return connection.vendor

    def _cleanup(self, cluster: Cluster) -> None:
        with transaction.atomic():
            SettlementLine.objects.filter(run__cluster=cluster).delete()
            SettlementRun.objects.filter(cluster=cluster).delete()
            MeterDay.objects.filter(ppe__cluster=cluster).delete()
            Generator.objects.filter(ppe__cluster=cluster).delete()
            PPEMembership.objects.filter(ppe__cluster=cluster).delete()
            MeteringPoint.objects.filter(cluster=cluster).delete()
            Member.objects.filter(cluster=cluster).delete()
            cluster.delete()
