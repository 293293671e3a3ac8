"""A coordinator registers a member, its PPE and installations in a real browser."""

from __future__ import annotations

import re

import pytest

from members.models import Generator, Member, MeteringPoint, StorageUnit
from tests.browser import login
from tests.factories import ppe_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_registers_a_member_with_a_ppe_and_refuses_a_ppe_outside_the_area(page, live_server, transactional_db, coordinator, cluster):
    login(page, live_server, "koordynator")
    base = f"{live_server.url}/c/{cluster.slug}"

    # The member with a PPE in Orzesze, through the one-page form.
    page.goto(f"{base}/members/new/")
    page.fill("#id_name", "Spółdzielnia Socjalna Zielone Śląskie")
    page.fill("#id_ref", "zielone")
    page.select_option("#id_legal_form", "cooperative")
    page.fill("#id_nip", "521-301-72-28")
    page.fill("#id_regon", "123456785")
    page.fill("#id_city", "Orzesze")
    page.fill("#id_joined_on", "2025-01-01")
    orzesze_ppe = ppe_code(301)
    page.fill("#id_ppe-0-code", orzesze_ppe)
    page.fill("#id_ppe-0-gmina", "Orzesze (mikołowski)")
    page.fill("#id_ppe-0-tariff_group", "C11")
    page.fill("#id_ppe-0-contracted_kw", "40")
    page.fill("#id_ppe-0-annual_demand_kwh", "52000")
    page.click("button[name=add_installations]")

    # Straight on to the PPE's installations: a PV generator and a storage unit.
    page.wait_for_url(re.compile(r"/ppe/\d+/installations/$"))
    assert orzesze_ppe in page.inner_text("h1")
    page.fill("#id_gen-0-name", "PV na dachu")
    page.select_option("#id_gen-0-source", "pv")
    page.fill("#id_gen-0-capacity_kw", "49.5")
    page.fill("#id_sto-0-name", "Magazyn 1")
    page.fill("#id_sto-0-power_kw", "20")
    page.fill("#id_sto-0-capacity_kwh", "40")
    page.click("button[name=save]")
    page.wait_for_url(re.compile(r"/ppe/\d+/$"))
    assert "PV na dachu" in page.inner_text("main") and "Magazyn 1" in page.inner_text("main")

    member = Member.objects.get(cluster=cluster, ref="zielone")
    assert member.nip == "5213017228"
    ppe = MeteringPoint.objects.get(cluster=cluster, code=orzesze_ppe)
    assert ppe.gmina_id == "2408031"
    assert Generator.objects.filter(ppe=ppe).count() == 1 and StorageUnit.objects.filter(ppe=ppe).count() == 1

    # It is on the member list, found by its PPE code.
    page.goto(f"{base}/members/?q={orzesze_ppe}")
    assert "Spółdzielnia Socjalna Zielone Śląskie" in page.inner_text("#member-table")

    # A second PPE in Warszawa breaks the area rule: the row names the PPE, the gmina and the rule.
    page.goto(f"{base}/members/{member.pk}/edit/")
    page.click("#add-ppe")
    far_ppe = ppe_code(302)
    page.fill("#id_ppe-1-code", far_ppe)
    page.fill("#id_ppe-1-gmina", "1465011")
    page.fill("#id_ppe-1-tariff_group", "C11")
    page.fill("#id_ppe-1-contracted_kw", "15")
    page.click("button[name=save]")
    error = page.locator(".ppe-row-errors").inner_text()
    assert far_ppe in error and "Warszawa" in error and "art. 38a" in error
    assert not MeteringPoint.objects.filter(code=far_ppe).exists()
