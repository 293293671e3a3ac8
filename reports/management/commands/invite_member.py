"""``manage.py invite_member CLUSTER REF``: e-mail a member a link to set a portal password."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Member
from reports.portal.invitations import member_invite


class Command(BaseCommand):
    help = "Zaproś członka klastra do portalu (konto bez hasła + link do ustawienia hasła)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cluster", help="kod (slug) klastra, np. oke")
        parser.add_argument("ref", help="symbol członka w klastrze")

    def handle(self, *args: Any, cluster: str, ref: str, **options: Any) -> None:
        member = Member.objects.select_related("cluster").filter(cluster__slug=cluster, ref=ref).first()
        if member is None:
            raise CommandError(f"Nie ma członka „{ref}” w klastrze „{cluster}”.")
        try:
            user = member_invite(member=member, invited_by=None)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Wysłano zaproszenie: {member.name} → {user.email} (login: {user.username})"))
