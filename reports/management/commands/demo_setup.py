"""``manage.py demo_setup``: the demo cluster for ``make run``, loaded only into an empty database.

A database that already holds a cluster is never touched: the coordinator's own
work (members who left, transfers, changed data) survives every restart.
``make demo-reset`` starts over. The last lines printed are the demo logins.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from members.management.commands.load_demo import ADMIN, CLUSTER, COORDINATOR, MEMBER
from members.models import Cluster


class Command(BaseCommand):
    help = "Wczytaj klaster demonstracyjny, jeśli baza nie ma jeszcze żadnego klastra; wypisz konta demonstracyjne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--logins-only", action="store_true", help="tylko wypisz konta demonstracyjne")

    def handle(self, *args: Any, logins_only: bool = False, **options: Any) -> None:
        if logins_only:
            self._logins()
            return
        clusters = Cluster.objects.count()
        if clusters:
            self.stdout.write(
                _("Baza zawiera już dane (klastry: %(n)s): demo nie jest wczytywane, nic nie zostało zmienione. "
                  "Aby zacząć od nowa: make demo-reset.") % {"n": clusters}
            )
        else:
            call_command("load_demo", stdout=self.stdout)
            call_command("load_demo_reports", CLUSTER["slug"], stdout=self.stdout)
        self._logins()

    def _logins(self) -> None:
        users = set(get_user_model().objects.filter(username__in=[COORDINATOR[0], ADMIN[0], MEMBER[0]]).values_list("username", flat=True))
        if not users:
            return
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("Konta demonstracyjne (hasła z demo, o ile ich nie zmieniono):")))
        for label, (username, password, *_rest) in (
            (_("koordynator"), COORDINATOR), (_("członek"), MEMBER), (_("administrator (/admin/)"), ADMIN)
        ):
            if username in users:
                self.stdout.write(f"  {label}: {username} / {password}")
