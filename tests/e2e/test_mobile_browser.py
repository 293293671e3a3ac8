"""Chromium at 390 px (a phone): no page scrolls sideways, wide tables become one card per row
with each value under its column's name, and the member sees the amount and "Pobierz PDF" of
each statement without scrolling sideways."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from reports.models import StatementDownload
from tests.e2e.test_a11y_browser import DESKTOP, PHONE, Site, build_site, open_as, pages_of, visit

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]

ANONYMOUS = (("logowanie", "/accounts/login/"), ("reset hasła", "/accounts/password_reset/"))


@pytest.fixture
def site(transactional_db, cluster, coordinator, alice) -> Site:
    return build_site(cluster=cluster, coordinator=coordinator, alice=alice)


def overflow(tab: Any) -> str | None:
    """None when the page fits its window; else the widths and the elements sticking out on the right."""
    sizes = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if sizes[0] <= sizes[1]:
        return None
    wide = tab.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'))"""
    )
    return f"scrollWidth {sizes[0]} > innerWidth {sizes[1]}: {wide}"


def fits(tab: Any, locator: Any) -> bool:
    """The element is shown and lies wholly inside the window's width (no sideways scrolling to see it)."""
    box = locator.bounding_box()
    width = tab.evaluate("window.innerWidth")
    return bool(locator.is_visible() and box and box["x"] >= 0 and box["x"] + box["width"] <= width)


@pytest.mark.parametrize("who", ["staff", "member"])
def test_no_page_scrolls_sideways_at_390_px(live_server, browser, site, who) -> None:
    tab = open_as(browser, live_server, who, PHONE)
    try:
        problems = []
        for name, path in pages_of(site, who):
            visit(tab, f"{live_server.url}{path}")
            tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # folded parts too
            found = overflow(tab)
            if found:
                problems.append(f"{name} ({path}): {found}")
            # A table box may scroll on its own, but none of the main pages' tables needs to on a phone.
            clipped = tab.evaluate(
                """() => [...document.querySelectorAll('.table-responsive')]
                  .filter(e => e.checkVisibility() && e.scrollWidth > e.clientWidth + 1)
                  .map(e => (e.querySelector('table') || {}).id || e.closest('[id]')?.id || '?')"""
            )
            if clipped:
                problems.append(f"{name} ({path}): tables wider than the screen: {clipped}")
    finally:
        tab.context.close()
    assert not problems, "\n".join(problems)


def test_sign_in_pages_fit_390_px(live_server, browser) -> None:
    tab = open_as(browser, live_server, "anonymous", PHONE)
    try:
        problems = []
        for name, path in ANONYMOUS:
            visit(tab, f"{live_server.url}{path}")
            if found := overflow(tab):
                problems.append(f"{name}: {found}")
    finally:
        tab.context.close()
    assert not problems, "\n".join(problems)


def test_member_sees_amount_and_downloads_the_pdf_at_390_px(live_server, browser, site, alice) -> None:
    tab = open_as(browser, live_server, "member", PHONE)
    try:
        visit(tab, f"{live_server.url}/portal/")
        assert overflow(tab) is None
        row = tab.locator("#portal-statements tbody tr").filter(has_text=site.statement_number)
        assert row.count() == 1
        amount = row.locator("td[data-label='Korzyść (netto)']")
        assert re.fullmatch(r"[\d\u00a0\u202f ]+,\d\d[\u00a0 ]zł", amount.inner_text().strip()), amount.inner_text()
        download = row.get_by_role("link", name="Pobierz PDF")
        for part in (amount, download, row.locator("td").first):
            assert fits(tab, part), f"{part} is off-screen at 390 px: {part.bounding_box()}"
        # One card per statement: the period on top, then the values under their column names.
        assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
        assert amount.evaluate("td => getComputedStyle(td, '::before').content") == '"Korzyść (netto)"'
        with tab.expect_download() as info:
            download.click()
        assert info.value.suggested_filename.endswith(".pdf")
        assert StatementDownload.objects.filter(user=alice).count() == 1

        # On a desktop the same list is an ordinary table with a header row.
        tab.set_viewport_size(DESKTOP)
        assert row.evaluate("tr => getComputedStyle(tr).display") == "table-row"
        assert tab.locator("#portal-statements thead th").first.is_visible()
    finally:
        tab.context.close()


def test_dashboard_and_settlement_result_at_390_px(live_server, browser, site) -> None:
    tab = open_as(browser, live_server, "staff", PHONE)
    try:
        visit(tab, f"{live_server.url}/c/oke/")
        assert overflow(tab) is None
        # Every statutory condition keeps its verdict on screen (the last column used to fall off).
        verdicts = tab.locator("table.conditions tbody td:last-child .badge")
        assert verdicts.count() >= 3
        for i in range(verdicts.count()):
            assert fits(tab, verdicts.nth(i)), f"verdict {i} is off-screen"
        # The menu opens from the phone menu button and leads on.
        menu_link = tab.locator("#mainnav").get_by_role("link", name="Rozliczenia", exact=True)
        assert not menu_link.is_visible()
        tab.locator(".navbar-toggler").click()
        menu_link.click()
        tab.wait_for_url(re.compile(r"/settlements/$"))

        # The result's member table: each member a card, every amount labelled and on screen.
        visit(tab, f"{live_server.url}{site.result}")
        assert overflow(tab) is None
        headers = [h.strip() for h in tab.locator("#member-table thead th").all_inner_texts()]
        first = tab.locator("#member-table tbody tr").first
        cells = first.locator("td")
        labels = [cells.nth(i).get_attribute("data-label") for i in range(cells.count())]
        assert labels == headers
        assert fits(tab, first.locator("td").last) and first.locator("td").last.inner_text().endswith("zł")

        # The version difference keeps "was" and "is" side by side on screen.
        visit(tab, f"{live_server.url}{site.diff}")
        assert overflow(tab) is None
        changed = tab.locator("#diff-results tbody tr").filter(has_text="zł").first
        for cell in (changed.locator("td.num").first, changed.locator("td.num").last):
            assert fits(tab, cell), cell.inner_text()
    finally:
        tab.context.close()
