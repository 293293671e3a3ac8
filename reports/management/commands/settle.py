"""``manage.py settle CLUSTER --start YYYY-MM-DD --end YYYY-MM-DD [--override-completeness] [--json]``."""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from members.models import Cluster
from reports.models import AllocationMethod, JobStatus, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.periods import run_level_provisional
from reports.settlement.snapshot import run_snapshot_read
from reports.settlement.tasks import settlement_run_task


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Niepoprawna data {value!r} (oczekiwano RRRR-MM-DD).") from exc


def eligibility_report(run: SettlementRun) -> dict:
    """The run's eligibility verdict, its reasons as Polish text."""
    eligibility = run_snapshot_read(run).status.eligibility
    with translation.override("pl"):
        reasons = [reason.render() for reason in eligibility.reasons]
    return {
        "eligible": eligibility.eligible,
        "reasons": reasons,
        "benefit_from": eligibility.benefit_from.isoformat() if eligibility.benefit_from else None,
    }


def run_report(run: SettlementRun) -> dict:
    return {
        "cluster": run.cluster.slug,
        "period": {"start": str(run.period_start), "end": str(run.period_end)},
        "version": run.version,
        "status": run.status,
        "totals": run.totals,
        "lines": [
            {
                "ref": line.member_ref,
                "name": line.member_name,
                "drawn_wh": line.drawn_wh,
                "shared_wh": line.shared_wh,
                "fed_in_wh": line.fed_in_wh,
                "discount": str(line.discount),
                "exemptions": line.exemptions,
                "exemptions_total": str(line.exemptions_total),
                "total": str(line.total),
            }
            for line in run.lines.order_by("member_ref")
        ],
        "rates": {k: run.snapshot.get(k) for k in ("rates", "fees", "tiers", "rule")},
        # settled_wh: Σ_h min(fed_h, drawn_h) + min(coefficient × (Σ_h surplus_h + carried), Σ_h deficit_h)
        # (Dz.U. 2022 poz. 703, art. 38e ustawy o OZE); "netting": per netting period, with the carried surplus
        "cooperative": (run.cooperative or {}) | {"netting": (run.snapshot or {}).get("cooperative_netting")},
        "eligibility": eligibility_report(run),
        # over which period the rule evaluates the level; provisional: the annual statement will correct it
        "evaluation": {
            "period": (run.snapshot.get("rule") or {}).get("evaluation_period"),
            "provisional": run_level_provisional(run),
        },
    }


LEVEL_TEXT = {
    "all_sources": "poziom autokonsumpcji liczony ze wszystkich źródeł członków",
    "renewable": "poziom autokonsumpcji liczony tylko z OZE",
}


class Command(BaseCommand):
    help = "Rozlicza klaster za okres (w tym procesie) i wypisuje wynik."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra")
        parser.add_argument("--start", required=True)
        parser.add_argument("--end", required=True)
        parser.add_argument("--override-completeness", action="store_true")
        parser.add_argument("--allocation", choices=AllocationMethod.values, default=AllocationMethod.PRO_RATA)
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, **opts) -> None:
        cluster = Cluster.objects.filter(slug=opts["cluster"]).first()
        if cluster is None:
            raise CommandError(f"Nie ma klastra {opts['cluster']!r}.")
        start, end = _date(opts["start"]), _date(opts["end"])
        try:
            run = settlement_request(
                cluster=cluster,
                period_start=start,
                period_end=end,
                period_kind=SettlementRun.PeriodKind.CUSTOM,
                allocation=opts["allocation"],
                override_completeness=opts["override_completeness"],
                dispatch=False,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        settlement_run_task(run.pk)  # in this process: the same claim and failure handling as the worker
        run.refresh_from_db()
        if run.status != JobStatus.DONE:
            detail = ""
            if run.missing:
                detail = "\n" + "\n".join(f"  {m['ppe']} ({m['member']}): {m['hours']} h, {m['first']} – {m['last']}" for m in run.missing)
            raise CommandError(f"Rozliczenie v{run.version} nieudane: {run.error_text}{detail}")
        report = run_report(run)
        if opts["as_json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        t = run.totals
        self.stdout.write(
            f"{cluster.name} {start}–{end} v{run.version}: pobór {t['drawn_wh'] / 1e6:.3f} MWh, "
            f"energia współdzielona {t['shared_wh'] / 1e6:.3f} MWh ({t['autoconsumption_pct']} %), "
            f"upust {t['discount']} zł, zwolnienia {t['exemptions_total']} zł, razem {t['total']} zł"
        )
        self.stdout.write("  " + LEVEL_TEXT.get(t.get("level_numerator"), "") + (
            f" (tylko OZE: {t['renewable_level_pct']} %, wszystkie źródła: {t['all_sources_level_pct']} %)"
            if t.get("all_sources_level_pct") is not None else ""
        ))
        if report["evaluation"]["provisional"]:
            self.stdout.write("  poziom i próg oceniane za rok kalendarzowy: kwoty wstępne, korekta w zestawieniu rocznym")
        eligibility = report["eligibility"]
        if not eligibility["eligible"]:
            self.stdout.write("  NIE SPEŁNIA WARUNKÓW WSPARCIA (kwoty jak dla klastra uprawnionego): "
                              + " ".join(eligibility["reasons"]))
        elif eligibility["reasons"]:
            self.stdout.write("  " + " ".join(eligibility["reasons"]))
        estimated = t.get("estimated") or {}
        if estimated.get("hours"):
            self.stdout.write(
                f"  szacunek: udział OZE z mocy zainstalowanej dla {estimated['hours']} godzin-PPE ("
                + ", ".join(f"{p['code']}: {p['hours']} h" for p in estimated["ppes"]) + ")"
            )
        for line in report["lines"]:
            self.stdout.write(
                f"  {line['ref']:<20} {line['drawn_wh'] / 1e6:>12.3f} {line['shared_wh'] / 1e6:>12.3f} "
                f"{line['discount']:>12} {line['exemptions_total']:>12} {line['total']:>12}"
            )
