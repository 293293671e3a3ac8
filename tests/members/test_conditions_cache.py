"""The dashboard's cluster status is computed once per change of its data, in every process."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.db import DatabaseCache
from django.urls import reverse

from members.services import conditions, datastamp
from members.services.conditions import cluster_status_cached
from members.services.datastamp import conditions_invalidate
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 1)


@pytest.fixture
def computed(monkeypatch):
    """Counts the real computations behind ``cluster_status_cached``."""
    calls: list[int] = []
    real = conditions.cluster_status

    def counting(*, cluster, on):
        calls.append(cluster.pk)
        return real(cluster=cluster, on=on)

    monkeypatch.setattr(conditions, "cluster_status", counting)
    return calls


def _with_installation(cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
    return GeneratorFactory(ppe=ppe)


def test_it_computes_once_and_serves_the_copy_until_something_changes(cluster, computed):
    first = cluster_status_cached(cluster=cluster, on=DAY)
    second = cluster_status_cached(cluster=cluster, on=DAY)
    assert computed == [cluster.pk]
    assert second == first


def test_it_recomputes_after_conditions_invalidate(cluster, computed):
    cluster_status_cached(cluster=cluster, on=DAY)
    conditions_invalidate(cluster_ids=[cluster.pk])
    cluster_status_cached(cluster=cluster, on=DAY)
    assert computed == [cluster.pk, cluster.pk]


def test_it_keeps_other_clusters_copies_when_one_is_invalidated(cluster, other_cluster, computed):
    cluster_status_cached(cluster=cluster, on=DAY)
    cluster_status_cached(cluster=other_cluster, on=DAY)
    conditions_invalidate(cluster_ids=[other_cluster.pk])
    cluster_status_cached(cluster=cluster, on=DAY)
    assert computed == [cluster.pk, other_cluster.pk]


def test_it_sees_a_registry_change_saved_without_an_explicit_invalidation(cluster, computed):
    before = cluster_status_cached(cluster=cluster, on=DAY)
    _with_installation(cluster)  # plain ORM saves, as the admin panel does
    after = cluster_status_cached(cluster=cluster, on=DAY)
    assert len(computed) == 2
    assert after["generators"] == before["generators"] + 1


def test_it_recomputes_for_another_day(cluster, computed):
    cluster_status_cached(cluster=cluster, on=DAY)
    cluster_status_cached(cluster=cluster, on=DAY + dt.timedelta(days=1))
    assert len(computed) == 2


def test_it_keeps_the_invalidation_where_every_process_reads_it(cluster):
    """Another gunicorn or Celery process opens its own cache backend: it must see the new token."""
    assert not django_settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    conditions_invalidate(cluster_ids=[cluster.pk])
    fresh = DatabaseCache(django_settings.CACHES["default"]["LOCATION"], {})
    key = datastamp.VERSION_KEY.format(cluster_id=cluster.pk)
    token = fresh.get(key)
    assert token is not None
    conditions_invalidate(cluster_ids=[cluster.pk])
    assert fresh.get(key) not in (None, token)


def test_it_computes_every_time_when_the_cache_table_is_missing(cluster, computed, settings):
    settings.CACHES = {**settings.CACHES, "absent": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                                     "LOCATION": "no_such_cache_table"}}
    settings.OKE_STATUS_CACHE = "absent"
    cluster_status_cached(cluster=cluster, on=DAY)
    conditions_invalidate(cluster_ids=[cluster.pk])  # no error either
    cluster_status_cached(cluster=cluster, on=DAY)
    assert len(computed) == 2


def test_it_serves_a_cached_dashboard_in_few_queries(client, coordinator, cluster, computed, django_assert_max_num_queries):
    for _ in range(5):
        _with_installation(cluster)
    client.force_login(coordinator)
    address = reverse("members:dashboard", kwargs={"cluster_slug": cluster.slug})
    assert client.get(address).status_code == 200
    # Session, user, cluster, the context processors, the cached copy, the registry fingerprint
    # and the outdated-settlements panel.
    with django_assert_max_num_queries(7):
        response = client.get(address)
    assert response.status_code == 200
    assert len(computed) == 1
    assert response.context["status"]["generators"] == 5
