"""``manage.py load_demo_reports CLUSTER [--start YYYY-MM-DD] [--end YYYY-MM-DD]``

Demo only: synthetic meter data for the period, one settlement per month with
rendered and published statements, so a fresh ``make run`` shows every page
filled. Idempotent: months that already have a finished run are left alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from members.models import Cluster, MeteringPoint
from reports.metering.store import meter_blocks_upsert
from reports.metering.synthetic import synthetic_readings
from reports.models import ClusterReport, JobStatus, SettlementRun
from reports.settlement.runs import settlement_request
from reports.settlement.tasks import settlement_run_task
from reports.statements.cluster_report import cluster_report_render
from reports.statements.services import statement_render, statements_for_run, statements_prepare, statements_publish


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        months.append((first, following - dt.timedelta(days=1)))
        first = following
    return months


class Command(BaseCommand):
    help = "Dane demonstracyjne: syntetyczne odczyty, rozliczenia miesięczne i opublikowane zestawienia."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra")
        parser.add_argument("--start", type=dt.date.fromisoformat, help="domyślnie: 10 miesięcy przed --end")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="ostatni dzień (włącznie); domyślnie koniec poprzedniego miesiąca")
        parser.add_argument("--publish-last", type=int, default=2, help="ile ostatnich miesięcy opublikować")

    def handle(
        self, *args: Any, cluster: str, start: dt.date | None, end: dt.date | None, publish_last: int, **options: Any
    ) -> None:
        end = end or timezone.localdate().replace(day=1) - dt.timedelta(days=1)
        start = start or _months(end.replace(day=1) - dt.timedelta(days=280), end)[0][0]
        target = Cluster.objects.filter(slug=cluster).first()
        if target is None:
            raise CommandError(f"Nie ma klastra „{cluster}”: najpierw uruchom load_demo.")
        months = _months(start, end)
        ppes = list(MeteringPoint.objects.filter(cluster=target).prefetch_related("generators").order_by("code"))
        for index, (first, last) in enumerate(months):
            runs = SettlementRun.objects.filter(cluster=target, period_start=first, period_end=last)
            run = runs.filter(status=JobStatus.DONE).order_by("-version").first()
            if run is None:
                days = meter_blocks_upsert(blocks=synthetic_readings(ppes=ppes, start=first, end=last, seed=2024))
                self.stdout.write(f"Dane pomiarowe {first:%Y-%m}: {len(ppes)} PPE, {days} dni-PPE.")
                # A run left QUEUED by an interrupted earlier call is picked up, not duplicated.
                run = runs.filter(status=JobStatus.QUEUED).first() or settlement_request(
                    cluster=target, period_start=first, period_end=last, dispatch=False
                )
                settlement_run_task(run.pk)  # in this process: the task's own claim and failure handling
                run.refresh_from_db()
            if run.status != JobStatus.DONE:
                raise CommandError(f"Rozliczenie {first:%Y-%m} nie powiodło się: {run.error_text or run.message_text}")
            if index >= len(months) - publish_last and run.statements_published_at is None:
                statements_prepare(run=run)
                for statement in statements_for_run(run=run):
                    if not statement.file:
                        statement_render(statement=statement)
                cluster_report_render(report=ClusterReport.objects.get(run=run))
                try:
                    statements_publish(run=run, user=None)
                except ValidationError as exc:  # e.g. the cluster is not eligible for support (no register entry)
                    raise CommandError(f"Rozliczenie {first:%Y-%m}: " + " ".join(exc.messages)) from exc
            level = run.totals.get("autoconsumption_pct")
            self.stdout.write(f"Rozliczenie {first:%Y-%m} v{run.version}: autokonsumpcja {level} %, razem {run.totals.get('total')} zł")
        self.stdout.write(self.style.SUCCESS("Dane demonstracyjne rozliczeń gotowe."))
