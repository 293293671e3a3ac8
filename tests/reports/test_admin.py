from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from reports.admin import DiscountTierForm, DistributionRateForm, ExemptFeeForm, SettlementRuleForm
from reports.models import (
    ClusterReport,
    DiscountTier,
    DistributionRate,
    ExemptFee,
    MeterDay,
    ReadingImport,
    SettlementLine,
    SettlementRule,
    SettlementRun,
    Statement,
    StatementDownload,
)
from tests.factories import DSOFactory, UserFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

# reference_data (conftest) loads the seed's tariffs valid from 2024-01-01, open-ended.


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


def _rate(**extra) -> dict:
    return {"tariff_group": "", "variable_rate": "229.30", "quality_rate": "24.21", "valid_from": "2023-01-01", "valid_to": "2023-12-31", **extra}


def test_it_registers_every_reports_model(db) -> None:
    for model in [DistributionRate, ExemptFee, DiscountTier, SettlementRule, SettlementRun, SettlementLine, Statement,
                  StatementDownload, ClusterReport, ReadingImport, MeterDay]:
        assert admin.site.is_registered(model), model


def test_it_refuses_a_validity_that_ends_before_it_starts(db) -> None:
    form = DistributionRateForm(_rate(valid_from="2023-06-01", valid_to="2023-05-31"))
    assert not form.is_valid()
    assert "wcześniejsza niż data początku" in str(form.errors["valid_to"])


def test_it_refuses_an_overlapping_rate_and_names_the_row(db) -> None:
    existing = DistributionRate.objects.get(dso=None, tariff_group="")
    form = DistributionRateForm(_rate(valid_from="2023-06-01", valid_to="2024-01-01"))
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert f"id {existing.pk}" in message and str(existing) in message


def test_it_accepts_a_rate_for_another_key_or_an_earlier_period(db) -> None:
    assert DistributionRateForm(_rate()).is_valid()  # 2023, before the seed's rate
    assert DistributionRateForm(_rate(valid_from="2025-01-01", valid_to="", tariff_group="G11")).is_valid()
    dso = DSOFactory()
    assert DistributionRateForm(_rate(valid_from="2025-01-01", valid_to="", dso=dso.pk)).is_valid()


def test_it_lets_a_row_be_edited_without_clashing_with_itself(db) -> None:
    existing = DistributionRate.objects.get(dso=None, tariff_group="")
    data = _rate(valid_from="2024-01-01", valid_to="2025-12-31", variable_rate="230.00", source_note="korekta")
    assert DistributionRateForm(data, instance=existing).is_valid()


def test_it_refuses_an_open_ended_row_that_runs_into_a_later_one(db) -> None:
    DiscountTier.objects.filter(threshold_pct=60).update(valid_from=dt.date(2026, 1, 1))
    form = DiscountTierForm({"threshold_pct": "60", "discount_pct": "5", "valid_from": "2025-01-01", "valid_to": ""})
    assert not form.is_valid() and "2026-01-01" in " ".join(form.non_field_errors())
    closed = DiscountTierForm({"threshold_pct": "60", "discount_pct": "5", "valid_from": "2025-01-01", "valid_to": "2025-12-31"})
    assert closed.is_valid(), closed.errors


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mode": "rate"}, "rate"),
        ({"mode": "obligation", "price": "300.27"}, "obligation_pct"),
        ({"mode": "obligation", "obligation_pct": "0.5"}, "price"),
        ({"mode": "rate", "rate": "-1"}, "rate"),
    ],
)
def test_it_requires_the_values_of_the_fee_mode(db, data, field) -> None:
    form = ExemptFeeForm({"code": "blue", "valid_from": "2023-01-01", "valid_to": "2023-12-31", "applies_to_cluster": "on", **data})
    assert not form.is_valid()
    assert field in form.errors


def test_it_accepts_an_obligation_fee_and_refuses_the_same_fee_twice(db) -> None:
    ok = ExemptFeeForm({"code": "blue", "mode": "obligation", "obligation_pct": "0.5", "price": "300.27", "valid_from": "2023-01-01", "valid_to": "2023-12-31"})
    assert ok.is_valid(), ok.errors
    clash = ExemptFeeForm({"code": "blue", "mode": "rate", "rate": "1.50", "valid_from": "2025-01-01"})
    assert not clash.is_valid() and "Błękitne certyfikaty" in " ".join(clash.non_field_errors())
    other_fee = ExemptFeeForm({"code": "capacity", "mode": "rate", "rate": "50", "valid_from": "2023-01-01", "valid_to": "2023-12-31"})
    assert other_fee.is_valid(), other_fee.errors


@pytest.mark.parametrize(("field", "value"), [("threshold_pct", "101"), ("discount_pct", "-1"), ("discount_pct", "100.01")])
def test_it_keeps_tier_percentages_between_0_and_100(db, field, value) -> None:
    form = DiscountTierForm({"threshold_pct": "50", "discount_pct": "3", "valid_from": "2023-01-01", "valid_to": "2023-12-31", field: value})
    assert not form.is_valid() and field in form.errors


def test_it_allows_one_set_of_settlement_rules_at_a_time(db) -> None:
    data = {"exemption_end_date": "2029-12-31", "cooperative_coefficient": "0.6", "completeness_gate_pct": "99", "storage_price_spread": "180", "valid_from": "2025-01-01"}
    assert not SettlementRuleForm(data).is_valid()
    assert SettlementRuleForm({**data, "valid_from": "2023-01-01", "valid_to": "2023-12-31"}).is_valid()
    assert "cooperative_coefficient" in SettlementRuleForm({**data, "valid_from": "2023-01-01", "valid_to": "2023-12-31", "cooperative_coefficient": "1.5"}).errors


def test_it_shows_the_overlap_message_on_the_admin_page_and_keeps_history(client, superuser) -> None:
    client.force_login(superuser)
    response = client.post(reverse("admin:reports_distributionrate_add"), _rate(valid_from="2023-06-01", valid_to="2024-06-30"))
    assert response.status_code == 200 and "nakłada się na wiersz" in response.content.decode()
    response = client.post(reverse("admin:reports_distributionrate_add"), _rate())
    assert response.status_code == 302
    rate = DistributionRate.objects.get(valid_from=dt.date(2023, 1, 1))
    assert rate.history.get().history_user == superuser  # who changed what
    assert client.get(reverse("admin:reports_distributionrate_history", args=[rate.pk])).status_code == 200
    assert rate.variable_rate == Decimal("229.30")


def test_it_shows_settlement_results_read_only(client, superuser, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster)
    line = SettlementLineFactory(run=run)
    client.force_login(superuser)
    for name in ["settlementrun", "settlementline", "statement", "statementdownload", "clusterreport", "meterday", "readingimport"]:
        assert client.get(reverse(f"admin:reports_{name}_changelist")).status_code == 200, name
        assert client.get(reverse(f"admin:reports_{name}_add")).status_code == 403, name
    page = client.get(reverse("admin:reports_settlementrun_change", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and line.member_name in html and "52442.81" in html
    assert 'name="_save"' not in html
    response = client.post(reverse("admin:reports_settlementrun_change", args=[run.pk]), {"version": "7"})
    assert response.status_code == 403
    assert client.post(reverse("admin:reports_settlementrun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    assert SettlementRun.objects.get(pk=run.pk).version == 1


def test_it_lets_a_superuser_delete_only_a_failed_run(client, superuser, cluster) -> None:
    failed = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(superuser)
    response = client.post(reverse("admin:reports_settlementrun_delete", args=[failed.pk]), {"post": "yes"})
    assert response.status_code == 302 and not SettlementRun.objects.filter(pk=failed.pk).exists()
    changelist = client.get(reverse("admin:reports_settlementrun_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_the_admin_is_closed_to_staff_even_with_every_permission(client, cluster, coordinator) -> None:
    """Coordinators work in the cluster-scoped pages; the admin is not scoped, so it is superusers only."""
    from django.contrib.auth.models import Permission

    coordinator.is_staff = True
    coordinator.save()
    coordinator.user_permissions.set(Permission.objects.all())
    client.force_login(coordinator)
    for url in ("/admin/", "/admin/reports/allocationkey/", "/admin/members/member/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_the_admin_opens_for_a_superuser(client, superuser) -> None:
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
