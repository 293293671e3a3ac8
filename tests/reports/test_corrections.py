"""Corrections end to end: publish, change meter data, recompute, publish: original and correction side by side."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from reports.models import JobStatus, Statement
from reports.settlement import settlement_request
from reports.statements.services import statements_generate, statements_publish
from tests.conftest import _consents_confirmed
from tests.factories import StorageUnitFactory
from tests.reports.test_pdf import pdf_text
from tests.reports.test_settlement_service import END, START, seventy, store  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _eligible(seventy) -> None:  # noqa: F811
    """Storage of 5 % of the PV's 20 MW: the cluster meets the statutory conditions, so its runs are published."""
    StorageUnitFactory(ppe=seventy["ppes"][2], power_kw=Decimal("1000"), capacity_kwh=Decimal("2000"))


def _settle_and_publish(cluster, coordinator, capture) -> list[Statement]:
    with capture(execute=True):
        run = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE, run.error
    with capture(execute=True):
        statements_generate(run=run, user=coordinator)
    with capture(execute=True):
        statements_publish(run=run, user=coordinator)
    return list(run.statements.select_related("line", "corrects__line").order_by("member__ref"))


def _zl(text: str, label: str) -> list[str]:
    return re.findall(label + r"\s+([-\d  ]+,\d\d) zł\s+([-\d  ]+,\d\d) zł\s+([-\d  ]+,\d\d) zł", text)


def test_a_recomputed_published_period_issues_corrections(cluster, coordinator, seventy, client, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    first = _settle_and_publish(cluster, coordinator, django_capture_on_commit_callbacks)
    # Corrected meter data: the PV plant fed in less in the first 140 hours.
    hours = seventy["hours"]
    pv = seventy["ppes"][2]
    fed = np.zeros(len(hours), dtype=np.int64)
    fed[:140] = 4_000_000
    fed[200:228] = 10_000_000
    store(pv, hours, np.zeros(len(hours), dtype=np.int64), fed)
    second = _settle_and_publish(cluster, coordinator, django_capture_on_commit_callbacks)

    by_ref = {s.member.ref: s for s in first}
    for new in second:
        old = by_ref[new.member.ref]
        assert new.corrects == old and new.number == f"{old.number}/K1"
        old.refresh_from_db()
        assert old.status == Statement.Status.PUBLISHED and old.file  # the original stays as it was
    gmina = next(s for s in second if s.member.ref == "gmina")
    difference = gmina.line.total - gmina.corrects.line.total
    assert difference != 0

    text = " ".join(pdf_text(gmina.file.read()).replace("\xa0", " ").split())
    assert "Korekta zestawienia korzyści" in text and gmina.corrects.number in text
    from okeportal.formatting import zl

    def amount(value) -> str:
        return zl(value).replace("\xa0", " ")

    # Was, is, difference in one row, to the grosz.
    assert f"Korzyść razem {amount(gmina.corrects.line.total)} {amount(gmina.line.total)} {amount(difference)}" in text
    assert "Powód korekty" in text

    # The member sees the original and the correction.
    gmina.member.user = coordinator.__class__.objects.create_user("gmina", password="x")
    gmina.member.save()
    _consents_confirmed(gmina.member.user)  # past the first-login consent step
    client.force_login(gmina.member.user)
    page = client.get("/portal/").content.decode()
    assert gmina.number in page and gmina.corrects.number in page and "koryguje nr" in page


def test_publishing_refuses_corrections_prepared_against_an_older_publication(cluster, coordinator, seventy, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    from reports.statements.services import statements_prepare

    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        v1 = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    with capture(execute=True):
        v2 = settlement_request(cluster=cluster, period_start=START, period_end=END, period_kind="custom")
    v1.refresh_from_db()
    v2.refresh_from_db()
    with capture(execute=True):
        statements_generate(run=v2, user=coordinator)  # prepared before v1 was published: originals
    with capture(execute=True):
        statements_generate(run=v1, user=coordinator)
    with capture(execute=True):
        statements_publish(run=v1, user=coordinator)
    with pytest.raises(ValidationError, match="wygeneruj je ponownie"):
        statements_publish(run=v2, user=coordinator)
    assert not v2.statements.filter(status=Statement.Status.PUBLISHED).exists()
    assert statements_prepare(run=v2) == 0


def test_an_original_has_no_correction_block(cluster, coordinator, seventy, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    statements = _settle_and_publish(cluster, coordinator, django_capture_on_commit_callbacks)
    assert all(s.corrects is None and "/K" not in s.number for s in statements)
    assert "Korekta" not in pdf_text(statements[0].file.read())
    assert Decimal(0) < statements[0].line.total
