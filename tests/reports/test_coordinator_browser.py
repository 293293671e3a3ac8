"""Coordinator pages in a real browser: the provisional confirmation follows the chosen period; archive asks first."""

from __future__ import annotations

import pytest
from django.utils import timezone

from reports.models import SettlementRun
from tests.browser import login
from tests.reports.factories import SettlementRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_confirmation_shows_for_an_unfinished_period_and_archive_asks_first(page, live_server, transactional_db, coordinator, cluster):
    failed = SettlementRunFactory(cluster=cluster, failed=True)
    login(page, live_server, "koordynator")
    base = f"{live_server.url}/c/{cluster.slug}"
    today = timezone.localdate()

    page.goto(f"{base}/settlements/")
    page.select_option("#id_period_kind", "month")
    page.select_option("#id_year", "2025")
    page.select_option("#id_month", "3")
    assert not page.is_visible("#id_confirm_provisional")
    page.select_option("#id_year", str(today.year))
    page.select_option("#id_month", str(today.month))
    assert page.is_visible("#id_confirm_provisional")

    page.goto(f"{base}/settlements/{failed.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#run-archive button")
    assert SettlementRun.objects.get(pk=failed.pk).archived_at is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#run-archive button")
    page.wait_for_url(f"{base}/settlements/")
    assert SettlementRun.objects.get(pk=failed.pk).archived_at is not None
    assert page.is_visible("#toggle-archived")
    assert "Wszystkie rozliczenia są zarchiwizowane" in page.inner_text("main")
