"""A coordinator transfers a PPE in a real browser: confirmation with the outdated settlement, then undo from the history."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from members.models import RegistryAction
from tests.browser import login
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_transfers_with_confirmation_and_undoes_from_the_history(page, live_server, transactional_db, coordinator, cluster):
    alfa = MemberFactory(cluster=cluster, name="Alfa", joined_on=dt.date(2024, 1, 1))
    beta = MemberFactory(cluster=cluster, name="Beta", joined_on=dt.date(2024, 1, 1))
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=alfa, valid_from=dt.date(2024, 1, 1))
    SettlementRunFactory(cluster=cluster, period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
    login(page, live_server, "koordynator")
    base = f"{live_server.url}/c/{cluster.slug}"

    page.goto(f"{base}/ppe/{ppe.pk}/")
    assert page.input_value("#id_on") == ""  # no date offered
    page.select_option("#id_to_member", str(beta.pk))
    page.fill("#id_on", "2025-07-01")
    page.click("form[action$='/transfer/'] button[type=submit]")

    # The confirmation page: what changes and the settlement that becomes outdated; nothing saved yet.
    page.wait_for_url(re.compile(r"/ppe/\d+/transfer/$"))
    changes = page.inner_text("#changes")
    assert "01.01.2024 – 30.06.2025" in changes and "01.07.2025 – …" in changes
    assert "01.01.2025 – 31.12.2025" in page.inner_text("#runs")
    assert ppe.memberships.count() == 1
    page.click("text=Potwierdzam")
    page.wait_for_url(re.compile(r"/ppe/\d+/$"))
    assert "Beta" in page.inner_text("h1 + div")
    assert ppe.memberships.count() == 2

    # Undo from the PPE's history, again with a confirmation.
    page.click("a:has-text('Historia')")
    page.wait_for_url(re.compile(r"/ppe/\d+/history/$"))
    assert "Cofnij" in page.inner_text("#actions")
    page.click("#actions button:has-text('Cofnij')")
    page.wait_for_url(re.compile(r"/actions/\d+/undo/$"))
    assert "Potwierdź cofnięcie" in page.inner_text("main")
    page.click("text=Potwierdzam")
    page.wait_for_url(re.compile(r"/ppe/\d+/history/$"))
    assert "cofnięta" in page.inner_text("#actions")
    assert [(m.member_id, m.valid_to) for m in ppe.memberships.all()] == [(alfa.pk, None)]
    assert RegistryAction.objects.filter(reversal_of__isnull=False).count() == 1
