"""Allocation keys on a staff page: checked to sum to 100 %, scoped to the cluster."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.models import AllocationKey
from tests.factories import MemberFactory


@pytest.fixture
def two_members(cluster):
    return MemberFactory(cluster=cluster, ref="a", name="Ala"), MemberFactory(cluster=cluster, ref="b", name="Bolek")


def url(cluster) -> str:
    return f"/c/{cluster.slug}/settlements/allocation-keys/"


def test_it_saves_keys_that_sum_to_100(client, cluster, coordinator, two_members) -> None:
    a, b = two_members
    client.force_login(coordinator)
    response = client.post(url(cluster), {f"share-{a.pk}": "62,5", f"share-{b.pk}": "37.5"})
    assert response.status_code == 302
    assert dict(AllocationKey.objects.values_list("member_id", "share")) == {a.pk: Decimal("0.625"), b.pk: Decimal("0.375")}
    page = client.get(url(cluster)).content.decode()
    assert 'value="62.50"' in page and 'value="37.50"' in page


def test_it_refuses_keys_that_do_not_sum_to_100_and_keeps_the_old_ones(client, cluster, coordinator, two_members) -> None:
    a, b = two_members
    AllocationKey.objects.create(cluster=cluster, member=a, share=Decimal(1))
    client.force_login(coordinator)
    response = client.post(url(cluster), {f"share-{a.pk}": "50", f"share-{b.pk}": "40"})
    assert response.status_code == 400 and "sumują się do 90.00" in response.content.decode()
    response = client.post(url(cluster), {f"share-{a.pk}": "abc", f"share-{b.pk}": "40"})
    assert response.status_code == 400 and "nie jest liczbą" in response.content.decode()
    assert list(AllocationKey.objects.values_list("member_id", "share")) == [(a.pk, Decimal(1))]


def test_staff_of_another_cluster_can_neither_see_nor_change_the_keys(client, cluster, outsider, two_members) -> None:
    a, b = two_members
    client.force_login(outsider)
    assert client.get(url(cluster)).status_code == 404
    assert client.post(url(cluster), {f"share-{a.pk}": "100", f"share-{b.pk}": "0"}).status_code == 404
    assert not AllocationKey.objects.exists()


def test_a_member_of_another_cluster_cannot_be_given_a_key(cluster, other_cluster, two_members) -> None:
    from django.core.exceptions import ValidationError

    from reports.settlement.keys import allocation_keys_set

    stranger = MemberFactory(cluster=other_cluster, ref="x")
    with pytest.raises(ValidationError, match="nie należy do tego klastra"):
        allocation_keys_set(cluster=cluster, shares_pct={stranger.pk: Decimal(100)}, valid_from=dt.date(2026, 1, 1))
    assert not AllocationKey.objects.exists()
