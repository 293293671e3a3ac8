"""Dated allocation key sets: the set in force at a period's start, refused when a set changes inside it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from reports.forms import SettlementRequestForm
from reports.models import AllocationKey, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.gather import allocation_keys
from reports.settlement.keys import (
    allocation_key_set_dates,
    allocation_keys_pct,
    allocation_keys_period_check,
    allocation_keys_set,
)
from tests.factories import MemberFactory
from tests.reports.test_settlement_service import END, START, store
from tests.reports.test_settlement_service import seventy as seventy  # the seed example as meter data (fixture)

pytestmark = pytest.mark.django_db
JAN, APR = dt.date(2026, 1, 1), dt.date(2026, 4, 1)


@pytest.fixture
def two_sets(cluster):
    a, b = MemberFactory(cluster=cluster, name="Ala"), MemberFactory(cluster=cluster, name="Bolek")
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(60), b.pk: Decimal(40)}, valid_from=JAN)
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(25), b.pk: Decimal(75)}, valid_from=APR)
    return a, b


def test_each_day_uses_the_set_in_force(cluster, two_sets) -> None:
    a, b = two_sets
    assert allocation_keys_pct(cluster=cluster, on=dt.date(2026, 3, 31)) == {a.pk: Decimal("60.00"), b.pk: Decimal("40.00")}
    assert allocation_keys_pct(cluster=cluster, on=APR) == {a.pk: Decimal("25.00"), b.pk: Decimal("75.00")}
    assert allocation_keys_pct(cluster=cluster, on=dt.date(2025, 12, 31)) == {}
    assert list(allocation_keys(cluster=cluster, members=[b, a], on=dt.date(2026, 5, 1))) == [0.75, 0.25]
    assert allocation_key_set_dates(cluster=cluster) == [APR, JAN]


def test_saving_a_set_replaces_only_the_set_of_that_date(cluster, two_sets) -> None:
    a, b = two_sets
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(100), b.pk: Decimal(0)}, valid_from=APR)
    assert dict(AllocationKey.objects.filter(valid_from=APR).values_list("member_id", "share")) == {a.pk: Decimal(1)}
    assert AllocationKey.objects.filter(valid_from=JAN).count() == 2


def test_a_set_must_sum_to_100_and_nothing_is_saved_otherwise(cluster, two_sets) -> None:
    a, b = two_sets
    with pytest.raises(ValidationError, match="sumują się do 90"):
        allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(50), b.pk: Decimal(40)}, valid_from=APR)
    assert allocation_keys_pct(cluster=cluster, on=APR) == {a.pk: Decimal("25.00"), b.pk: Decimal("75.00")}


def test_a_period_in_which_the_set_changes_is_refused_naming_the_date(cluster, two_sets) -> None:
    assert allocation_keys_period_check(cluster=cluster, period_start=JAN, period_end=dt.date(2026, 3, 31)) == JAN
    with pytest.raises(ValidationError, match="01.04.2026, w trakcie okresu 01.01.2026 – 30.06.2026"):
        allocation_keys_period_check(cluster=cluster, period_start=JAN, period_end=dt.date(2026, 6, 30))
    with pytest.raises(ValidationError, match="w dniu 01.12.2025 nie obowiązuje żaden zestaw"):
        allocation_keys_period_check(cluster=cluster, period_start=dt.date(2025, 12, 1), period_end=dt.date(2025, 12, 31))
    with pytest.raises(ValidationError, match="01.04.2026"):
        settlement_request(cluster=cluster, period_start=JAN, period_end=dt.date(2026, 6, 30), allocation="static", dispatch=False)
    assert not SettlementRun.objects.exists()


def test_the_request_form_offers_static_keys_only_when_a_set_exists_and_checks_the_period(cluster) -> None:
    form = SettlementRequestForm(cluster=cluster)
    assert "static" not in [value for value, _label in form.fields["allocation"].widget.choices]
    a = MemberFactory(cluster=cluster)
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(100)}, valid_from=APR)
    form = SettlementRequestForm(cluster=cluster)
    assert "static" in [value for value, _label in form.fields["allocation"].widget.choices]
    march = {"period_kind": "month", "year": "2026", "month": "3", "allocation": "static"}
    form = SettlementRequestForm(march, cluster=cluster, today=dt.date(2026, 12, 1))
    assert not form.is_valid() and "w dniu 01.03.2026 nie obowiązuje żaden zestaw" in str(form.errors["allocation"])
    quarter = {"period_kind": "quarter", "year": "2026", "quarter": "2", "allocation": "static"}
    assert SettlementRequestForm(quarter, cluster=cluster, today=dt.date(2026, 12, 1)).is_valid()


def test_the_staff_page_edits_a_set_from_a_date_and_lists_earlier_sets(client, coordinator, cluster, two_sets) -> None:
    a, b = two_sets
    url = reverse("reports:allocation-keys", args=[cluster.slug])
    client.force_login(coordinator)
    response = client.post(url, {"valid_from": "2026-07-01", f"share-{a.pk}": "10", f"share-{b.pk}": "90"})
    assert response.status_code == 302 and response["Location"].endswith("?from=2026-07-01")
    assert allocation_keys_pct(cluster=cluster, on=dt.date(2026, 7, 1)) == {a.pk: Decimal("10.00"), b.pk: Decimal("90.00")}
    assert allocation_keys_pct(cluster=cluster, on=APR)[a.pk] == Decimal("25.00")
    page = client.get(url + "?from=2026-01-01").content.decode()
    for shown in ("od 01.01.2026", "od 01.04.2026", "od 01.07.2026"):
        assert shown in page
    assert 'value="60.00"' in page and 'value="2026-01-01"' in page
    bad = client.post(url, {"valid_from": "jutro", f"share-{a.pk}": "10", f"share-{b.pk}": "90"})
    assert bad.status_code == 400 and "„jutro” nie jest datą" in bad.content.decode()
    assert AllocationKey.objects.values("valid_from").distinct().count() == 3


def test_a_static_settlement_uses_the_set_in_force_on_the_first_day(cluster, seventy, django_capture_on_commit_callbacks) -> None:
    a, b, c = seventy["members"]
    hours = seventy["hours"]
    # the generator covers a quarter of the draw every hour: shared energy is split by the keys, not capped by the draw
    store(seventy["ppes"][2], hours, np.zeros(len(hours)), np.full(len(hours), 2_500_000))
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(80), b.pk: Decimal(20)}, valid_from=dt.date(2024, 12, 1))
    allocation_keys_set(cluster=cluster, shares_pct={a.pk: Decimal(10), b.pk: Decimal(90)}, valid_from=dt.date(2025, 2, 1))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom", allocation="static")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.snapshot["allocation_keys_valid_from"] == "2024-12-01"
    assert run.snapshot["allocation_keys"] == {a.ref: "0.800000", b.ref: "0.200000"}
    shared = dict(run.lines.values_list("member_ref", "shared_wh"))
    assert shared[a.ref] == 4 * shared[b.ref] > 0
