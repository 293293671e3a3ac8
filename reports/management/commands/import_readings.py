"""``manage.py import_readings CLUSTER PATH [--format generic|tauron|production] [--ppe CODE] [--async]``."""

from __future__ import annotations

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Cluster, MeteringPoint
from reports.metering.imports import reading_import_claim, reading_import_create, reading_import_process
from reports.models import JobStatus, ReadingImport


class Command(BaseCommand):
    help = "Importuje plik z danymi pomiarowymi (CSV ogólny, eksport Tauron eLicznik albo produkcja jednostek wytwórczych)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra")
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=[f.value for f in ReadingImport.Format], default="generic")
        parser.add_argument("--ppe", help="kod PPE (pliki eLicznik nie zawierają kodu)")
        parser.add_argument("--async", dest="run_async", action="store_true", help="wyślij do kolejki zadań")

    def handle(self, *args, cluster: str, path: Path, format: str, ppe: str | None, run_async: bool, **options) -> None:
        target = Cluster.objects.filter(slug=cluster).first()
        if target is None:
            raise CommandError(f"Nie ma klastra „{cluster}”.")
        if not path.is_file():
            raise CommandError(f"Nie ma pliku {path}.")
        point = None
        if ppe:
            point = MeteringPoint.objects.filter(cluster=target, code=ppe).first()
            if point is None:
                raise CommandError(f"PPE {ppe} nie należy do klastra {target.slug}.")
        with path.open("rb") as handle:
            reading_import = reading_import_create(
                cluster=target, file=File(handle), name=path.name, format=format, ppe=point, enqueue=run_async
            )
        if run_async:
            self.stdout.write(f"Import #{reading_import.id} wysłany do kolejki.")
            return
        if not reading_import_claim(import_id=reading_import.id):
            raise CommandError("Import został już podjęty przez inny proces.")
        shown = [-10]

        def echo(percent: int) -> None:
            if percent >= shown[0] + 10 or percent == 100:
                shown[0] = percent
                self.stdout.write(f"  {percent:3d} %")

        result = reading_import_process(import_id=reading_import.id, on_progress=echo)
        if result.status != JobStatus.DONE:
            lines = [f"Import #{result.id}: {result.message_text}"]
            for error in result.error_rows:
                where = f"wiersz {error.line}" if error.line else "plik"
                lines.append(f"  {where}, {error.field}: {error.message}")
            raise CommandError("\n".join(lines))
        s = result.summary
        self.stdout.write(self.style.SUCCESS(f"Import #{result.id}: {result.message_text}"))
        if result.format == ReadingImport.Format.PRODUCTION:
            self.stdout.write(f"  okres {s['from']} – {s['to']}, produkcja {s['production_kwh']} kWh, "
                              f"{s['generators']} jednostek wytwórczych, {s['days_written']} dni")
            return
        self.stdout.write(
            f"  okres {s['from']} – {s['to']}, pobór {s['import_kwh']} kWh, oddanie {s['export_kwh']} kWh, "
            f"{s['days_written']} dni-PPE, {s['seconds']} s ({s['readings_per_second']} odczytów/s)"
        )
        for item in result.outside_membership:
            self.stdout.write(
                self.style.WARNING(f"  poza przynależnością: {item['ppe']} {item['from']} – {item['to']} "
                                   f"({item['intervals']} okresów)")
            )
