"""Chromium end to end: the coordinator publishes statements, a member downloads its PDF."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.utils import timezone
from pypdf import PdfReader

from members.models import Consent, ConsentText
from reports.models import Statement
from reports.statements.services import statements_generate
from tests.browser import login
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, snapshot_from_tariff_rows

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def rendered_run(transactional_db, cluster, coordinator, alice, bob):
    run = SettlementRunFactory(
        cluster=cluster, period_kind="month", period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
        snapshot=snapshot_from_tariff_rows(),
    )
    SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak — Zażółć Gęślą Jaźń")
    SettlementLineFactory(run=run, member=bob.member, member_name="Bob Kowalski sp. z o.o.")
    statements_generate(run=run)  # outside a transaction: the task runs at once (eager)
    assert set(run.statements.values_list("status", flat=True)) == {Statement.Status.READY}
    return run


def test_it_publishes_and_lets_the_member_download_its_pdf(live_server, browser, page, rendered_run, alice) -> None:
    login(page, live_server, "koordynator")
    page.goto(f"{live_server.url}/c/oke/settlements/{rendered_run.pk}/statements/")
    assert page.locator("#statement-table").get_by_text("Alicja Nowak — Zażółć Gęślą Jaźń").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-publish")
    page.wait_for_selector("text=Opublikowano 2 zestawienia")
    assert set(rendered_run.statements.values_list("status", flat=True)) == {Statement.Status.PUBLISHED}

    notice = ConsentText.objects.create(
        kind="privacy", version="2.0", title="Informacja o przetwarzaniu danych osobowych",
        text="Zmieniliśmy informację o przetwarzaniu danych.", valid_from=timezone.now() - dt.timedelta(minutes=1),
    )
    member = browser.new_context(locale="pl-PL", accept_downloads=True)
    try:
        tab = member.new_page()
        login(tab, live_server, "alice")
        # A privacy notice newer than the one Alice confirmed: the portal asks first.
        assert "/portal/consents/" in tab.url
        assert tab.get_by_text("Zmieniliśmy informację o przetwarzaniu danych.").is_visible()
        tab.click("#btn-consent")  # nothing ticked: the browser refuses the form, nothing is recorded
        assert "/portal/consents/" in tab.url and not Consent.objects.filter(text=notice).exists()
        tab.check("#consent-privacy")
        tab.click("#btn-consent")
        tab.wait_for_url("**/portal/")
        assert Consent.objects.get(text=notice).accepted_by == alice
        assert tab.get_by_text("Bob Kowalski").count() == 0
        with tab.expect_download() as info:
            tab.click("#portal-statements >> text=Pobierz PDF")
        download = info.value
        number = Statement.objects.get(run=rendered_run, member=alice.member).number.replace("/", "-")
        assert download.suggested_filename == f"zestawienie-{number}-alicja-nowak-zazolc-gesla-jazn.pdf"
        content = open(download.path(), "rb").read()
    finally:
        member.close()
    assert content.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).replace("\u00a0", " ")
    assert "Alicja Nowak — Zażółć Gęślą Jaźń" in text and "Bob Kowalski" not in text
    assert Statement.objects.get(run=rendered_run, member=alice.member).downloads.filter(user=alice).count() == 1
