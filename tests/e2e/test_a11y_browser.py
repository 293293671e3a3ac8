"""Chromium + axe-core: the coordinator's and the member's main pages have no serious or critical
accessibility violations (colour contrast included) at desktop and phone width; every page
starts with a skip link to its main content; the navbar's active item and menu icon are legible;
the portal has a favicon.

axe-core is the pinned copy in tests/e2e/vendor/axe-core/ (see its README). It is evaluated
through the DevTools protocol (``page.evaluate``), so the pages' Content-Security-Policy stays
on while it runs: an injected ``<script>`` would be refused by the policy or need it switched off.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest

from members.models import Source
from reports.engine import hours_for_days
from reports.models import DistributionRate, JobStatus, Statement
from reports.settlement import settlement_request
from reports.settlement.tariffs import tariff_row_new_value
from reports.statements.services import statements_generate, statements_publish
from tests.browser import login
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)
from tests.reports.test_settlement_service import store

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]

AXE_VERSION = "4.14.1"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 31)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Site:
    """The URLs of one settled, published cluster: the pages the tests visit."""

    staff: tuple[tuple[str, str], ...]
    member: tuple[tuple[str, str], ...]
    result: str
    diff: str
    statement_number: str


@pytest.fixture
def site(transactional_db, cluster, coordinator, alice) -> Site:
    return build_site(cluster=cluster, coordinator=coordinator, alice=alice)


def build_site(*, cluster: Any, coordinator: Any, alice: Any) -> Site:
    """January 2025 settled twice (a distribution rate changed from the 16th: version 2 shows the
    difference and its cause), version 2's statements published; Alice's member draws energy."""
    hours = hours_for_days(start=START, end=END)
    n = len(hours)
    hour_of_day = np.arange(n) % 24
    drawn = np.full(n, 6_000_000, dtype=np.int64)
    fed = np.where((hour_of_day >= 8) & (hour_of_day < 16), 14_000_000, 0).astype(np.int64)
    zero = np.zeros(n, dtype=np.int64)
    gmina = MemberFactory(cluster=cluster, ref="gmina", name="Gmina Ornontowice", legal_form="jst")
    firma = MemberFactory(cluster=cluster, ref="zielone", name="Spółdzielnia Socjalna Zielone Śląskie")
    pv = MemberFactory(cluster=cluster, ref="pv", name="Klastry Energii sp. z o.o.")
    ppes = {}
    # Declared yearly demand and a storage unit: the cluster meets the statutory conditions, so its statements publish.
    for member, imp, exp, demand_kwh in (
        (gmina, drawn, zero, 20_000_000),
        (firma, drawn // 2, zero, 10_000_000),
        (alice.member, drawn // 3, zero, 5_000_000),
        (pv, zero, fed, 0),
    ):
        ppe = MeteringPointFactory(cluster=cluster, annual_demand_kwh=demand_kwh)
        PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2024, 7, 1))
        store(ppe, hours, imp, exp)
        ppes[member.ref] = ppe
    GeneratorFactory(ppe=ppes["pv"], capacity_kw=Decimal("20000"), source=Source.PV)
    StorageUnitFactory(ppe=ppes["pv"], power_kw=Decimal("500"), capacity_kwh=Decimal("1000"))

    first = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="month")
    first.refresh_from_db()
    assert first.status == JobStatus.DONE, first.error
    rate = DistributionRate.objects.filter(valid_from__lte=START, valid_to__isnull=True).first()
    tariff_row_new_value(row=rate, valid_from=dt.date(2025, 1, 16), values={"variable_rate": rate.variable_rate + 40, "quality_rate": rate.quality_rate})
    second = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="month")
    second.refresh_from_db()
    assert second.status == JobStatus.DONE and second.version == 2, second.error
    statements_generate(run=second, user=coordinator)
    statements_publish(run=second, user=coordinator)
    statement = Statement.objects.get(run=second, member=alice.member)
    assert statement.status == Statement.Status.PUBLISHED
    line = second.lines.get(member=alice.member)

    c = f"/c/{cluster.slug}"
    return Site(
        staff=(
            ("pulpit", f"{c}/"),
            ("członkowie", f"{c}/members/"),
            ("członek", f"{c}/members/{alice.member.pk}/"),
            ("nowy członek", f"{c}/members/new/"),
            ("PPE", f"{c}/ppe/"),
            ("PPE szczegóły", f"{c}/ppe/{ppes['alice'].pk}/"),
            ("dane pomiarowe", f"{c}/readings/"),
            ("kompletność", f"{c}/readings/completeness/?month=2025-01"),
            ("rozliczenia", f"{c}/settlements/"),
            ("wynik rozliczenia", f"{c}/settlements/{first.pk}/"),
            ("zmiany wersji", f"{c}/settlements/{second.pk}/"),
            ("rozliczenie członka", f"{c}/settlements/{second.pk}/members/{line.pk}/"),
            ("zestawienia", f"{c}/settlements/{second.pk}/statements/"),
            ("zgody", f"{c}/consents/"),
            ("klucze podziału", f"{c}/settlements/allocation-keys/"),
            ("import rejestru", f"{c}/registry/import/"),
            ("stawki", "/rates/"),
        ),
        member=(
            ("portal", "/portal/"),
            ("wykres dnia", "/portal/data/"),
            ("konto", "/portal/account/"),
            ("hasło", "/portal/account/password/"),
            ("pomoc", "/portal/help/"),
        ),
        result=f"{c}/settlements/{first.pk}/",
        diff=f"{c}/settlements/{second.pk}/",
        statement_number=statement.number,
    )


def open_as(browser: Any, live_server: Any, who: str, viewport: dict[str, int]) -> Any:
    """A fresh tab at the given size, signed in as the coordinator, Alice, or nobody."""
    context = browser.new_context(locale="pl-PL", timezone_id="Europe/Warsaw", viewport=viewport, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    if who == "staff":
        login(tab, live_server, "koordynator")
    elif who == "member":
        login(tab, live_server, "alice")
    return tab


def pages_of(site: Site, who: str) -> tuple[tuple[str, str], ...]:
    return {"staff": site.staff, "member": site.member}[who]


def visit(tab: Any, url: str) -> None:
    response = tab.goto(url)
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
    tab.wait_for_load_state("networkidle")


def axe_violations(tab: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (all rules axe runs by default)."""
    if not tab.evaluate("typeof window.axe !== 'undefined'"):
        tab.evaluate(AXE.read_text(encoding="utf-8"))
    assert tab.evaluate("axe.version") == AXE_VERSION
    return tab.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ["violations"]});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n").slice(1, 2).join(""))
          }));
        }"""
    )


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{where}: {v['id']} ({v['impact']}) {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)


ANONYMOUS = (("logowanie", "/accounts/login/"), ("reset hasła", "/accounts/password_reset/"))


def skip_link_problems(tab: Any, name: str) -> list[str]:
    """The first element in the Tab order is "Przejdź do treści" → #main; focused, it shows; Enter moves focus to <main>."""
    first = tab.evaluate(
        """() => {
          const focusable = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')]
            .filter(e => !e.disabled && e.tabIndex >= 0);
          const el = focusable.find(e => e.tabIndex > 0) || focusable[0];
          return el ? {text: el.textContent.trim(), href: el.getAttribute("href")} : null;
        }"""
    )
    if first != {"text": "Przejdź do treści", "href": "#main"}:
        return [f"{name}: the first element in the Tab order is {first}, not the skip link"]
    link = tab.locator("a[href='#main']").first
    link.focus()
    box = link.bounding_box()
    if not box or box["width"] < 20 or box["height"] < 10 or box["y"] < 0:
        return [f"{name}: the focused skip link is not shown ({box})"]
    tab.keyboard.press("Enter")
    if tab.evaluate("document.activeElement.id") != "main" or tab.evaluate("document.querySelectorAll('main#main').length") != 1:
        return [f"{name}: the skip link does not move focus to the main content"]
    return []


def check_pages(browser: Any, live_server: Any, who: str, pages: tuple[tuple[str, str], ...]) -> list[str]:
    """axe at 1280 px and at 390 px, and the skip link at 390 px, on each page; the problems found."""
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        tab = open_as(browser, live_server, who, viewport)
        try:
            for name, path in pages:
                visit(tab, f"{live_server.url}{path}")
                violations = blocking(axe_violations(tab))
                if violations:
                    problems.append(describe(f"{name} ({path}) at {viewport['width']} px", violations))
                if viewport is PHONE:
                    problems += skip_link_problems(tab, f"{name} ({path})")
        finally:
            tab.context.close()
    return problems


@pytest.mark.parametrize("who", ["staff", "member"])
def test_main_pages_pass_axe_and_start_with_a_skip_link(live_server, browser, site, who) -> None:
    problems = check_pages(browser, live_server, who, pages_of(site, who))
    assert not problems, "\n".join(problems)


def test_sign_in_pages_pass_axe_and_start_with_a_skip_link(live_server, browser) -> None:
    problems = check_pages(browser, live_server, "anonymous", ANONYMOUS)
    assert not problems, "\n".join(problems)


def test_axe_reports_what_the_portal_must_not_have(live_server, browser) -> None:
    """The check itself works: on a page with pale text, an unnamed button and no skip link it reports all three."""
    tab = open_as(browser, live_server, "anonymous", DESKTOP)
    try:
        visit(tab, f"{live_server.url}/accounts/login/")
        tab.evaluate(
            """() => {
              const p = document.createElement("p"); p.textContent = "Blady tekst"; p.style.color = "#d1e7dd";
              const b = document.createElement("button"); b.className = "btn";
              document.querySelector("main").append(p, b);
              document.querySelector("a[href='#main']").remove();
            }"""
        )
        ids = {v["id"] for v in blocking(axe_violations(tab))}
        skip = skip_link_problems(tab, "logowanie")
    finally:
        tab.context.close()
    assert {"color-contrast", "button-name"} <= ids
    assert skip and "not the skip link" in skip[0], skip


def _rgb(css: str) -> tuple[int, int, int]:
    if css.startswith("#"):
        return tuple(int(css[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])  # type: ignore[return-value]


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def luminance(rgb: tuple[int, int, int]) -> float:
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_navbar_active_item_and_menu_icon_are_legible(live_server, browser, coordinator, cluster) -> None:
    """The active item was white on the pale green bar (1.3 : 1) and the phone menu icon 1.16 : 1."""
    tab = open_as(browser, live_server, "staff", DESKTOP)
    try:
        visit(tab, f"{live_server.url}/c/{cluster.slug}/settlements/")
        bar = _rgb(tab.eval_on_selector("nav.navbar", "el => getComputedStyle(el).backgroundColor"))
        active = tab.locator("nav.navbar .nav-link.active")
        assert active.inner_text() == "Rozliczenia"
        assert contrast(_rgb(active.evaluate("el => getComputedStyle(el).color")), bar) >= 4.5
        tab.set_viewport_size(PHONE)
        toggler = tab.locator("nav.navbar .navbar-toggler")
        assert toggler.is_visible()
        icon = unquote(tab.eval_on_selector("nav.navbar .navbar-toggler-icon", "el => getComputedStyle(el).backgroundImage"))
        strokes = re.findall(r"stroke=['\"](#[0-9a-fA-F]{6}|rgba?\([^)]*\))", icon)
        assert strokes, f"no stroke colour in the menu icon: {icon[:200]}"
        assert all(contrast(_rgb(s), bar) >= 4.5 for s in strokes), (strokes, bar)
        assert contrast(_rgb(toggler.evaluate("el => getComputedStyle(el).borderTopColor")), bar) >= 4.5
        toggler.click()
        tab.get_by_role("link", name="Członkowie").click()
        tab.wait_for_url(re.compile(r"/members/$"))
    finally:
        tab.context.close()


def test_favicon_is_linked_and_served(live_server, browser) -> None:
    tab = open_as(browser, live_server, "anonymous", DESKTOP)
    try:
        visit(tab, f"{live_server.url}/accounts/login/")
        href = tab.eval_on_selector("link[rel=icon]", "el => el.href")
        icon = tab.request.get(href)
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in icon.body()
        legacy = tab.request.get(f"{live_server.url}/favicon.ico")  # browsers ask for it on their own
        assert legacy.status == 200 and legacy.url == href and legacy.body() == icon.body()
    finally:
        tab.context.close()
