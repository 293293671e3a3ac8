"""`make run`'s demo step: only an empty database gets the demo; existing work is never touched."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from members.models import Cluster, Member


def test_it_leaves_a_non_empty_database_alone(cluster) -> None:
    member = Member.objects.create(cluster=cluster, ref="wlasny", name="Własny członek", legal_form="person", joined_on="2025-01-01")
    out = StringIO()
    call_command("demo_setup", stdout=out)
    assert "nic nie zostało zmienione" in out.getvalue()
    assert list(Cluster.objects.values_list("slug", flat=True)) == [cluster.slug]
    member.refresh_from_db()
    assert member.name == "Własny członek" and member.left_on is None


def test_it_prints_the_demo_logins_last(db, settings) -> None:
    from django.contrib.auth import get_user_model

    from members.management.commands.load_demo import Command as LoadDemo

    LoadDemo._account(get_user_model(), "koordynator", "koordynator-demo")
    out = StringIO()
    call_command("demo_setup", "--logins-only", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "  koordynator: koordynator / koordynator-demo"
