"""Prosumers: the billing regime per PPE and the balanced series ("po zbilansowaniu") in store, parsers and settlement."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from members.models import BillingRegime, PPEBillingRegime, Source
from members.services.regimes import REGIME_ORDER, ppe_regime_add, ppe_regime_on, regime_matrix
from reports.engine import hours_for_days
from reports.metering.parsers import parse_generic, parse_tauron
from reports.metering.store import Block, hourly_matrix, meter_blocks_upsert
from reports.models import JobStatus, MeterDay, Quality, RunOutdatedReason, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.results import run_snapshot_upgrade
from reports.settlement.snapshot import run_snapshot_read
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory

UTC = dt.UTC
MWH = 1_000_000
M, E, X = Quality.MEASURED, Quality.ESTIMATED, Quality.MISSING
DAY = dt.date(2025, 1, 1)
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)


def q(n: int, value: int = M) -> np.ndarray:
    return np.full(n, value, dtype=np.uint8)


def wh(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@pytest.fixture
def ppe(cluster):
    point = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=point, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    return point


# --- the store ---------------------------------------------------------------------------


def test_a_raw_reimport_of_whole_days_keeps_the_stored_balanced_series(ppe):
    n = 48
    meter_blocks_upsert(blocks=[Block(ppe.id, T0, 60, np.full(n, 500), np.full(n, 700), q(n),
                                      import_balanced_wh=np.zeros(n, np.int64), export_balanced_wh=np.full(n, 200),
                                      balanced_quality=q(n))])
    # whole days of raw data only (the written-without-reading path): the balanced series stays
    meter_blocks_upsert(blocks=[Block(ppe.id, T0, 60, np.full(n, 510), np.full(n, 720), q(n))])
    raw = hourly_matrix(ppe_ids=[ppe.id], start_utc=T0, end_utc=T0 + dt.timedelta(hours=n))
    both = hourly_matrix(ppe_ids=[ppe.id], start_utc=T0, end_utc=T0 + dt.timedelta(hours=n),
                         balanced={0: np.arange(n) >= 24})
    assert raw.import_wh[0].tolist() == [510] * n and raw.balanced is None
    assert both.import_wh[0].tolist() == [510] * 24 + [0] * 24
    assert both.export_wh[0].tolist() == [720] * 24 + [200] * 24
    assert both.present.all() and both.balanced[0].tolist() == [False] * 24 + [True] * 24


def test_a_balanced_only_block_leaves_the_raw_series_and_merges_slot_by_slot(ppe):
    meter_blocks_upsert(blocks=[Block(ppe.id, T0, 60, np.full(24, 100), np.full(24, 40), q(24))])
    # balanced drawn energy for hours 2–4 only, no raw direction carried
    meter_blocks_upsert(blocks=[Block(ppe.id, T0 + dt.timedelta(hours=2), 60, np.zeros(3, np.int64), np.zeros(3, np.int64),
                                      q(3), has_import=False, has_export=False,
                                      import_balanced_wh=wh(60, 61, 62), export_balanced_wh=wh(0, 0, 1),
                                      balanced_quality=wh(M, E, M).astype(np.uint8))])
    row = MeterDay.objects.get(ppe=ppe)
    assert len(bytes(row.balanced_quality)) == 24 and len(bytes(row.import_balanced_wh)) == 24 * 8
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=T0, end_utc=T0 + dt.timedelta(hours=24),
                         balanced={0: np.ones(24, dtype=bool)})
    assert data.import_wh[0, :6].tolist() == [0, 0, 60, 61, 62, 0]
    assert data.export_wh[0, :6].tolist() == [0, 0, 0, 0, 1, 0]
    # hours without balanced data are missing for a prosumer, never filled from the raw series
    assert data.present[0].tolist() == [False, False, True, True, True] + [False] * 19
    assert data.estimated[0, :5].tolist() == [False, False, False, True, False]
    raw = hourly_matrix(ppe_ids=[ppe.id], start_utc=T0, end_utc=T0 + dt.timedelta(hours=24))
    assert raw.import_wh[0].tolist() == [100] * 24 and raw.present.all()


def test_a_day_without_balanced_data_is_stored_with_empty_balanced_columns(ppe):
    meter_blocks_upsert(blocks=[Block(ppe.id, T0, 60, np.full(24, 1), np.full(24, 2), q(24))])
    row = MeterDay.objects.get(ppe=ppe)
    assert bytes(row.balanced_quality) == b"" and bytes(row.import_balanced_wh) == b""


# --- parsers -------------------------------------------------------------------------------


def test_tauron_reads_both_balanced_types_into_the_balanced_series():
    content = (
        "Data;Wartość kWh;Rodzaj\n"
        "2025-01-01 1:00;2,0;pobór\n2025-01-01 1:00;3,0;oddanie\n"
        "2025-01-01 1:00;0;pobrana po zbilansowaniu\n2025-01-01 1:00;1,0;oddana po zbilansowaniu\n"
        "2025-01-01 2:00;0,5;pobór\n2025-01-01 2:00;0,1;oddanie\n"
        "2025-01-01 2:00;0,4;pobrana po zbilansowaniu\n2025-01-01 2:00;0;oddana po zbilansowaniu\n"
    ).encode()
    result = parse_tauron(content)
    assert not result.errors
    [series] = result.series
    assert series.import_wh.tolist() == [2000, 500] and series.export_wh.tolist() == [3000, 100]
    assert series.import_balanced_wh.tolist() == [0, 400] and series.export_balanced_wh.tolist() == [1000, 0]
    assert series.balanced_quality.tolist() == [M, M]


def test_tauron_names_an_hour_with_one_balanced_value_of_the_pair():
    content = (
        "Data;Wartość kWh;Rodzaj\n2025-01-01 1:00;0;pobrana po zbilansowaniu\n2025-01-01 1:00;1,0;oddana po zbilansowaniu\n"
        "2025-01-01 2:00;0,4;pobrana po zbilansowaniu\n"
    ).encode()
    result = parse_tauron(content)
    [error] = result.errors
    assert (error.line, error.field) == (4, "Data") and "oddana po zbilansowaniu" in error.message


def test_generic_csv_reads_optional_balanced_columns_on_the_fast_and_the_careful_path():
    fast = ("ppe_code,start,import_kwh,export_kwh,import_balanced_kwh,export_balanced_kwh\n"
            "P1,2025-01-01T00:00Z,2,3,0,1\nP1,2025-01-01T01:00Z,0.5,0.1,0.4,0\n")
    careful = fast.replace("P1,2025-01-01T01:00Z,0.5,0.1,0.4,0", "P1,2025-01-01T01:00Z,0.5,0.1,,")
    for text, balanced_quality, imp in ((fast, [M, M], [0, 400]), (careful, [M, X], [0, 0])):
        result = parse_generic(io.BytesIO(text.encode()))
        assert not result.errors
        [series] = result.series
        assert series.import_wh.tolist() == [2000, 500]
        assert series.import_balanced_wh.tolist() == imp and series.export_balanced_wh.tolist()[0] == 1000
        assert series.balanced_quality.tolist() == balanced_quality


def test_generic_csv_names_the_bad_balanced_cell_by_line_and_column():
    text = ("ppe_code;start;import_kwh;export_kwh;import_balanced_kwh;export_balanced_kwh\n"
            "P1;2025-01-01T00:00Z;2;3;;1\nP1;2025-01-01T01:00Z;2;3;-1;0\n")
    result = parse_generic(io.BytesIO(text.encode()))
    found = [(e.line, e.field) for e in result.errors]
    assert found == [(2, "import_balanced_kwh"), (3, "import_balanced_kwh")]
    assert "podaj obie albo żadnej" in result.errors[0].message and "ujemna" in result.errors[1].message


def test_generic_csv_with_one_balanced_column_leaves_the_other_direction_out():
    text = "ppe_code,start,import_kwh,export_balanced_kwh\nP1,2025-01-01T00:00Z,2,0.25\n"
    [series] = parse_generic(io.BytesIO(text.encode())).series
    assert series.import_balanced_wh is None and series.export_balanced_wh.tolist() == [250]


# --- the regime ------------------------------------------------------------------------------


def test_a_regime_starts_on_a_day_and_ends_the_one_before(ppe):
    assert ppe_regime_on(ppe=ppe, on=DAY) == BillingRegime.ORDINARY  # the default: no row
    ppe_regime_add(ppe=ppe, regime=BillingRegime.NET_METERING, valid_from=dt.date(2024, 6, 1))
    ppe_regime_add(ppe=ppe, regime=BillingRegime.NET_BILLING, valid_from=dt.date(2025, 1, 2))
    rows = list(PPEBillingRegime.objects.filter(ppe=ppe).values_list("regime", "valid_from", "valid_to"))
    assert rows == [("net_metering", dt.date(2024, 6, 1), dt.date(2025, 1, 1)), ("net_billing", dt.date(2025, 1, 2), None)]
    days = [dt.date(2024, 5, 31), DAY, dt.date(2025, 1, 2)]
    assert [[REGIME_ORDER[i] for i in row] for row in regime_matrix(ppe_ids=[ppe.pk], days=days).tolist()] == [
        ["ordinary", "net_metering", "net_billing"]]
    with pytest.raises(ValidationError) as same:
        ppe_regime_add(ppe=ppe, regime=BillingRegime.NET_BILLING, valid_from=dt.date(2025, 3, 1))
    assert "regime" in same.value.message_dict and "już" in same.value.message_dict["regime"][0]
    with pytest.raises(ValidationError) as earlier:
        ppe_regime_add(ppe=ppe, regime=BillingRegime.ORDINARY, valid_from=dt.date(2024, 12, 1))
    assert "valid_from" in earlier.value.message_dict and "2025-01-02" in earlier.value.message_dict["valid_from"][0]


def test_the_database_refuses_overlapping_regimes_and_an_end_before_the_start(ppe):
    PPEBillingRegime.objects.create(ppe=ppe, regime="net_billing", valid_from=dt.date(2025, 1, 1))
    clash = PPEBillingRegime(ppe=ppe, regime="net_metering", valid_from=dt.date(2025, 2, 1))
    with pytest.raises(ValidationError) as overlap:
        clash.full_clean()
    assert "nakłada się" in str(overlap.value)
    backwards = PPEBillingRegime(ppe=ppe, regime="net_metering", valid_from=dt.date(2024, 2, 1), valid_to=dt.date(2024, 1, 1))
    with pytest.raises(ValidationError) as end:
        backwards.full_clean()
    assert "valid_to" in end.value.message_dict


# --- the settlement: a hand-computed hourly case --------------------------------------------


@pytest.fixture
def prosumer_day(cluster):
    """Local 1 January 2025 (24 hours). Every hour:

    - PPE P of "dom" (a 10 kW PV installation): raw drawn 2 MWh, fed in 3 MWh; the DSO's balanced
      values: drawn 0, fed in 1 MWh (3 − 2);
    - PPE C of the JST member "gmina" (no installation): drawn 1.5 MWh.
    """
    hours = hours_for_days(start=DAY, end=DAY)
    n = len(hours)
    first = dt.datetime.fromtimestamp(int(hours[0].astype("datetime64[s]").astype(np.int64)), UTC)
    dom = MemberFactory(cluster=cluster, ref="dom", name="Dom Prosumenta")
    gmina = MemberFactory(cluster=cluster, ref="gmina", name="Gmina", legal_form="jst")
    p = MeteringPointFactory(cluster=cluster)
    c = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=p, member=dom, valid_from=dt.date(2024, 1, 1))
    PPEMembershipFactory(ppe=c, member=gmina, valid_from=dt.date(2024, 1, 1))
    GeneratorFactory(ppe=p, source=Source.PV, capacity_kw=D("10"))
    meter_blocks_upsert(blocks=[
        Block(p.pk, first, 60, np.full(n, 2 * MWH), np.full(n, 3 * MWH), q(n),
              import_balanced_wh=np.zeros(n, np.int64), export_balanced_wh=np.full(n, MWH), balanced_quality=q(n)),
        Block(c.pk, first, 60, np.full(n, 1_500_000), np.zeros(n, np.int64), q(n)),
    ])
    return {"p": p, "c": c, "hours": hours, "first": first}


def settle(cluster, django_capture_on_commit_callbacks, **kwargs) -> SettlementRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=DAY, period_end=DAY, period_kind="custom", **kwargs)
    run.refresh_from_db()
    return run


def test_a_prosumer_ppe_is_settled_on_its_balanced_values(cluster, prosumer_day, django_capture_on_commit_callbacks):
    # Raw series (the PPE ordinary): drawn 2 + 1.5 = 3.5 MWh, fed in 3 MWh, shared min(3, 3.5) = 3 MWh an hour:
    # 72 MWh in 24 h, level 72 / 84 = 85.71 % → tier 80 % (15 % discount).
    raw = settle(cluster, django_capture_on_commit_callbacks)
    assert raw.status == JobStatus.DONE, raw.error
    t = raw.totals
    assert (t["drawn_wh"], t["fed_in_wh"], t["shared_wh"]) == (84 * MWH, 72 * MWH, 72 * MWH)
    assert t["tier"] == {"threshold_pct": "80.00", "discount_pct": "15.00"}
    # discount 15 % × (229.30 + 24.21) × 72 = 2,737.908 → 2,737.91; cogeneration 6.18 × 72 = 444.96;
    # green 2.3515 × 72 = 169.308 → 169.31; blue 1.50135 × 72 = 108.0972 → 108.10; white 2.0753 × 72 = 149.4216 → 149.42
    assert (t["discount"], t["exemptions_total"], t["total"]) == ("2737.91", "871.79", "3609.70")
    assert [(p["billing_regime"], p["series"]) for p in raw.snapshot["ppes"]] == [("ordinary", "raw")] * 2

    # The PPE becomes a net-billing prosumer from that day: the finished run is outdated and the next one
    # reads the balanced series: drawn 0 + 1.5 = 1.5 MWh, fed in 1 MWh, shared 1 MWh an hour:
    # 24 MWh, level 24 / 36 = 66.67 % → tier 60 % (5 % discount).
    ppe_regime_add(ppe=prosumer_day["p"], regime=BillingRegime.NET_BILLING, valid_from=DAY)
    assert RunOutdatedReason.objects.filter(run=raw, code="billing_regime").count() == 1
    run = settle(cluster, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.DONE, run.error
    t = run.totals
    assert (t["drawn_wh"], t["fed_in_wh"], t["shared_wh"]) == (36 * MWH, 24 * MWH, 24 * MWH)
    assert t["tier"] == {"threshold_pct": "60.00", "discount_pct": "5.00"}
    # discount 5 % × 253.51 × 24 = 304.212 → 304.21; cogeneration 6.18 × 24 = 148.32; green 2.3515 × 24 = 56.436
    # → 56.44; blue 1.50135 × 24 = 36.0324 → 36.03; white 2.0753 × 24 = 49.8072 → 49.81; exemptions 290.60
    assert t["exemptions"] == {"oze": "0.00", "cogeneration": "148.32", "green": "56.44", "blue": "36.03",
                               "white": "49.81"}
    assert (t["discount"], t["exemptions_total"], t["total"]) == ("304.21", "290.60", "594.81")
    # pro rata to draw: the prosumer's balanced draw is 0 in every hour, so the JST member takes all shared energy
    lines = {line.member_ref: line for line in run.lines.all()}
    assert (lines["gmina"].drawn_wh, lines["gmina"].shared_wh, lines["gmina"].total) == (36 * MWH, 24 * MWH, D("594.81"))
    assert (lines["dom"].drawn_wh, lines["dom"].shared_wh, lines["dom"].total) == (0, 0, D("0.00"))
    ppes = {p.code: p for p in run_snapshot_read(run).ppes}
    assert (ppes[prosumer_day["p"].code].billing_regime, ppes[prosumer_day["p"].code].series) == ("net_billing", "balanced")
    assert (ppes[prosumer_day["c"].code].billing_regime, ppes[prosumer_day["c"].code].series) == ("ordinary", "raw")


def test_a_regime_change_within_the_period_settles_mixed(cluster, prosumer_day, django_capture_on_commit_callbacks):
    hours = hours_for_days(start=DAY, end=dt.date(2025, 1, 2))
    n = len(hours)
    p, c = prosumer_day["p"], prosumer_day["c"]
    first = prosumer_day["first"]
    meter_blocks_upsert(blocks=[
        Block(p.pk, first, 60, np.full(n, 2 * MWH), np.full(n, 3 * MWH), q(n),
              import_balanced_wh=np.zeros(n, np.int64), export_balanced_wh=np.full(n, MWH), balanced_quality=q(n)),
        Block(c.pk, first, 60, np.full(n, 1_500_000), np.zeros(n, np.int64), q(n)),
    ])
    ppe_regime_add(ppe=p, regime=BillingRegime.NET_METERING, valid_from=dt.date(2025, 1, 2))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_request(cluster=cluster, period_start=DAY, period_end=dt.date(2025, 1, 2), period_kind="custom")
    run.refresh_from_db()
    # day 1 raw (72 MWh shared of 84 drawn), day 2 balanced (24 of 36)
    assert (run.totals["drawn_wh"], run.totals["shared_wh"]) == (120 * MWH, 96 * MWH)
    ppes = {x.code: x for x in run_snapshot_read(run).ppes}
    assert (ppes[p.code].billing_regime, ppes[p.code].series) == ("net_metering", "mixed")


def test_missing_balanced_data_of_a_prosumer_is_missing_data(cluster, prosumer_day, django_capture_on_commit_callbacks,
                                                              client, coordinator):
    p, first = prosumer_day["p"], prosumer_day["first"]
    ppe_regime_add(ppe=p, regime=BillingRegime.NET_BILLING, valid_from=DAY)
    # the balanced series loses hours 5–7 (the raw series is complete): not filled from the raw series
    MeterDay.objects.filter(ppe=p).update(import_balanced_wh=b"", export_balanced_wh=b"", balanced_quality=b"",
                                          export_balanced_quality=b"")
    n = 24
    keep = np.ones(n, dtype=bool)
    keep[5:8] = False
    meter_blocks_upsert(blocks=[Block(p.pk, first, 60, np.zeros(n, np.int64), np.zeros(n, np.int64), q(n),
                                      has_import=False, has_export=False, import_balanced_wh=np.zeros(n, np.int64),
                                      export_balanced_wh=np.full(n, MWH),
                                      balanced_quality=np.where(keep, M, X).astype(np.uint8))])
    run = settle(cluster, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.FAILED
    [gap] = run.missing
    assert (gap["ppe"], gap["hours"], gap["balanced_hours"]) == (p.code, 3, 3)
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id]))
    assert "brak danych po zbilansowaniu: 3 godzin" in page.content.decode()


def test_runs_before_the_regime_read_as_ordinary_raw(cluster, prosumer_day, django_capture_on_commit_callbacks):
    run = settle(cluster, django_capture_on_commit_callbacks)
    old = dict(run.snapshot)
    old["schema"] = 5
    old["ppes"] = [{k: v for k, v in p.items() if k not in ("billing_regime", "series")} for p in old["ppes"]]
    run.snapshot = old
    upgraded = run_snapshot_upgrade(run)
    assert {(p.billing_regime, p.series) for p in upgraded.ppes} == {("ordinary", "raw")}


# --- the coordinator's pages and the admin -------------------------------------------------


def test_the_coordinator_sees_and_changes_the_regime_on_the_ppe_page(client, coordinator, cluster, ppe):
    client.force_login(coordinator)
    url = reverse("members:ppe-detail", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk})
    html = client.get(url).content.decode()
    assert "zwykły (bez rozliczenia prosumenckiego)" in html and 'id="regime-form"' in html
    post = reverse("members:ppe-regime", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk})
    response = client.post(post, {"regime": "net_billing", "valid_from": "2025-01-01"})
    assert response.status_code == 302
    assert ppe_regime_on(ppe=ppe, on=DAY) == "net_billing"
    html = client.get(url).content.decode()
    assert "prosument – net-billing" in html and "01.01.2025" in html
    # the same regime again: the form says so on the regime field, nothing saved
    html = client.post(post, {"regime": "net_billing", "valid_from": "2025-02-01"}).content.decode()
    assert "jest rozliczany jako" in html and 'id="id_regime_regime"' in html and "is-invalid" in html
    assert PPEBillingRegime.objects.filter(ppe=ppe).count() == 1
    html = client.post(post, {"regime": "net_metering", "valid_from": ""}).content.decode()
    assert PPEBillingRegime.objects.filter(ppe=ppe).count() == 1 and "is-invalid" in html
    history = client.get(reverse("members:ppe-history", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk}))
    assert f"Sposób rozliczenia PPE {ppe.code}" in history.content.decode()


def test_an_admin_edit_of_a_regime_outdates_the_runs_of_its_days(client, cluster, prosumer_day,
                                                                   django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    run = settle(cluster, django_capture_on_commit_callbacks)
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:members_ppebillingregime_add"), {
        "ppe": prosumer_day["p"].pk, "regime": "net_metering", "valid_from": "2024-12-01", "valid_to": "2024-12-31",
    })
    assert response.status_code == 302
    assert not RunOutdatedReason.objects.filter(run=run).exists()  # December: not the run's day
    row = PPEBillingRegime.objects.get()
    response = client.post(reverse("admin:members_ppebillingregime_change", args=[row.pk]), {
        "ppe": prosumer_day["p"].pk, "regime": "net_metering", "valid_from": "2024-12-01", "valid_to": "",
    })
    assert response.status_code == 302
    assert RunOutdatedReason.objects.filter(run=run, code="billing_regime").count() == 1
    assert client.get(reverse("admin:members_ppebillingregime_history", args=[row.pk])).status_code == 200


def test_the_statement_and_the_result_page_say_which_series_the_run_used(
    cluster, prosumer_day, django_capture_on_commit_callbacks, client, coordinator,
):
    from pypdf import PdfReader

    from reports.models import Statement
    from reports.statements.services import statements_generate
    from tests.reports.test_pdf import pdf_text

    ppe_regime_add(ppe=prosumer_day["p"], regime=BillingRegime.NET_BILLING, valid_from=DAY)
    run = settle(cluster, django_capture_on_commit_callbacks)
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.id])).content.decode()
    assert 'id="prosumer-ppes"' in html and prosumer_day["p"].code in html and "prosument – net-billing" in html
    with django_capture_on_commit_callbacks(execute=True):
        statements_generate(run=run, user=None)
    own = Statement.objects.get(run=run, line__member_ref="dom")
    other = Statement.objects.get(run=run, line__member_ref="gmina")
    text = pdf_text(own.file.open("rb").read())
    assert "Prosument." in text and f"{prosumer_day['p'].code} (net-billing): dane po zbilansowaniu" in text
    assert len(PdfReader(own.file.open("rb")).pages) == 1
    assert "Prosument." not in pdf_text(other.file.open("rb").read())


def test_the_portal_day_chart_shows_a_prosumer_s_balanced_values(cluster, prosumer_day):
    from reports.portal.services import portal_day_chart, portal_hourly_csv_rows

    dom = prosumer_day["p"].memberships.get().member
    gmina = prosumer_day["c"].memberships.get().member
    raw = portal_day_chart(member=gmina, day=DAY)
    # ordinary: raw shared 3 MWh an hour split by draw 2 : 1.5; the JST member's PPE gets
    # 72 MWh × 1.5 / 3.5 = 30,857,142.86 Wh of the day → 30,857,143 Wh
    assert raw["shared_wh"] == 30_857_143 and raw["balanced_ppes"] == []
    ppe_regime_add(ppe=prosumer_day["p"], regime=BillingRegime.NET_BILLING, valid_from=DAY)
    chart = portal_day_chart(member=dom, day=DAY)
    assert chart["balanced_ppes"] == [prosumer_day["p"].code]
    assert (chart["drawn_wh"], chart["fed_wh"], chart["shared_wh"]) == (0, 24 * MWH, 0)
    # the JST member now takes all 1 MWh shared an hour, as in the settlement
    assert portal_day_chart(member=gmina, day=DAY)["shared_wh"] == 24 * MWH
    # the member's CSV export stays the raw meter readings
    rows = list(portal_hourly_csv_rows(member=dom, start=DAY, end=DAY))
    assert rows[1][4:6] == ["2000,000", "3000,000"]
