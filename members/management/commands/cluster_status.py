"""``manage.py cluster_status CLUSTER [--date YYYY-MM-DD] [--json]``: area verdict and statutory conditions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Cluster
from members.services.conditions import cluster_status


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--date: „%(v)s” nie jest datą RRRR-MM-DD.") % {"v": value}) from None


class Command(BaseCommand):
    help = (
        "Show whether a cluster meets the area rule and the statutory conditions on a date. "
        "--json prints the machine-readable status (decimals as strings); see docs/formats.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="cluster slug")
        parser.add_argument("--date", help="YYYY-MM-DD (default: today, Europe/Warsaw)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        cluster = Cluster.objects.select_related("dso").filter(slug=options["cluster"]).first()
        if cluster is None:
            raise CommandError(_("Nie ma klastra „%(slug)s”.") % {"slug": options["cluster"]})
        on = _date(options["date"]) if options["date"] else timezone.localdate()
        status = cluster_status(cluster=cluster, on=on)
        if options["json"]:
            self.stdout.write(json.dumps(status, ensure_ascii=False, indent=2))
            return
        self.stdout.write(self._summary(status))

    @staticmethod
    def _summary(status: dict[str, Any]) -> str:
        mark = {True: _("spełniony"), False: _("NIESPEŁNIONY"), None: _("nie można ocenić")}
        lines = [
            _("%(name)s — stan na %(date)s") % {"name": status["name"], "date": status["date"]},
            _("Członkowie: %(m)s, PPE: %(p)s, moc zainstalowana: %(mw)s MW (OZE %(res)s MW), magazyny: %(s)s MW / %(sh)s MWh")
            % {
                "m": status["members"], "p": status["ppes"], "mw": status["installed_mw"],
                "res": status["renewable_mw"], "s": status["storage_mw"], "sh": status["storage_mwh"],
            },
            "",
            _("Obszar działania: %(ok)s") % {"ok": _("zgodny z art. 38a") if status["area_ok"] else _("NARUSZONY")},
            "  " + status["area_explanation"],
        ]
        lines += [f"  ! {e}" for e in status["area_errors"]]
        lines += ["", _("Warunki ustawowe:")]
        for c in status["conditions"]:
            value = "—" if c["value"] is None else f"{c['value']} {c['unit']}"
            estimate = _(" (szacunek)") if c["estimated"] else ""
            lines.append(
                _("  %(name)s: %(value)s (wymóg %(cmp)s %(threshold)s %(unit)s) — %(verdict)s%(estimate)s")
                % {
                    "name": c["name"], "value": value, "cmp": c["comparison"], "threshold": c["threshold"],
                    "unit": c["unit"], "verdict": mark[c["ok"]], "estimate": estimate,
                }
            )
            if c["note"]:
                lines.append(f"      {c['note']}")
        if status["warnings"]:
            lines += ["", _("Uwagi:")] + [f"  - {w}" for w in status["warnings"]]
        return "\n".join(lines)
