"""``manage.py load_demo_readings CLUSTER --start YYYY-MM-DD --end YYYY-MM-DD [--seed N]``."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Cluster, MeteringPoint
from reports.metering.store import meter_blocks_upsert
from reports.metering.synthetic import synthetic_readings


class Command(BaseCommand):
    help = "Zapisuje syntetyczne godzinowe dane pomiarowe dla wszystkich PPE klastra (dane demonstracyjne)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra")
        parser.add_argument("--start", type=dt.date.fromisoformat, required=True)
        parser.add_argument("--end", type=dt.date.fromisoformat, required=True, help="ostatni dzień (włącznie)")
        parser.add_argument("--seed", type=int, default=2024)

    def handle(self, *args, cluster: str, start: dt.date, end: dt.date, seed: int, **options) -> None:
        target = Cluster.objects.filter(slug=cluster).first()
        if target is None:
            raise CommandError(f"Nie ma klastra „{cluster}”.")
        if end < start:
            raise CommandError("--end nie może być wcześniejszy niż --start.")
        ppes = list(MeteringPoint.objects.filter(cluster=target).prefetch_related("generators").order_by("code"))
        began = time.perf_counter()
        days = 0
        # The meter store takes at most a year and a day per block: write longer ranges year by year.
        first = start
        while first <= end:
            last = min(end, first + dt.timedelta(days=365))
            days += meter_blocks_upsert(blocks=synthetic_readings(ppes=ppes, start=first, end=last, seed=seed))
            first = last + dt.timedelta(days=1)
        seconds = time.perf_counter() - began
        self.stdout.write(self.style.SUCCESS(
            f"{target.slug}: {len(ppes)} PPE, {start} – {end}: zapisano {days} dni-PPE w {seconds:.1f} s."
        ))
