"""The rates page: coordinators see what is in force and what is locked; only administrators give a new value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.models import DistributionRate, RunOutdatedReason
from reports.settlement.tariffs import rate_uses_record
from tests.factories import UserFactory
from tests.reports.factories import march_run


@pytest.fixture
def used(cluster):
    run = march_run(cluster)
    rate_uses_record(run=run)
    return DistributionRate.objects.get(dso=None, tariff_group=""), run


def test_coordinators_see_rates_and_which_are_locked(client, coordinator, used) -> None:
    rate, _run = used
    client.force_login(coordinator)
    page = client.get("/rates/").content.decode()
    assert "zablokowany" in page and "rozliczenia Twoich klastrów: 1" in page
    assert f"/rates/rate/{rate.pk}/new-value/" not in page  # the action is the administrators'
    assert client.get(f"/rates/rate/{rate.pk}/new-value/").status_code == 404
    assert client.post(f"/rates/rate/{rate.pk}/new-value/", {"valid_from": "2026-03-15", "variable_rate": "1", "quality_rate": "1"}).status_code == 404
    assert DistributionRate.objects.count() == 1


def test_members_and_anonymous_users_do_not_get_in(client, alice, used) -> None:
    assert client.get("/rates/").status_code == 302
    client.force_login(alice)
    assert client.get("/rates/").status_code == 404


def test_staff_of_another_cluster_see_no_use_counts_of_this_one(client, outsider, used) -> None:
    client.force_login(outsider)
    page = client.get("/rates/").content.decode()
    assert "rozliczenia Twoich klastrów: 0" in page and "klastrów: 1" not in page


def test_an_administrator_gives_a_new_value_from_a_date(client, used) -> None:
    rate, run = used
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = f"/rates/rate/{rate.pk}/new-value/"
    assert "Wiersz użyły rozliczenia" in client.get(url).content.decode()
    response = client.post(url, {"valid_from": "2026-03-15", "tariff_group": "", "variable_rate": "250,00",
                                 "quality_rate": "24.21", "source": "taryfa"}, follow=True)
    assert "Nieaktualne rozliczenia (1)" in response.content.decode()
    rate.refresh_from_db()
    assert rate.valid_to == dt.date(2026, 3, 14)
    assert DistributionRate.objects.filter(valid_from=dt.date(2026, 3, 15), variable_rate=Decimal("250")).exists()
    assert RunOutdatedReason.objects.filter(run=run, code="rate").exists()
