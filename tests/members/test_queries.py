"""List and detail pages run a fixed number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)

pytestmark = pytest.mark.django_db

# Session, user, cluster, counts, page rows, filter choices, navigation: the same for 5 or 30 rows.
MAX_QUERIES = 16
# The dashboard also evaluates the area rule and every statutory condition (a query or two each);
# this first view is a cache miss, so it also reads the cache and the registry fingerprint and stores
# the copy (tests/members/test_conditions_cache.py bounds the queries of a cached view).
MAX_DASHBOARD_QUERIES = 36


def populate(cluster, n: int):
    """n members, each with one PPE carrying a generator and a storage unit."""
    members = []
    for _ in range(n):
        member = MemberFactory(cluster=cluster)
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member)
        GeneratorFactory(ppe=ppe)
        StorageUnitFactory(ppe=ppe)
        members.append(member)
    return members


@pytest.mark.parametrize("rows", [5, 30])
@pytest.mark.parametrize("name", ["member-list", "ppe-list", "dashboard"])
def test_it_keeps_list_queries_flat(client, coordinator, cluster, django_assert_max_num_queries, rows, name):
    populate(cluster, rows)
    client.force_login(coordinator)
    address = reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug})
    with django_assert_max_num_queries(MAX_DASHBOARD_QUERIES if name == "dashboard" else MAX_QUERIES):
        response = client.get(address)
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 30])
def test_it_keeps_member_detail_and_edit_queries_flat(client, coordinator, cluster, django_assert_max_num_queries, rows):
    member = MemberFactory(cluster=cluster)
    for _ in range(rows):
        ppe = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppe, member=member)
        GeneratorFactory(ppe=ppe)
        StorageUnitFactory(ppe=ppe)
    client.force_login(coordinator)
    for name in ("member-detail", "member-edit"):
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, "pk": member.pk}))
        assert response.status_code == 200
