"""The version difference on the run page: readable labels and units, zero rows collapsed, causes first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports.models import RunOutdatedReason
from reports.settlement.results import run_diff_causes
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, seed_snapshot, seed_totals

pytestmark = pytest.mark.django_db
MWH = 1_000_000


def _member(ref: str, name: str) -> dict:
    return {"ref": ref, "name": name, "legal_form": "person", "address": "", "nip": "", "regon": "", "krs": "",
            "joined_on": "2024-01-01", "left_on": None}


def _ppe(code: str) -> dict:
    return {"code": code, "dso": "TAURON Dystrybucja", "tariff_group": "C11", "voltage_level": "nn", "renewable_share": 0.0}


def _pair(cluster):
    old_snapshot = seed_snapshot() | {
        "members": [_member("a", "Ala"), _member("b", "Bolek")],
        "ppes": [_ppe("PPE-1"), _ppe("PPE-2")],
        "memberships": [{"ppe": "PPE-1", "member": "a", "valid_from": "2024-01-01", "valid_to": None},
                        {"ppe": "PPE-2", "member": "b", "valid_from": "2024-01-01", "valid_to": None}],
    }
    new_snapshot = seed_snapshot() | {
        "members": [_member("a", "Ala"), _member("c", "Celina")],
        "ppes": [_ppe("PPE-1"), _ppe("PPE-3")],
        "memberships": [{"ppe": "PPE-1", "member": "a", "valid_from": "2024-01-01", "valid_to": "2025-06-30"},
                        {"ppe": "PPE-3", "member": "c", "valid_from": "2024-01-01", "valid_to": None}],
    }
    new_snapshot["rates"] = [dict(new_snapshot["rates"][0], variable_rate="251.1000")]
    old_totals = seed_totals() | {"completeness_pct": "97.50", "missing_hours": 25200, "override_completeness": True}
    new_totals = seed_totals() | {"drawn_wh": 2100 * MWH, "total": "53000.00", "completeness_pct": "100.00",
                                  "missing_hours": 0, "override_completeness": False}
    old = SettlementRunFactory(cluster=cluster, snapshot=old_snapshot, totals=old_totals, override_completeness=True)
    RunOutdatedReason.objects.create(run=old, code="meter_data", detail="PPE-1: nowe odczyty 03.2025")
    diff = {
        "previous_version": 1,
        "totals": {key: [old_totals.get(key), value] for key, value in new_totals.items() if old_totals.get(key) != value},
        "members": [
            {"ref": "a", "field": "total", "old": "100.00", "new": "150.00"},
            {"ref": "a", "field": "drawn_wh", "old": 800 * MWH, "new": 900 * MWH},
            {"ref": "c", "field": "fed_in_wh", "old": None, "new": 0},  # a zero row: nothing → 0
        ],
    }
    new = SettlementRunFactory(cluster=cluster, version=2, snapshot=new_snapshot, totals=new_totals, diff=diff)
    for ref, name in (("a", "Ala"), ("c", "Celina"), ("d", "Dorota"), ("e", "Edward")):
        SettlementLineFactory(run=new, member__ref=ref, member__name=name)
    return old, new


def test_the_causes_name_rates_meter_data_membership_settings_and_outdated_reasons(cluster) -> None:
    old, new = _pair(cluster)
    causes = run_diff_causes(run=new, previous=old)
    assert causes["rates"] == [{"dso": None, "tariff_group": "", "field": "variable_rate", "old": ["229.3000"], "new": ["251.1000"]}]
    assert {m["key"] for m in causes["meter"]} == {"drawn_wh", "missing_hours"}
    assert causes["members_added"] == ["Celina"] and causes["members_removed"] == ["Bolek"]
    assert causes["ppes_added"] == ["PPE-3"] and causes["ppes_removed"] == ["PPE-2"] and causes["ppes_moved"] == ["PPE-1"]
    assert causes["settings"] == [{"key": "override_completeness", "old": True, "new": False}]
    assert [r.detail for r in causes["outdated"]] == ["PPE-1: nowe odczyty 03.2025"]
    assert causes["fees"] == [] and causes["tiers"] == [] and causes["rule"] == []


def test_identical_inputs_have_no_causes(cluster) -> None:
    old = SettlementRunFactory(cluster=cluster)
    new = SettlementRunFactory(cluster=cluster, version=2)
    causes = run_diff_causes(run=new, previous=old)
    assert not any(causes.values())


def test_the_run_page_shows_a_readable_difference_with_the_causes_first(client, coordinator, cluster) -> None:
    _old, new = _pair(cluster)
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, new.id])).content.decode()
    section = html[html.index('id="diff"'):html.index('id="rates-used"')]
    for internal in ("completeness_pct", "missing_hours", "override_completeness", "drawn_wh", "variable_rate"):
        assert internal not in section
    assert section.index('id="diff-causes"') < section.index('id="diff-results"')
    causes = section[section.index('id="diff-causes"'):section.index('id="diff-results"')]
    assert "stawka zmienna sieciowa" in causes and "229,30\u00a0zł/MWh" in causes and "251,10\u00a0zł/MWh" in causes
    assert "2\u00a0000,000\u00a0MWh" in causes and "2\u00a0100,000\u00a0MWh" in causes  # meter data
    assert "25\u00a0200\u00a0h" in causes  # hours as hours, not money
    assert "Celina" in causes and "Bolek" in causes and "PPE-3" in causes and "PPE-2" in causes
    assert "PPE-1: nowe odczyty 03.2025" in causes
    results = section[section.index('id="diff-results"'):]
    assert "kompletność danych pomiarowych" in results and "97,50\u00a0%" in results and "100,00\u00a0%" in results
    assert "rozliczono mimo braków danych" in results and ">tak<" in results and ">nie<" in results
    assert "150,00\u00a0zł" in results and "900,000\u00a0MWh" in results and ">Ala<" in results
    assert "Celina" not in results  # her only change was nothing → 0
    assert "3 członków bez zmian" in section


def test_a_first_version_shows_no_difference(client, coordinator, cluster) -> None:
    run = SettlementRunFactory(cluster=cluster)
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).content.decode()
    assert 'id="diff"' not in html
