"""``manage.py load_demo``: the Orzeski Klaster Energii with sample data and demo logins (idempotent).

The registry comes from members/demo/ through the real import service, so the
demo exercises the same validation as a coordinator's upload. Meter data is
loaded separately (``load_demo_readings``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from members.models import DSO, Cluster, Member
from members.services.imports import registry_import
from members.services.reference import reference_data_load

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"

CLUSTER = {
    "slug": "oke",
    "name": "Orzeski Klaster Energii",
    "coordinator_name": "Klastry Energii sp. z o.o.",
    "coordinator_address": "ul. Powstańców Śląskich 1, 43-190 Mikołów",
    # Resolution of the Orzesze town council of 26 August 2021 (domain.md).
    "established_on": dt.date(2021, 8, 26),
    # The URE register entry: the demo's number is fictional ("demo"; the real entry's number is not in
    # the seed); the date is the first day of support (2 July 2024), so every demo period is eligible.
    "ure_register_number": "demo",
    "ure_register_date": dt.date(2024, 7, 2),
}
# (username, password, role); the member account belongs to this member ref.
COORDINATOR = ("koordynator", "koordynator-demo")
ADMIN = ("admin", "admin-demo")
MEMBER = ("czlonek", "czlonek-demo", "piekarnia")


class Command(BaseCommand):
    help = "Create the demo Orzeski Klaster Energii (registry from members/demo/) and demo accounts; safe to repeat."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        reference_data_load()
        tauron = DSO.objects.get(slug="tauron")
        values = {k: v for k, v in CLUSTER.items() if k != "slug"}
        cluster, _created = Cluster.objects.update_or_create(slug=CLUSTER["slug"], defaults={**values, "dso": tauron})
        report = registry_import(cluster=cluster, source=DEMO_DIR, record=False)
        if not report.ok:
            raise CommandError("\n".join(str(e) for e in report.errors))

        users = get_user_model()
        coordinator = self._account(users, *COORDINATOR, first_name="Anna", last_name="Koordynator")
        cluster.staff.add(coordinator)
        admin = self._account(users, *ADMIN, is_staff=True, is_superuser=True)
        member_user = self._account(users, MEMBER[0], MEMBER[1], first_name="Piekarnia", last_name="Orzeska")
        member = Member.objects.get(cluster=cluster, ref=MEMBER[2])
        if member.user_id != member_user.pk:
            Member.objects.filter(user=member_user).exclude(pk=member.pk).update(user=None)
            member.user = member_user
            member.save(update_fields=["user"])

        created = sum(report.created.values())
        self.stdout.write(
            self.style.SUCCESS(
                _("Klaster demonstracyjny %(name)s gotowy (nowe obiekty: %(n)s, członkowie: %(m)s).")
                % {"name": cluster.name, "n": created, "m": cluster.members.count()}
            )
        )
        self.stdout.write(_("Konta demonstracyjne:"))
        self.stdout.write(_("  koordynator: %(u)s / %(p)s") % {"u": coordinator.username, "p": COORDINATOR[1]})
        self.stdout.write(
            _("  członek (%(m)s): %(u)s / %(p)s") % {"m": member.name, "u": member_user.username, "p": MEMBER[1]}
        )
        self.stdout.write(_("  administrator (panel /admin/): %(u)s / %(p)s") % {"u": admin.username, "p": ADMIN[1]})

    @staticmethod
    def _account(users: Any, username: str, password: str, *, is_staff: bool = False, is_superuser: bool = False, **names: str) -> Any:
        user, _created = users.objects.get_or_create(username=username, defaults={"email": f"{username}@example.pl", **names})
        user.is_staff = is_staff
        user.is_superuser = is_superuser
        user.is_active = True
        user.set_password(password)
        user.save()
        return user
