"""'nieaktualne' on the run page, the settlement list and the statements list; one click recomputes."""

from __future__ import annotations

from reports.models import RunOutdatedReason, SettlementRun
from tests.reports.factories import march_run


def _outdated(cluster):
    run = march_run(cluster)
    RunOutdatedReason.objects.create(run=run, code="transfer", detail="PPE 590… przeniesiony do Beta od 15.03.2026")
    return run


def test_the_run_page_lists_the_reasons_and_offers_a_recompute(client, coordinator, cluster, django_capture_on_commit_callbacks) -> None:
    run = _outdated(cluster)
    client.force_login(coordinator)
    page = client.get(f"/c/{cluster.slug}/settlements/{run.pk}/").content.decode()
    assert 'id="run-outdated"' in page and "przeniesienie PPE: PPE 590… przeniesiony do Beta od 15.03.2026" in page
    assert "Przelicz ponownie" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/c/{cluster.slug}/settlements/{run.pk}/rerun/")
    assert response.status_code == 302
    assert SettlementRun.objects.filter(cluster=cluster, period_start=run.period_start, version=2).exists()


def test_lists_show_the_badge(client, coordinator, cluster) -> None:
    run = _outdated(cluster)
    fresh = march_run(cluster, version=2)
    client.force_login(coordinator)
    listing = client.get(f"/c/{cluster.slug}/settlements/").content.decode()
    assert listing.count('data-outdated="1"') == 1
    statements = client.get(f"/c/{cluster.slug}/settlements/{run.pk}/statements/").content.decode()
    assert 'data-outdated="1"' in statements
    page = client.get(f"/c/{cluster.slug}/settlements/{fresh.pk}/").content.decode()
    assert 'id="run-outdated"' not in page


def test_an_old_version_offers_no_recompute(client, coordinator, cluster) -> None:
    run = _outdated(cluster)
    march_run(cluster, version=2)
    client.force_login(coordinator)
    page = client.get(f"/c/{cluster.slug}/settlements/{run.pk}/").content.decode()
    assert 'id="run-outdated"' in page and "Przelicz ponownie" not in page


def test_the_dashboard_lists_outdated_current_versions(client, coordinator, cluster) -> None:
    run = _outdated(cluster)
    client.force_login(coordinator)
    page = client.get(f"/c/{cluster.slug}/").content.decode()
    assert 'id="dashboard-outdated"' in page and f"/settlements/{run.pk}/" in page and "przeniesienie PPE" in page
    march_run(cluster, version=2)  # recomputed: nothing outdated any more
    assert 'id="dashboard-outdated"' not in client.get(f"/c/{cluster.slug}/").content.decode()
