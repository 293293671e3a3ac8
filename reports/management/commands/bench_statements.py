"""``manage.py bench_statements --members N [--workers 2]``: statements per second, end to end.

Builds a throw-away cluster with N members and a finished settlement run,
renders and stores every member's statement (data → PDF → FileField, as the
Celery task does), prints the rate, and removes everything again (``--keep``
leaves it). ``--workers W`` forks W processes after warming up, the way W
Celery worker processes share the work. ``--breakdown`` times the phases of
one statement and compares WeasyPrint's write_pdf options on the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections, transaction
from django.utils import timezone

from members.models import DSO, Cluster, LegalForm, Member
from reports.models import (
    ClusterReport,
    DiscountTier,
    DistributionRate,
    ExemptFee,
    JobStatus,
    SettlementLine,
    SettlementRule,
    SettlementRun,
    Statement,
)
from reports.settlement.results import run_snapshot_upgrade_store

MWH = 1_000_000


def _snapshot(on: dt.date) -> dict[str, Any]:
    from reports.settlement.selectors import fee_json, rate_json, rule_json, tier_json

    return {
        "rates": [rate_json(r) for r in DistributionRate.objects.in_force(on).select_related("dso")],
        "fees": [fee_json(f) for f in ExemptFee.objects.in_force(on)],
        "tiers": [tier_json(t) for t in DiscountTier.objects.in_force(on)],
        "rule": rule_json(SettlementRule.objects.in_force(on).order_by("-valid_from").first()),
    }


# The seed's 70 % example (domain.md), the figures a settlement records beside its lines.
COOPERATIVE = {
    "coefficient": "0.6", "settled_wh": 1200 * MWH, "discount_variable": "275160.00", "discount_quality": "29052.00",
    "discount": "304212.00", "exemptions": {"cogeneration": "7416.00", "capacity": "60000.00"}, "exemptions_total": "67416.00",
    "total": "371628.00", "per_mwh": {"discount": "152.11", "exemptions": "33.71", "total": "185.81"},
}
STORAGE = {"registered": {"power_kw": "0.000", "capacity_kwh": "0.000", "units": 0}, "generating_kw": "0.000",
           "price_spread": "180.00", "scenarios": []}


def _totals(*, members: int, ppes: int) -> dict[str, Any]:
    return {
        "drawn_wh": 2000 * MWH, "shared_wh": 1400 * MWH, "fed_in_wh": 1700 * MWH, "renewable_fed_in_wh": 1650 * MWH,
        "autoconsumption_pct": "70.00", "tier": {"threshold_pct": "70.00", "discount_pct": "10.00"},
        "discount": "35491.40", "exemptions": {"cogeneration": "8652.00"}, "exemptions_total": "8652.00",
        "total": "44143.40", "cost_without_cluster": "531955.20",
        "per_mwh": {"discount": "25.35", "exemptions": "6.18", "total": "31.53"},
        "members": members, "ppes": ppes, "hours": 744, "completeness_pct": "100.00", "missing_hours": 0,
        "override_completeness": False,
    }


@transaction.atomic
def bench_setup(*, members: int, ppes_per_member: int) -> SettlementRun:
    from reports.statements.services import statements_prepare

    tag = uuid.uuid4().hex[:8]
    dso = DSO.objects.get(slug="tauron")
    cluster = Cluster.objects.create(
        name=f"Klaster testu wydajności {tag}", slug=f"bench-{tag}", dso=dso,
        coordinator_name="Klastry Energii sp. z o.o.", coordinator_address="ul. Powstańców Śląskich 1, 43-190 Mikołów",
    )
    Member.objects.bulk_create(
        [
            Member(cluster=cluster, ref=f"m{i:05d}", name=f"Członek testowy nr {i} — Zażółć Gęślą Jaźń sp. z o.o.",
                   legal_form=LegalForm.SMALL, nip="5213017228", street=f"ul. Gliwicka {i}", postal_code="43-180",
                   city="Orzesze", joined_on=dt.date(2024, 1, 1))
            for i in range(members)
        ]
    )
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    run = SettlementRun.objects.create(
        cluster=cluster, period_kind=SettlementRun.PeriodKind.MONTH, period_start=start, period_end=end,
        status=JobStatus.DONE, progress=100, snapshot=_snapshot(end), finished_at=timezone.now(),
        totals=_totals(members=members, ppes=members * ppes_per_member), cooperative=COOPERATIVE, storage=STORAGE,
    )
    lines = []
    for i, member in enumerate(cluster.members.all()):
        drawn = (5 + i % 17) * MWH
        shared = drawn * 7 // 10
        discount = Decimal(shared) * Decimal("25.351") / MWH
        lines.append(
            SettlementLine(
                run=run, member=member, member_ref=member.ref, member_name=member.name, member_address=member.address,
                member_identifiers={"nip": member.nip}, drawn_wh=drawn, shared_wh=shared, fed_in_wh=0,
                discount=discount.quantize(Decimal("0.01")),
                exemptions={"oze": "0.00", "cogeneration": "21.63", "green": "8.23", "blue": "5.25", "white": "7.26"},
                exemptions_total=Decimal("42.37"), total=(discount + Decimal("42.37")).quantize(Decimal("0.01")),
                cost_without_cluster=(Decimal(drawn) * Decimal("265.62") / MWH).quantize(Decimal("0.01")),
                ppes=[{"code": f"59032240{i:05d}{k:04d}0", "drawn_wh": drawn // ppes_per_member,
                       "shared_wh": shared // ppes_per_member, "fed_in_wh": 0} for k in range(ppes_per_member)],
                monthly=[{"month": f"2026-{m:02d}", "drawn_wh": drawn // 3, "shared_wh": shared // 3} for m in (1, 2, 3)],
            )
        )
    SettlementLine.objects.bulk_create(lines)
    run_snapshot_upgrade_store(run)  # recorded in the snapshot contract, as a settlement records it
    statements_prepare(run=run)
    return run


def bench_teardown(*, run: SettlementRun) -> None:
    for record in [*run.statements.all(), *ClusterReport.objects.filter(run=run)]:
        if record.file:
            record.file.delete(save=False)
    cluster = run.cluster
    with transaction.atomic():
        Statement.objects.filter(run=run).delete()
        ClusterReport.objects.filter(run=run).delete()
        SettlementLine.objects.filter(run=run).delete()
        run.delete()
        Member.objects.filter(cluster=cluster).delete()
        cluster.delete()


def _render_ids(ids: list[int]) -> tuple[int, float]:
    """Render and store; returns (count, CPU seconds of this process)."""
    from reports.statements.services import statement_render

    connections.close_all()  # a forked process must not share the parent's connection
    cpu = time.process_time()
    for statement in Statement.objects.filter(pk__in=ids).select_related("run__cluster__dso", "line"):
        statement_render(statement=statement)
    connections.close_all()
    return len(ids), time.process_time() - cpu


@contextmanager
def _gc_pause_kept(kept: bool) -> Iterator[None]:
    """``kept=False`` turns pdf_render's gc pause into a no-op, to measure what it saves."""
    from reports.statements import pdf as pdfmod

    if kept:
        yield
        return
    original = pdfmod._no_cyclic_gc
    pdfmod._no_cyclic_gc = contextmanager(lambda: (yield))
    try:
        yield
    finally:
        pdfmod._no_cyclic_gc = original


class Command(BaseCommand):
    help = "Mierzy wydajność generowania zestawień PDF (zestawienia na sekundę, render + zapis)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=100)
        parser.add_argument("--workers", type=int, default=1, help="procesy robocze (jak procesy workera Celery)")
        parser.add_argument("--ppes-per-member", type=int, default=2)
        parser.add_argument("--breakdown", action="store_true", help="czasy etapów i porównanie opcji write_pdf")
        parser.add_argument("--keep", action="store_true", help="nie usuwaj klastra testowego")

    def handle(self, *args: Any, members: int, workers: int, ppes_per_member: int, breakdown: bool, keep: bool, **options: Any) -> None:
        from reports.statements.services import statement_pdf

        t0 = time.perf_counter()
        run = bench_setup(members=members, ppes_per_member=ppes_per_member)
        self.stdout.write(f"Przygotowano {members} członków w {time.perf_counter() - t0:.1f} s (klaster {run.cluster.slug}).")
        try:
            warm = time.perf_counter()
            first = run.statements.select_related("run__cluster__dso", "line").first()
            statement_pdf(statement=first)  # fonts and stylesheet load once per process
            self.stdout.write(f"Rozgrzewka (czcionki, arkusz stylów, pierwszy PDF): {time.perf_counter() - warm:.2f} s")
            if breakdown:
                self._breakdown(first)
            ids = list(run.statements.values_list("pk", flat=True))
            passes = [1] if workers == 1 else [1, workers]
            for procs in passes:
                self._timed_pass(run, ids, procs)
        finally:
            if not keep:
                bench_teardown(run=run)

    def _timed_pass(self, run: SettlementRun, ids: list[int], workers: int) -> None:
        """Render and store every statement with ``workers`` processes; print the rate and CPU time."""
        chunks = [ids[i::workers] for i in range(workers)]
        connections.close_all()
        load = os.getloadavg()
        started = time.perf_counter()
        if workers == 1:
            results = [_render_ids(ids)]
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.map(_render_ids, chunks)
        elapsed = time.perf_counter() - started
        done = sum(n for n, _cpu in results)
        cpu = sum(c for _n, c in results)
        sizes = [s.file.size for s in run.statements.all() if s.file]
        self.stdout.write(self.style.SUCCESS(
            f"{done} zestawień w {elapsed:.2f} s, procesy: {workers} → {done / elapsed:.1f} zestawień/s "
            f"(1000 członków ≈ {1000 * elapsed / done:.0f} s); średni rozmiar PDF {statistics.mean(sizes) / 1024:.1f} KiB"
        ))
        # Wall time depends on what else the machine runs; CPU time per statement does not.
        per = cpu / done
        self.stdout.write(
            f"  czas procesora: {per * 1000:.0f} ms na zestawienie → {1 / per:.1f} zestawień/s na rdzeń, "
            f"{2 / per:.1f} zestawień/s na 2 wolnych rdzeniach (1000 członków ≈ {500 * per:.0f} s); "
            f"obciążenie maszyny przed/po: {' '.join(f'{x:.2f}' for x in load)} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )

    def _breakdown(self, statement: Statement, repeat: int = 10) -> None:
        from django.template.loader import render_to_string

        from reports.statements import pdf as pdfmod
        from reports.statements.pdf import pdf_store
        from reports.statements.services import _storage_name, statement_data, statement_pdf

        timings: dict[str, list[float]] = {
            "dane (snapshot → kontekst)": [], "szablon HTML": [], "parsowanie HTML": [],
            "style + układ strony (WeasyPrint render)": [], "zapis PDF (write_pdf, podzbiory czcionek)": [],
            "zapis pliku i wiersza (pdf_store)": [],
        }
        for _ in range(repeat):
            t = time.process_time()
            data = statement_data(statement=statement)
            timings["dane (snapshot → kontekst)"].append(time.process_time() - t)
            t = time.process_time()
            html = render_to_string("reports/pdf/statement.html", {**data, "pdf_created": "2026-04-02T10:00:00+02:00"})
            timings["szablon HTML"].append(time.process_time() - t)
            t = time.process_time()
            parsed = pdfmod.pdf_html(html)  # as pdf_render does
            timings["parsowanie HTML"].append(time.process_time() - t)
            t = time.process_time()
            with pdfmod._no_cyclic_gc():  # as pdf_render does
                document = parsed.render(font_config=pdfmod.font_config(), stylesheets=[pdfmod.stylesheet_for("statement.html")])
            timings["style + układ strony (WeasyPrint render)"].append(time.process_time() - t)
            t = time.process_time()
            with pdfmod._no_cyclic_gc():
                content = document.write_pdf(**pdfmod.pdf_options())
            timings["zapis PDF (write_pdf, podzbiory czcionek)"].append(time.process_time() - t)
            t = time.process_time()
            rendered = pdfmod.RenderedPDF(name="x.pdf", content=content, sha256=hashlib.sha256(content).hexdigest(), pages=1)
            pdf_store(statement, rendered, _storage_name(statement.number))
            timings["zapis pliku i wiersza (pdf_store)"].append(time.process_time() - t)
        total = sum(statistics.median(v) for v in timings.values())
        self.stdout.write(f"Etapy jednego zestawienia, czas procesora (mediana z {repeat}):")
        for name, values in timings.items():
            median = statistics.median(values)
            self.stdout.write(f"  {name:<45} {median * 1000:7.1f} ms  {median / total:5.1%}")
        self.stdout.write("Odśmiecacz cykli (gc) przy renderowaniu, statement_pdf, czas procesora:")
        for label, disabled in (("gc wstrzymany na czas renderowania (jak pdf_render)", True), ("gc włączony", False)):
            durations = []
            with _gc_pause_kept(disabled):
                for _ in range(repeat):
                    t = time.process_time()
                    statement_pdf(statement=statement)
                    durations.append(time.process_time() - t)
            self.stdout.write(f"  {label:<52} {statistics.median(durations) * 1000:7.1f} ms")
        self.stdout.write("Opcje write_pdf (ten sam dokument):")
        variants = {
            "domyślne (podzbiory czcionek)": {},
            "full_fonts=True (całe czcionki)": {"full_fonts": True},
            "hinting=True": {"hinting": True},
            "uncompressed_pdf=True": {"uncompressed_pdf": True},
            "optimize_images=True": {"optimize_images": True},
        }
        for label, extra in variants.items():
            durations, size = [], 0
            for _ in range(repeat):
                t = time.process_time()
                size = len(document.write_pdf(**{**pdfmod.pdf_options(), **extra}))
                durations.append(time.process_time() - t)
            self.stdout.write(f"  {label:<45} {statistics.median(durations) * 1000:7.1f} ms  {size / 1024:8.1f} KiB")
