"""bench_pages: its accounts log in where the load test expects, and every page it requests answers 200."""

from __future__ import annotations

import random

import pytest

from members.models import Member
from reports.management.commands.bench_pages import MEMBER_PAGES, STAFF_PAGES, Command, _percentile
from tests.factories import MemberFactory
from tests.reports.factories import SettlementRunFactory

pytestmark = pytest.mark.django_db


def test_it_makes_staff_and_member_accounts_and_every_page_it_requests_answers(client, cluster):
    MemberFactory.create_batch(3, cluster=cluster)
    run = SettlementRunFactory(cluster=cluster)
    command = Command()
    names = command._accounts(cluster, staff=2, members=2)
    assert names == {"staff": ["bench-staff-0", "bench-staff-1"], "member": ["bench-member-0", "bench-member-1"]}
    assert command._accounts(cluster, staff=2, members=2) == names  # a second run reuses them
    assert Member.objects.filter(cluster=cluster, user__username__startswith="bench-member-").count() == 2
    paths = command._paths(cluster, run)
    assert set(paths) == {*STAFF_PAGES, *MEMBER_PAGES}
    rng = random.Random(0)
    for role, pages in (("bench-staff-0", STAFF_PAGES), ("bench-member-0", MEMBER_PAGES)):
        client.logout()
        client.force_login(cluster.staff.get(username=role) if role.startswith("bench-staff") else Member.objects.get(user__username=role).user)
        for page in pages:
            path = paths[page]
            response = client.get(path(rng) if callable(path) else path)
            assert response.status_code == 200, page


def test_it_takes_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 0.5) == 50.0
    assert _percentile(values, 0.95) == 95.0
    assert _percentile([7.0], 0.95) == 7.0
