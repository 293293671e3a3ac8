"""``manage.py import_registry CLUSTER PATH [--create --name NAME --dso DSO]`` (formats: docs/formats.md).

Runs the import synchronously with the same service as the upload page's
background job; a refused import exits with status 1 and lists the errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import DSO, Cluster
from members.services.imports import KINDS, ImportReport, registry_import


class Command(BaseCommand):
    help = (
        "Import members, PPEs, generators and storage units of a cluster from a folder or .zip of CSV files, "
        "or an .xlsx with one sheet per file. All-or-nothing; re-importing updates by ref / PPE code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="cluster slug")
        parser.add_argument("path", type=Path, help="folder, .zip, .xlsx or a single .csv")
        parser.add_argument("--create", action="store_true", help="create the cluster if it does not exist")
        parser.add_argument("--name", help="cluster name (with --create)")
        parser.add_argument("--dso", help="DSO slug, e.g. tauron (with --create)")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["cluster"]
        with transaction.atomic():
            cluster = Cluster.objects.filter(slug=slug).select_related("dso").first()
            if cluster is None:
                cluster = self._create(slug, options)
            report = registry_import(cluster=cluster, source=options["path"])
            if not report.ok:
                # A cluster made by --create for a refused import goes too.
                transaction.set_rollback(True)
        if not report.ok:
            shown = report.errors[: settings.OKE_REGISTRY_MAX_ERRORS]
            for error in shown:
                self.stderr.write(str(error))
            if len(shown) < report.error_count:
                self.stderr.write(
                    _("… pokazano %(shown)s z %(total)s błędów (OKE_REGISTRY_MAX_ERRORS).")
                    % {"shown": len(shown), "total": report.error_count}
                )
            raise CommandError(
                ngettext(
                    "Import odrzucony: %(n)s błąd, nic nie zapisano.", "Import odrzucony: %(n)s błędów, nic nie zapisano.",
                    report.error_count,
                ) % {"n": report.error_count}
            )
        self.stdout.write(self.style.SUCCESS(self._summary(cluster, report)))

    def _create(self, slug: str, options: dict[str, Any]) -> Cluster:
        if not options["create"]:
            raise CommandError(
                _("Nie ma klastra „%(slug)s”. Dodaj --create --name NAZWA --dso OSD, aby go utworzyć.") % {"slug": slug}
            )
        if not options["name"] or not options["dso"]:
            raise CommandError(_("Do utworzenia klastra potrzebne są --name i --dso."))
        dso = DSO.objects.filter(slug=options["dso"]).first()
        if dso is None:
            known = ", ".join(DSO.objects.values_list("slug", flat=True))
            raise CommandError(_("Nieznany OSD „%(dso)s”; dozwolone: %(known)s.") % {"dso": options["dso"], "known": known})
        cluster = Cluster.objects.create(slug=slug, name=options["name"], dso=dso)
        self.stdout.write(_("Utworzono klaster %(name)s (%(slug)s).") % {"name": cluster.name, "slug": slug})
        return cluster

    @staticmethod
    def _summary(cluster: Cluster, report: ImportReport) -> str:
        lines = [_("Zaimportowano rejestr klastra %(name)s.") % {"name": cluster.name}]
        labels = {
            "members": _("członkowie"),
            "metering_points": _("PPE"),
            "memberships": _("przynależność PPE"),
            "generators": _("jednostki wytwórcze"),
            "storage_units": _("magazyny energii"),
        }
        for kind in KINDS:
            lines.append(
                _("  %(label)s: nowe %(c)s, zmienione %(u)s, bez zmian %(s)s")
                % {
                    "label": labels[kind],
                    "c": report.created.get(kind, 0),
                    "u": report.updated.get(kind, 0),
                    "s": report.unchanged.get(kind, 0),
                }
            )
        if report.ignored:
            lines.append(_("  pominięte pliki/arkusze: %(list)s") % {"list": ", ".join(report.ignored)})
        return "\n".join(lines)
