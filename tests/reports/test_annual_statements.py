"""Annual statements: the evaluation period as rule data, provisional months, the annual true-up.

Hand-computed case (presentation rates: 229.30 + 24.21 = 253.51 zł/MWh; tiers 60 → 5 %, 70 → 10 %,
80 → 15 %; cluster-exempt fees 0 + 6.18 + 2.3515 + 1.50135 + 2.0753 zł/MWh). Two members draw
0.6 and 0.4 MWh in the first 500 hours of January and of February; the PV plant feeds 1 MWh in
the first 400 hours of January and the first 250 hours of February:

- January: 400 of 500 MWh shared = 80 % → 15 %: discount 0.15 × 253.51 × 400 = 15,210.60 zł;
- February: 250 of 500 MWh = 50 % → no tier: discount 0;
- the year (data in January and February only): 650 of 1,000 MWh = 65 % → 5 %:
  discount 0.05 × 253.51 × 650 = 8,239.075 → 8,239.08 zł.

Fees do not depend on the tier; each rounds on its own energy, so here the months and the year agree
to the grosz (cogeneration 2,472.00 + 1,545.00 = 4,017.00; green 940.60 + 587.88 = 1,528.48 …).
The correction is the discount's: 8,239.08 − 15,210.60 = −6,971.52 zł. The member drawing 60 %:
January 9,126.36 zł of discount, the year 4,943.45 (8,239.08 split 4,943.448 / 3,295.632, the last
grosz to the larger remainder) → correction −4,182.91 zł; the other −2,788.61; together −6,971.52.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from reports.engine import hours_for_days
from reports.models import AnnualStatement, JobStatus, SettlementRule, Statement
from reports.settlement import settlement_request
from reports.statements.annual import annual_data, annual_statements_issue, annual_statements_publish
from reports.statements.services import statement_data, statements_generate, statements_publish
from tests.conftest import _consents_confirmed
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import store

MWH = 1_000_000
JAN = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
FEB = (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture
def year_cluster(cluster):
    a = MemberFactory(cluster=cluster, ref="gmina", name="Miasto Orzesze", legal_form="jst")
    b = MemberFactory(cluster=cluster, ref="zielone", name="Spółdzielnia Socjalna Zielone Śląskie")
    c = MemberFactory(cluster=cluster, ref="pv", name="Klastry Energii sp. z o.o.")
    ppes = {}
    for member in (a, b, c):
        ppes[member.ref] = MeteringPointFactory(cluster=cluster)
        PPEMembershipFactory(ppe=ppes[member.ref], member=member)
    GeneratorFactory(ppe=ppes["pv"], capacity_kw=D("20000"))
    # storage of 5 % of the PV's power: the cluster meets the statutory conditions and is eligible
    StorageUnitFactory(ppe=ppes["pv"], power_kw=D("1000"), capacity_kwh=D("2000"))
    for (start, end), fed_hours in ((JAN, 400), (FEB, 250)):
        hours = hours_for_days(start=start, end=end)
        n = len(hours)
        zero = np.zeros(n, dtype=np.int64)
        drawing = np.arange(n) < 500
        fed = np.where(np.arange(n) < fed_hours, MWH, 0)
        store(ppes["gmina"], hours, np.where(drawing, 600_000, 0), zero)
        store(ppes["zielone"], hours, np.where(drawing, 400_000, 0), zero)
        store(ppes["pv"], hours, zero, fed)
    return {"members": (a, b, c), "ppes": ppes}


def _yearly_rule() -> None:
    SettlementRule.objects.update(evaluation_period="year")


def _settle(cluster, period, capture, **kwargs):
    with capture(execute=True):
        run = settlement_request(cluster=cluster, period_start=period[0], period_end=period[1], **kwargs)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    return run


def _publish(run, coordinator, capture) -> None:
    with capture(execute=True):
        statements_generate(run=run, user=coordinator)
    with capture(execute=True):
        statements_publish(run=run, user=coordinator)


def _months(cluster, coordinator, capture):
    runs = [_settle(cluster, JAN, capture), _settle(cluster, FEB, capture)]
    for run in runs:
        _publish(run, coordinator, capture)
    return runs


def test_the_months_settle_their_own_tier_hand_computed(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    jan, feb = _months(cluster, coordinator, django_capture_on_commit_callbacks)
    assert (jan.totals["autoconsumption_pct"], jan.totals["tier"]["discount_pct"]) == ("80.00", "15.00")
    assert (jan.totals["discount"], jan.totals["exemptions_total"], jan.totals["total"]) == ("15210.60", "4843.26", "20053.86")
    assert (feb.totals["autoconsumption_pct"], feb.totals["tier"], feb.totals["total"]) == ("50.00", None, "3027.05")
    assert jan.snapshot["rule"]["evaluation_period"] == "month"


def test_a_yearly_rule_marks_monthly_runs_provisional_and_says_so(cluster, coordinator, client, year_cluster, django_capture_on_commit_callbacks):
    _yearly_rule()
    jan, _feb = _months(cluster, coordinator, django_capture_on_commit_callbacks)
    assert jan.snapshot["rule"]["evaluation_period"] == "year"
    statement = jan.statements.get(member__ref="gmina")
    data = statement_data(statement=statement)
    assert data["evaluation_period"] == "year" and data["level_provisional"] is True
    text = " ".join(pdf_text(statement.file.read()).split())
    assert "za rok kalendarzowy" in text and "kwoty wstępne" in text
    client.force_login(coordinator)
    page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, jan.pk])).content.decode()
    assert 'data-level-provisional="1"' in page and "poziom i próg oceniane za rok kalendarzowy" in page
    listing = client.get(reverse("reports:settlement-list", args=[cluster.slug])).content.decode()
    assert 'data-level-provisional="1"' in listing


def test_the_annual_statement_corrects_the_months_to_the_grosz(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    _yearly_rule()
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    year_run = _settle(cluster, YEAR, django_capture_on_commit_callbacks, period_kind="year", override_completeness=True)
    assert (year_run.totals["autoconsumption_pct"], year_run.totals["tier"]["discount_pct"]) == ("65.00", "5.00")
    assert (year_run.totals["discount"], year_run.totals["exemptions_total"]) == ("8239.08", "7870.31")

    with django_capture_on_commit_callbacks(execute=True):
        count = annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    assert count == 3
    rows = {s.member.ref: s for s in AnnualStatement.objects.select_related("member")}
    assert all(s.status == Statement.Status.READY and s.file for s in rows.values())
    gmina = annual_data(rows["gmina"])
    assert [p.period_start for p in gmina.periods] == [JAN[0], FEB[0]]
    assert gmina.periods[0].provisional and gmina.periods[0].discount == D("9126.36")
    c = gmina.correction
    assert (c.year.discount, c.shown.discount, c.correction.discount) == (D("4943.45"), D("9126.36"), D("-4182.91"))
    # the fees agree for the cluster; a member's share of a fee may differ by a grosz (largest remainder)
    others = annual_data(rows["zielone"]).correction
    for code, value in c.correction.exemptions.items():
        assert abs(value) <= D("0.01") and value + others.correction.exemptions[code] == 0, code
    assert c.correction.total == c.year.total - c.shown.total == D("-4182.91") + sum(c.correction.exemptions.values())
    assert rows["gmina"].correction + rows["zielone"].correction == D("-6971.52")
    assert rows["pv"].correction == D("0.00")
    # per member, to the grosz, the corrections add up to the year's run minus every published month
    assert sum(s.correction for s in rows.values()) == D("16109.39") - D("23080.91") == D("-6971.52")
    assert gmina.uncovered_months == tuple(f"2025-{m:02d}" for m in range(3, 13))

    content = rows["gmina"].file.read()
    assert len(PdfReader(io.BytesIO(content)).pages) == 1
    text = " ".join(pdf_text(content).split())
    assert "Roczne zestawienie korzyści z korektą" in text and rows["gmina"].number in text
    assert "Korzyść netto razem 8 239,08 zł" not in text  # that is the cluster's; the member's year is its own
    assert "-4 182,91 zł" in text and "za rok kalendarzowy" in text
    assert "9 126,36 zł" in text and "4 943,45 zł" in text


def test_a_monthly_rule_sums_the_months_without_a_correction(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    gmina = AnnualStatement.objects.get(member__ref="gmina")
    data = annual_data(gmina)
    assert data.correction is None and gmina.correction is None
    assert gmina.total == gmina.shown_total == sum((p.total for p in data.periods), D(0))
    assert not any(p.provisional for p in data.periods)
    text = " ".join(pdf_text(gmina.file.read()).split())
    assert "za okres rozliczeniowy OSD" in text and "KOREKTA" not in text


def test_a_yearly_rule_without_the_whole_year_run_is_refused_naming_it(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    _yearly_rule()
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="najpierw rozlicz cały rok 2025"):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    assert not AnnualStatement.objects.exists()


def test_overlapping_period_statements_are_refused(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    both = _settle(cluster, (JAN[0], FEB[1]), django_capture_on_commit_callbacks, period_kind="custom")
    _publish(both, coordinator, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="nakładające się okresy"):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)


def test_a_corrected_month_counts_with_its_latest_published_version(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    jan, _feb = _months(cluster, coordinator, django_capture_on_commit_callbacks)
    again = _settle(cluster, JAN, django_capture_on_commit_callbacks)
    _publish(again, coordinator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    data = annual_data(AnnualStatement.objects.get(member__ref="gmina"))
    assert data.periods[0].version == 2 and data.periods[0].number.endswith("/K1")


def test_issuing_again_replaces_a_draft_and_a_published_year_gets_a_new_version(cluster, coordinator, year_cluster, django_capture_on_commit_callbacks):
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    assert set(AnnualStatement.objects.values_list("version", flat=True)) == {1}
    assert annual_statements_publish(cluster=cluster, year=2025, user=coordinator) == 3
    with django_capture_on_commit_callbacks(execute=True):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    assert AnnualStatement.objects.filter(version=1, status=Statement.Status.PUBLISHED).count() == 3
    assert AnnualStatement.objects.filter(version=2, status=Statement.Status.READY).count() == 3


def test_members_see_and_download_only_their_own_annual_statements(cluster, coordinator, client, year_cluster, django_capture_on_commit_callbacks):
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    gmina, zielone = (AnnualStatement.objects.get(member__ref=ref) for ref in ("gmina", "zielone"))
    member = gmina.member
    member.user = coordinator.__class__.objects.create_user("gmina-user", password="x")
    member.save()
    _consents_confirmed(member.user)
    client.force_login(member.user)
    own = reverse("portal:annual-download", args=[gmina.pk])
    assert client.get(own).status_code == 404  # not published yet
    annual_statements_publish(cluster=cluster, year=2025, user=coordinator)
    home = client.get(reverse("portal:home")).content.decode()
    assert gmina.number in home and zielone.number not in home
    response = client.get(own)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert gmina.downloads.count() == 1
    assert client.get(reverse("portal:annual-download", args=[zielone.pk])).status_code == 404
    # staff of the cluster (no member record) and anonymous visitors get no member's statement
    client.force_login(coordinator)
    assert client.get(own).status_code == 404
    client.logout()
    assert client.get(own).status_code == 302 and gmina.downloads.count() == 1
    client.force_login(member.user)
    # a member is never let onto the coordinator's pages
    assert client.get(reverse("reports:annual-year", args=[cluster.slug, 2025])).status_code in (302, 403, 404)


def test_other_clusters_staff_cannot_reach_the_annual_pages(cluster, coordinator, outsider, client, year_cluster, django_capture_on_commit_callbacks):
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        annual_statements_issue(cluster=cluster, year=2025, user=coordinator)
    statement = AnnualStatement.objects.first()
    client.force_login(outsider)
    assert client.get(reverse("reports:annual-year", args=[cluster.slug, 2025])).status_code in (403, 404)
    assert client.get(reverse("reports:annual-download", args=[cluster.slug, statement.pk])).status_code in (403, 404)
    assert client.post(reverse("reports:annual-issue", args=[cluster.slug, 2025])).status_code in (403, 404)
    assert client.post(reverse("reports:annual-publish", args=[cluster.slug, 2025])).status_code in (403, 404)
    assert statement.downloads.count() == 0


def test_the_coordinator_issues_and_publishes_through_the_page(cluster, coordinator, client, year_cluster, django_capture_on_commit_callbacks):
    _yearly_rule()
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    client.force_login(coordinator)
    url = reverse("reports:annual-year", args=[cluster.slug, 2025])
    page = client.get(url).content.decode()
    assert "najpierw rozlicz cały rok 2025" in page and 'id="btn-annual-issue"' not in page
    _settle(cluster, YEAR, django_capture_on_commit_callbacks, period_kind="year", override_completeness=True)
    page = client.get(url).content.decode()
    assert 'id="btn-annual-issue"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:annual-issue", args=[cluster.slug, 2025]))
    page = client.get(url).content.decode()
    assert 'id="annual-correction-total"' in page and "-6 971,52" in page.replace("\xa0", " ")
    client.post(reverse("reports:annual-publish", args=[cluster.slug, 2025]))
    assert AnnualStatement.objects.filter(status=Statement.Status.PUBLISHED).count() == 3


def test_a_year_that_has_not_ended_is_refused(cluster, coordinator, year_cluster):
    from django.utils import timezone

    this_year = timezone.localdate().year
    with pytest.raises(ValidationError, match=f"Rok {this_year} jeszcze się nie zakończył"):
        annual_statements_issue(cluster=cluster, year=this_year, user=coordinator)


def test_each_run_s_snapshot_is_decoded_once_whatever_its_members(cluster, coordinator, year_cluster, monkeypatch, django_capture_on_commit_callbacks):
    import reports.statements.annual as annual
    from reports.statements.annual import annual_figures

    _yearly_rule()
    _months(cluster, coordinator, django_capture_on_commit_callbacks)
    _settle(cluster, YEAR, django_capture_on_commit_callbacks, period_kind="year", override_completeness=True)
    decoded: list[int] = []
    real = annual.run_snapshot_read
    monkeypatch.setattr(annual, "run_snapshot_read", lambda run: decoded.append(run.pk) or real(run))
    figures = annual_figures(cluster=cluster, year=2025)[2]
    assert len(figures) == 3 and sorted(decoded) == sorted(set(decoded)) and len(decoded) == 3  # January, February, the year
