"""``manage.py settlements CLUSTER [--json]``: the cluster's settlement runs, with whether each is outdated and why."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Cluster
from reports.models import SettlementRun


class Command(BaseCommand):
    help = "Rozliczenia klastra: wersja, okres, status, czy nieaktualne i dlaczego."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra")
        parser.add_argument("--json", action="store_true", help="wynik jako JSON")

    def handle(self, *args: Any, cluster: str, json: bool = False, **options: Any) -> None:
        target = Cluster.objects.filter(slug=cluster).first()
        if target is None:
            raise CommandError(f"Nie ma klastra „{cluster}”.")
        runs = (
            SettlementRun.objects.filter(cluster=target)
            .prefetch_related("outdated_reasons")
            .order_by("period_start", "period_end", "version")
        )
        rows = [
            {
                "id": run.pk,
                "version": run.version,
                "period": {"start": str(run.period_start), "end": str(run.period_end), "kind": run.period_kind},
                "status": run.status,
                "outdated": bool(run.outdated_reasons.all()),
                "reasons": [
                    {"code": r.code, "label": str(r.get_code_display()), "detail": r.detail_text,
                     "at": r.created_at.isoformat()}
                    for r in run.outdated_reasons.all()
                ],
            }
            for run in runs
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        for row in rows:
            flag = "NIEAKTUALNE" if row["outdated"] else ""
            self.stdout.write(f"{row['period']['start']} – {row['period']['end']} v{row['version']} {row['status']} {flag}")
            for reason in row["reasons"]:
                self.stdout.write(f"    {reason['label']}: {reason['detail']}")


def _dumps(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
