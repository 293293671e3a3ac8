"""The member's day chart in a real browser at 1280 and 390 px: three series, the table, no sideways scrolling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import login
from tests.reports.test_portal_day_shared import DAY, _settle_one_day, day_data  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set OKE_SHOTS to a folder to keep screenshots of the page.
SHOTS = os.environ.get("OKE_SHOTS")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_day_chart_draws_shared_energy_and_fits_the_screen(
    page, live_server, cluster, alice, day_data, django_capture_on_commit_callbacks, width  # noqa: F811
) -> None:
    run = _settle_one_day(cluster, django_capture_on_commit_callbacks)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/portal/data/?day={DAY.isoformat()}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('portal-day-chart'))")
    labels = page.evaluate(
        "() => Chart.getChart(document.getElementById('portal-day-chart')).data.datasets.map(d => d.label)"
    )
    assert labels == ["Energia pobrana", "Energia oddana do sieci", "Energia współdzielona"]
    shared = page.evaluate("() => Chart.getChart(document.getElementById('portal-day-chart')).data.datasets[2].data")
    assert round(sum(shared) * 1000) == run.lines.get(member=alice.member).shared_wh
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.click("#portal-day-table-details summary")
    assert page.locator("#portal-day-table tbody tr").count() == 24
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # The table's four columns fit its box: no scrolling sideways inside it either.
    assert page.evaluate("() => { const box = document.querySelector('#portal-day-table').parentElement;"
                         " return box.scrollWidth <= box.clientWidth; }")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.locator("#portal-day-table-details").evaluate("d => d.open = false")
        page.screenshot(path=str(Path(SHOTS) / f"portal-day-chart-{width}.png"), full_page=True)
        page.locator("#portal-day-table-details").evaluate("d => d.open = true")
        page.screenshot(path=str(Path(SHOTS) / f"portal-day-chart-table-{width}.png"), full_page=True)
