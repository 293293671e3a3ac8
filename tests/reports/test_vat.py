"""VAT: the rule's rate, the member's deduction, gross totals and the member's own rates on its statement."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from reports.engine.money import vat_gross
from reports.models import SettlementRule
from reports.settlement.results import run_snapshot_upgrade
from reports.settlement.snapshot import SCHEMA, run_snapshot_read
from reports.statements.member_terms import member_rate_rows, member_vat, rate_row_label, vat_rate_decimals
from reports.statements.services import statement_data, statement_pdf, statements_prepare
from tests.factories import ppe_code
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, seed_snapshot

pytestmark = pytest.mark.django_db

PGE = "PGE Dystrybucja"
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
A, B, C = ppe_code(101), ppe_code(102), ppe_code(103)


def _rate(id_: int, dso, group, variable, quality, valid_from, valid_to=None) -> dict:
    return {"id": id_, "dso": dso, "tariff_group": group, "variable_rate": variable, "quality_rate": quality,
            "valid_from": valid_from, "valid_to": valid_to, "source_note": ""}


def _snapshot(*, alice_deducts: bool | None = None) -> dict:
    """March 2026: alice has PPE A (G11) all month and PPE B (C11) from 11 March; bob has PPE C (B21).
    C11's rate changes on 21 March; B21 has no own row and uses the general one."""
    alice = {"ref": "alice", "name": "Alicja Nowak", "legal_form": "person", "address": "", "nip": "", "regon": "",
             "krs": "", "joined_on": "2024-01-01", "left_on": None}
    if alice_deducts is not None:
        alice["deducts_vat"] = alice_deducts  # else: the legal form's default, as for a run before the flag
    bob = {"ref": "bob", "name": "Bob Kowalski sp. z o.o.", "legal_form": "small_enterprise", "address": "", "nip": "",
           "regon": "", "krs": "", "joined_on": "2024-01-01", "left_on": None}
    return seed_snapshot() | {
        "rates": [
            _rate(1, None, None, "229.3000", "24.2100", "2024-01-01"),
            _rate(2, PGE, "C11", "180.0000", "20.0000", "2025-01-01", "2026-03-20"),
            _rate(3, PGE, "C11", "190.0000", "21.0000", "2026-03-21"),
            _rate(4, PGE, "G11", "250.0000", "25.0000", "2026-01-01"),
        ],
        "segments": [
            {"start": "2026-03-01", "end": "2026-03-20", "exempt": True, "rate_ids": [1, 2, 4], "fee_ids": []},
            {"start": "2026-03-21", "end": "2026-03-31", "exempt": True, "rate_ids": [1, 3, 4], "fee_ids": []},
        ],
        "members": [alice, bob],
        "memberships": [
            {"ppe": A, "member": "alice", "valid_from": "2024-01-01", "valid_to": None},
            {"ppe": B, "member": "alice", "valid_from": "2026-03-11", "valid_to": None},
            {"ppe": C, "member": "bob", "valid_from": "2024-01-01", "valid_to": None},
        ],
        "ppes": [
            {"code": A, "dso": PGE, "tariff_group": "G11", "voltage_level": "nN", "renewable_share": "1.000000"},
            {"code": B, "dso": PGE, "tariff_group": "C11", "voltage_level": "nN", "renewable_share": "1.000000"},
            {"code": C, "dso": PGE, "tariff_group": "B21", "voltage_level": "SN", "renewable_share": "1.000000"},
        ],
    }


def _run(cluster, **kwargs):
    return SettlementRunFactory(cluster=cluster, period_kind="month", period_start=MARCH[0], period_end=MARCH[1],
                                snapshot=_snapshot(**kwargs))


# --- the gross amount: money.py point 7 --------------------------------------------------


def test_the_gross_is_the_net_total_times_one_plus_the_rate_rounded_half_up_once() -> None:
    # 20 977,13 × 1,23 = 25 801,8699 → 25 801,87
    assert vat_gross(net=Decimal("20977.13"), vat_rate_pct=Decimal("23.00")) == Decimal("25801.87")
    # 1,50 × 1,23 = 1,845: half up gives 1,85 (half to even would give 1,84)
    assert vat_gross(net=Decimal("1.50"), vat_rate_pct=Decimal("23.00")) == Decimal("1.85")
    # 0,05 × 1,23 = 0,0615 → 0,06; another rate from the rule: 10,00 × 1,08 = 10,80
    assert vat_gross(net=Decimal("0.05"), vat_rate_pct=Decimal("23")) == Decimal("0.06")
    assert vat_gross(net=Decimal("10.00"), vat_rate_pct=Decimal("8.00")) == Decimal("10.80")
    # a whole rate prints as "23 %", another as "22,50 %"
    assert (vat_rate_decimals(Decimal("23.00")), vat_rate_decimals(Decimal("22.50"))) == (0, 2)


def test_a_member_that_does_not_deduct_vat_gets_the_gross_and_one_that_does_gets_none(cluster) -> None:
    snapshot = run_snapshot_read(_run(cluster, alice_deducts=False))
    alice = member_vat(snapshot=snapshot, member_ref="alice", net=Decimal("20977.13"))
    assert (alice.deducts, alice.rate_pct, alice.gross, alice.vat) == (
        False, Decimal("23.00"), Decimal("25801.87"), Decimal("4824.74"))
    bob = member_vat(snapshot=snapshot, member_ref="bob", net=Decimal("20977.13"))
    assert bob.deducts and bob.gross is None and bob.vat is None
    # a member the run did not record: net only
    assert member_vat(snapshot=snapshot, member_ref="nobody", net=Decimal("1.00")).gross is None


# --- the snapshot: recorded, and filled for older runs -----------------------------------


def test_a_run_records_the_rules_vat_rate_and_older_runs_get_23_and_the_legal_forms_default(cluster) -> None:
    run = _run(cluster)  # recorded without the VAT fields, as a run before them
    snapshot = run_snapshot_read(run)
    assert snapshot.rules.rule.vat_rate_pct == Decimal("23.00")
    assert {m.ref: m.deducts_vat for m in snapshot.members} == {"alice": False, "bob": True}
    # schema 5 → 6: a stored snapshot without the fields is filled the same way
    stored = dict(run.snapshot)
    stored["schema"] = 5
    stored["rule"] = {k: v for k, v in stored["rule"].items() if k != "vat_rate_pct"}
    stored["members"] = [{k: v for k, v in m.items() if k != "deducts_vat"} for m in stored["members"]]
    run.snapshot = stored
    upgraded = run_snapshot_upgrade(run)
    assert upgraded.rules.rule.vat_rate_pct == Decimal("23.00")
    assert {m.ref: m.deducts_vat for m in upgraded.members} == {"alice": False, "bob": True}
    assert SCHEMA == 6


def test_the_settlement_rule_defaults_to_23_percent_and_refuses_more_than_100(db) -> None:
    from django.core.exceptions import ValidationError

    rule = SettlementRule.objects.in_force(dt.date(2026, 3, 1)).get()
    assert rule.vat_rate_pct == Decimal("23.00") and "VAT 23.00 %" in str(rule)
    rule.vat_rate_pct = Decimal("123")
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "Stawka VAT to procent" in str(error.value)


# --- the member's own rates ----------------------------------------------------------------


def test_a_statement_lists_only_the_rates_of_the_members_own_ppes(cluster) -> None:
    snapshot = run_snapshot_read(_run(cluster))
    rows = member_rate_rows(snapshot=snapshot, member_ref="alice", period_start=MARCH[0], period_end=MARCH[1])
    assert [(r.ppe, r.tariff_group, r.rate.id, r.used_from.day, r.used_to.day, r.days) for r in rows] == [
        (A, "G11", 4, 1, 31, 31),  # G11 all month
        (B, "C11", 2, 11, 20, 10),  # C11 from joining on 11 March, the old rate until 20 March
        (B, "C11", 3, 21, 31, 11),  # and the new one from 21 March
    ]
    assert rate_row_label(rows[1]) == "PGE Dystrybucja, C11"
    # bob (B21) sees only the general rate: never G11's or C11's
    bob = member_rate_rows(snapshot=snapshot, member_ref="bob", period_start=MARCH[0], period_end=MARCH[1])
    assert [(r.ppe, r.rate.id, r.days) for r in bob] == [(C, 1, 31)]


def test_without_recorded_segments_the_rates_used_each_day_are_the_candidates(cluster) -> None:
    # A run recorded before segments (the seed's one general rate): every PPE of the line gets it.
    run = SettlementRunFactory(cluster=cluster, period_kind="month", period_start=MARCH[0], period_end=MARCH[1])
    rows = member_rate_rows(snapshot=run_snapshot_read(run), member_ref="x", period_start=MARCH[0],
                            period_end=MARCH[1], ppe_codes=[A])
    assert [(r.ppe, r.rate.variable_rate, r.days) for r in rows] == [(A, Decimal("229.3000"), 31)]


# --- statements, the result page and the cluster report ----------------------------------


def _statement(run, member, **line):
    SettlementLineFactory(run=run, member=member, member_ref=member.ref, **line)
    statements_prepare(run=run)
    return run.statements.get(member=member)


def test_the_statement_of_a_member_that_does_not_deduct_vat_shows_the_gross_on_one_page(cluster, alice) -> None:
    run = _run(cluster, alice_deducts=False)
    statement = _statement(run, alice.member, ppes=[{"code": A, "drawn_wh": 1, "shared_wh": 1, "fed_in_wh": 0},
                                                    {"code": B, "drawn_wh": 1, "shared_wh": 1, "fed_in_wh": 0}])
    data = statement_data(statement=statement)
    assert data["vat"].gross == Decimal("25801.87")
    notes = " ".join(data["tariff_notes"])
    assert "250,00" in notes and "180,00" in notes and "190,00" in notes and "229,30" not in notes
    pdf = statement_pdf(statement=statement)
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join("\n".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ").split())
    assert len(reader.pages) == 1
    assert "Korzyść brutto (z VAT 23 %)" in text and "25 801,87 zł" in text
    assert "nie odlicza VAT" in text and "4 824,74 zł" in text
    assert "(PGE Dystrybucja, G11)" in text and "B21" not in text


def test_the_statement_of_a_member_that_deducts_vat_shows_no_gross(cluster, bob) -> None:
    statement = _statement(_run(cluster), bob.member)
    data = statement_data(statement=statement)
    assert data["vat"].deducts and data["vat"].gross is None
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(statement_pdf(statement=statement).content)).pages)
    assert "brutto" not in text.lower()
    assert "członek odlicza VAT" in " ".join(text.replace("\u00a0", " ").split())


def test_the_result_page_and_the_cluster_report_show_the_gross_of_non_deducting_members(client, coordinator, cluster, alice, bob) -> None:
    from reports.statements.cluster_report import cluster_report_pdf

    run = _run(cluster, alice_deducts=False)
    alice_line = SettlementLineFactory(run=run, member=alice.member, member_ref="alice")
    bob_line = SettlementLineFactory(run=run, member=bob.member, member_ref="bob", total=Decimal("1.50"))
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode().replace("\u00a0", " ")
    assert "Brutto (VAT 23 %)" in page and "25 801,87 zł" in page and "odlicza VAT" in page
    assert "1,85 zł" not in page  # bob deducts VAT: no gross
    member_page = reverse("reports:settlement-member", args=[cluster.slug, run.pk, alice_line.pk])
    assert "Korzyść brutto (z VAT 23 %)" in client.get(member_page).content.decode().replace("\u00a0", " ")
    member_page = reverse("reports:settlement-member", args=[cluster.slug, run.pk, bob_line.pk])
    assert "Członek odlicza VAT: kwoty netto." in client.get(member_page).content.decode()
    report = cluster_report_pdf(run=run).content
    open("/tmp/report-vat.pdf", "wb").write(report)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report)).pages)
    text = " ".join(text.replace("\u00a0", " ").split())
    assert "25 801,87 zł" in text and "Brutto (VAT 23 %)" in text


def test_an_administrator_gives_the_rule_a_new_vat_rate_from_a_date_on_the_rates_page(client, cluster) -> None:
    from reports.settlement.tariffs import rate_uses_record
    from tests.factories import UserFactory
    from tests.reports.factories import march_run

    run = march_run(cluster)
    rate_uses_record(run=run)
    rule = SettlementRule.objects.get()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert "VAT 23.00 %" in client.get("/rates/").content.decode()
    url = f"/rates/rule/{rule.pk}/new-value/"
    assert 'name="vat_rate_pct"' in client.get(url).content.decode()
    values = {"valid_from": "2026-03-15", "exemption_end_date": "2029-12-31", "level_numerator": "all_sources",
              "cooperative_coefficient": "0,600", "cooperative_netting_period": "month", "cooperative_carry_months": "12",
              "completeness_gate_pct": "99,00", "storage_price_spread": "180,00", "source": "ustawa o VAT"}
    refused = client.post(url, values | {"vat_rate_pct": "150"})
    assert "Stawka VAT to procent: od 0 do 100 %." in refused.content.decode()
    response = client.post(url, values | {"vat_rate_pct": "8,00"}, follow=True)
    assert "Nieaktualne rozliczenia (1)" in response.content.decode()
    new = SettlementRule.objects.get(valid_from=dt.date(2026, 3, 15))
    assert new.vat_rate_pct == Decimal("8.00")


def test_ppes_with_the_same_rates_on_the_same_days_share_one_note(cluster) -> None:
    from reports.statements.member_terms import member_rate_notes

    snapshot = run_snapshot_read(_run(cluster))
    rows = member_rate_rows(snapshot=snapshot, member_ref="x", period_start=MARCH[0], period_end=MARCH[1],
                            ppe_codes=[A, B, C])  # no memberships of "x": its line's PPEs over the whole period
    notes = member_rate_notes(rows)
    assert len(notes) == 3
    rows = member_rate_rows(snapshot=snapshot, member_ref="x", period_start=MARCH[0], period_end=MARCH[1],
                            ppe_codes=[A, A + "0"])  # the second is unknown to the snapshot: the general rate
    assert [n.split(":")[0] for n in member_rate_notes(rows)] == [f"PPE {A} (PGE Dystrybucja, G11)", f"PPE {A}0"]
    same = [r for r in member_rate_rows(snapshot=snapshot, member_ref="bob", period_start=MARCH[0], period_end=MARCH[1])]
    twin = [type(r)(C + "9", r.dso, r.tariff_group, r.rate, r.used_from, r.used_to) for r in same]
    assert member_rate_notes(same + twin) == [
        f"PPE {C}, {C}9 (PGE Dystrybucja, B21): zmienna 229,30 + jakościowa 24,21 zł/MWh "
        "(stawka od 01.01.2024; dni 01.03–31.03: 31)"
    ]
