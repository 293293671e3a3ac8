"""Rates, fees, tiers and rules that a settlement used are immutable; a new value starts on a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from reports.admin import DistributionRateForm
from reports.models import DistributionRate, RateUse, SettlementRule
from reports.settlement.tariffs import rate_uses_record, tariff_row_guard_unused, tariff_row_new_value, tariff_row_runs
from tests.factories import UserFactory
from tests.reports.factories import march_run


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def used(cluster):
    """The seeded general rate (229,30 zł/MWh since 2024) used by a March 2026 run."""
    run = march_run(cluster)
    rate_uses_record(run=run)
    return DistributionRate.objects.get(dso=None, tariff_group=""), run


def test_a_finished_run_records_every_row_it_used(used) -> None:
    rate, run = used
    kinds = set(RateUse.objects.filter(run=run).values_list("kind", flat=True))
    assert kinds == {"rate", "fee", "tier", "rule"}
    assert list(tariff_row_runs(row=rate)) == [run]
    assert rate_uses_record(run=run) > 0 and RateUse.objects.filter(run=run).count() == len(set(RateUse.objects.filter(run=run).values_list("kind", "row_id")))


def test_the_service_and_the_form_refuse_to_change_a_used_row(used) -> None:
    rate, run = used
    with pytest.raises(ValidationError, match=r"użyty w rozliczeniach \(1: "):
        tariff_row_guard_unused(row=rate)
    form = DistributionRateForm(
        {"tariff_group": "", "variable_rate": "250.00", "quality_rate": "24.21", "valid_from": "2024-01-01"}, instance=rate
    )
    assert not form.is_valid() and "Nowa wartość od dnia" in str(form.errors)
    rate.refresh_from_db()
    assert rate.variable_rate == Decimal("229.3000")


def test_the_admin_shows_a_used_row_read_only_with_its_runs_and_refuses_delete(client, superuser, used) -> None:
    rate, run = used
    client.force_login(superuser)
    page = client.get(f"/admin/reports/distributionrate/{rate.pk}/change/").content.decode()
    assert 'name="variable_rate"' not in page and "Wiersz jest zablokowany" in page and "Nowa wartość od dnia" in page
    response = client.post(f"/admin/reports/distributionrate/{rate.pk}/change/", {"variable_rate": "1", "quality_rate": "1", "valid_from": "2024-01-01"})
    assert response.status_code == 403
    assert client.post(f"/admin/reports/distributionrate/{rate.pk}/delete/", {"post": "yes"}).status_code == 403
    assert DistributionRate.objects.filter(pk=rate.pk, variable_rate=Decimal("229.30")).exists()


def test_an_unused_row_can_still_be_corrected(client, superuser, db) -> None:
    rule = SettlementRule.objects.get()
    assert not RateUse.objects.exists()
    client.force_login(superuser)
    page = client.get(f"/admin/reports/settlementrule/{rule.pk}/change/").content.decode()
    assert 'name="completeness_gate_pct"' in page and "nieużyty" in page


def test_a_new_value_ends_the_row_the_day_before_and_reports_the_outdated_runs(used) -> None:
    rate, run = used
    new, affected = tariff_row_new_value(row=rate, valid_from=dt.date(2026, 3, 15), values={"variable_rate": Decimal("250.10")})
    rate.refresh_from_db()
    assert rate.valid_to == dt.date(2026, 3, 14) and rate.variable_rate == Decimal("229.3000")
    assert (new.valid_from, new.valid_to, new.variable_rate, new.quality_rate) == (dt.date(2026, 3, 15), None, Decimal("250.10"), rate.quality_rate)
    assert affected == [run]


def test_a_new_value_after_the_run_outdates_nothing(used) -> None:
    rate, _run = used
    _new, affected = tariff_row_new_value(row=rate, valid_from=dt.date(2026, 4, 1), values={"variable_rate": Decimal("240")})
    assert affected == []


def test_a_new_value_dated_before_the_rows_start_changes_nothing(used) -> None:
    rate, _run = used
    count = DistributionRate.objects.count()
    with pytest.raises(ValidationError, match="późniejszego niż początek"):
        tariff_row_new_value(row=rate, valid_from=dt.date(2023, 12, 31), values={"variable_rate": Decimal("1")})
    rate.refresh_from_db()
    assert rate.valid_to is None and DistributionRate.objects.count() == count


def test_the_admin_new_value_page_does_it_in_one_step(client, superuser, used) -> None:
    rate, run = used
    client.force_login(superuser)
    url = f"/admin/reports/distributionrate/{rate.pk}/new-value/"
    page = client.get(url).content.decode()
    assert "229,3" in page or "229.3" in page
    response = client.post(url, {"valid_from": "2026-03-10", "tariff_group": "", "variable_rate": "251.00", "quality_rate": "24.21", "source": "taryfa 2026"}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "nieaktualne (1)" in text
    rate.refresh_from_db()
    assert rate.valid_to == dt.date(2026, 3, 9)
    assert DistributionRate.objects.filter(valid_from=dt.date(2026, 3, 10), variable_rate=Decimal("251.00"), source="taryfa 2026").exists()
    bad = client.post(url, {"valid_from": "2020-01-01", "tariff_group": "", "variable_rate": "1", "quality_rate": "1", "source": "taryfa"})
    assert "późniejszego niż początek" in bad.content.decode()
