"""The completeness page's figures are computed once per change of the cluster's data."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.engine import hours_for_days
from reports.metering.selectors import completeness, completeness_cached
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.test_settlement_service import store


def test_a_cached_month_matches_and_a_meter_import_refreshes_it(cluster) -> None:
    member = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2025, 1, 1))
    hours = hours_for_days(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 10))
    store(ppe, hours, np.full(len(hours), 1000), np.zeros(len(hours), dtype=np.int64))

    first = completeness_cached(cluster=cluster, year=2025, month=6)
    with CaptureQueriesContext(connection) as queries:
        again = completeness_cached(cluster=cluster, year=2025, month=6)
    assert [(r.ppe.pk, r.present, r.missing) for r in again] == [(r.ppe.pk, r.present, r.missing) for r in first]
    assert first[0].present == 240 and len(queries) <= 4

    more = hours_for_days(start=dt.date(2025, 6, 11), end=dt.date(2025, 6, 12))
    store(ppe, more, np.full(len(more), 1000), np.zeros(len(more), dtype=np.int64))  # the store invalidates
    fresh = completeness_cached(cluster=cluster, year=2025, month=6)
    assert fresh[0].present == 288 == completeness(cluster=cluster, year=2025, month=6)[0].present


def test_a_registry_change_refreshes_it_without_an_explicit_call(cluster) -> None:
    member = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    membership = PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2025, 1, 1))
    assert completeness_cached(cluster=cluster, year=2025, month=6)[0].expected == 720
    membership.valid_from = dt.date(2025, 6, 16)
    membership.save()  # an admin edit: the history fingerprint changes
    assert completeness_cached(cluster=cluster, year=2025, month=6)[0].expected == 360
