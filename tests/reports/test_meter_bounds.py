"""Bounded meter data: values a sum cannot wrap, periods checked before anything is allocated,
codes resolved in the import's own cluster, a completeness page that takes any ``month``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from reports.metering.imports import MEMBERSHIP_MARGIN_DAYS, reading_import_create
from reports.metering.parsers.common import max_file_days, max_wh_per_reading
from reports.metering.store import (
    Block,
    MeterStoreError,
    hourly_matrix,
    max_block_days,
    meter_blocks_upsert,
    meter_days_upsert,
)
from reports.models import JobStatus, MeterDay, Quality, ReadingImport
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory

UTC = dt.UTC
A = "590322400000000010"
HEADER = "ppe_code,start,import_kwh,export_kwh\n"
M = Quality.MEASURED


def _member_ppe(cluster, code: str = A, valid_from: dt.date = dt.date(2024, 1, 1), valid_to: dt.date | None = None):
    ppe = MeteringPointFactory(cluster=cluster, code=code)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=valid_from, valid_to=valid_to)
    return ppe


def _run(cluster, content: str, django_capture_on_commit_callbacks) -> ReadingImport:
    with django_capture_on_commit_callbacks(execute=True):
        created = reading_import_create(cluster=cluster, file=ContentFile(content.encode()), name="dane.csv",
                                        format="generic")
    return ReadingImport.objects.get(id=created.id)


@pytest.fixture
def run_import(cluster, django_capture_on_commit_callbacks):
    return lambda content, target=None: _run(target or cluster, content, django_capture_on_commit_callbacks)


@pytest.mark.parametrize("value", [10**18, max_wh_per_reading(60) + 1, -1])
def test_it_refuses_a_value_above_the_reading_limit_or_negative_from_any_path(cluster, value):
    ppe = _member_ppe(cluster)
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    imp = np.array([1, value, 3], dtype=np.int64)
    with pytest.raises(MeterStoreError, match="poza zakresem"):
        meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=imp, export_wh=np.zeros(3),
                          quality=np.full(3, M))
    with pytest.raises(MeterStoreError, match="A−"):
        meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=np.zeros(3), export_wh=imp,
                          quality=np.full(3, M))
    assert MeterDay.objects.count() == 0


def test_it_accepts_the_limit_itself_and_a_year_at_the_limit_sums_without_wrapping(cluster):
    ppe = _member_ppe(cluster)
    limit = max_wh_per_reading(60)
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    hours = 366 * 24
    meter_days_upsert(ppe_id=ppe.id, start_utc=start, resolution_min=60, import_wh=np.full(hours, limit),
                      export_wh=np.full(hours, limit), quality=np.full(hours, M))
    data = hourly_matrix(ppe_ids=[ppe.id], start_utc=start, end_utc=start + dt.timedelta(hours=hours))
    assert int(data.import_wh.sum()) == limit * hours
    # a year of 100,000 PPEs at the limit still fits int64, so no sum in the engine can wrap
    assert limit * hours * 100_000 < 2**63


def test_a_10_to_the_15_kwh_reading_fails_the_import_naming_the_line(run_import, cluster):
    _member_ppe(cluster)
    result = run_import(HEADER + f"{A},2026-01-01T00:00:00+01:00,1.0,0\n{A},2026-01-01T01:00:00+01:00,1000000000000000,0\n")
    assert result.status == JobStatus.FAILED
    assert MeterDay.objects.count() == 0
    assert [e["line"] for e in result.errors] == [3]


def test_it_refuses_a_block_longer_than_the_period_limit_before_allocating(cluster):
    ppe = _member_ppe(cluster)
    n = (max_block_days() + 1) * 24
    block = Block(ppe.id, dt.datetime(2026, 1, 1, tzinfo=UTC), 60, np.zeros(n, np.int64), np.zeros(n, np.int64),
                  np.full(n, M, np.uint8))
    with pytest.raises(MeterStoreError, match="więcej niż dozwolone"):
        meter_blocks_upsert(blocks=[block])
    assert MeterDay.objects.count() == 0


def test_a_two_line_file_spanning_years_is_refused_naming_the_line(run_import, cluster):
    _member_ppe(cluster, valid_from=dt.date(2000, 1, 1))
    result = run_import(HEADER + f"{A},2020-01-01T00:00:00+01:00,1.0,0\n{A},2099-12-31T23:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.FAILED and MeterDay.objects.count() == 0
    assert [(e["line"], e["field"]) for e in result.error_rows][:1] in ([(2, "start")], [(3, "start")])


def test_it_refuses_readings_more_than_a_month_outside_the_membership(run_import, cluster):
    _member_ppe(cluster, valid_from=dt.date(2026, 3, 1), valid_to=dt.date(2026, 3, 31))
    early = dt.date(2026, 3, 1) - dt.timedelta(days=MEMBERSHIP_MARGIN_DAYS + 1)
    result = run_import(HEADER + f"{A},2026-03-05T00:00:00+01:00,1.0,0\n{A},{early}T00:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.FAILED and MeterDay.objects.count() == 0
    [(line, field, message)] = [(e["line"], e["field"], e["message"]) for e in result.error_rows]
    assert (line, field) == (3, "start") and "poza okresem przynależności" in message and A in message
    late = dt.date(2026, 3, 31) + dt.timedelta(days=MEMBERSHIP_MARGIN_DAYS + 1)
    result = run_import(HEADER + f"{A},{late}T00:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.FAILED and [e["line"] for e in result.errors] == [2]


def test_it_stores_readings_within_the_month_of_margin_and_reports_them(run_import, cluster):
    _member_ppe(cluster, valid_from=dt.date(2026, 3, 1))
    edge = dt.date(2026, 3, 1) - dt.timedelta(days=MEMBERSHIP_MARGIN_DAYS)
    result = run_import(HEADER + f"{A},{edge}T00:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.DONE, result.errors
    assert result.summary["outside_membership_intervals"] == 1 and result.outside_membership[0]["line"] == 2


def test_it_refuses_data_of_a_ppe_that_never_belonged_to_a_member(run_import, cluster):
    MeteringPointFactory(cluster=cluster, code=A)
    result = run_import(HEADER + f"{A},2026-03-05T00:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.FAILED and [e["line"] for e in result.errors] == [2]
    assert "przynależności" in result.error_rows[0]["message"]


def test_it_refuses_a_file_longer_than_the_period_limit_for_one_ppe(run_import, cluster):
    _member_ppe(cluster, valid_from=dt.date(2020, 1, 1))
    last = dt.date(2024, 1, 1) + dt.timedelta(days=max_file_days())
    result = run_import(HEADER + f"{A},2024-01-01T00:00:00+01:00,1.0,0\n{A},{last}T00:00:00+01:00,1.0,0\n")
    assert result.status == JobStatus.FAILED and MeterDay.objects.count() == 0
    assert result.error_rows[0]["field"] == "start" and result.errors[0]["line"] in (2, 3)


def test_an_import_resolves_codes_in_its_own_cluster_only(run_import, cluster, other_cluster):
    mine = _member_ppe(cluster, valid_from=dt.date(2026, 1, 1))
    theirs = MeteringPointFactory(cluster=other_cluster, code=A)
    PPEMembershipFactory(ppe=theirs, member=MemberFactory(cluster=other_cluster), valid_from=dt.date(2024, 1, 1),
                         valid_to=dt.date(2025, 12, 31))
    only_theirs = "590322400000000027"
    MeteringPointFactory(cluster=other_cluster, code=only_theirs)
    result = run_import(HEADER + f"{A},2026-01-05T00:00:00+01:00,1.5,0\n")
    assert result.status == JobStatus.DONE, result.errors
    assert list(MeterDay.objects.values_list("ppe_id", flat=True)) == [mine.id]
    failed = run_import(HEADER + f"{only_theirs},2026-01-05T00:00:00+01:00,1.5,0\n")
    [(line, field, message)] = [(e["line"], e["field"], e["message"]) for e in failed.error_rows]
    assert (line, field) == (2, "ppe_code") and "Nieznany PPE" in message
    assert other_cluster.name not in message and "innego klastra" not in message
    assert MeterDay.objects.count() == 1


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2101-01", "garbage", "2026-1", "2026-03x",
                                   "-0001-01", "2026-00", "\x00"])
def test_the_completeness_page_shows_the_last_ended_month_for_a_month_it_cannot_show(client, coordinator, cluster, month):
    client.force_login(coordinator)
    response = client.get(reverse("reports:completeness", args=[cluster.slug]), {"month": month})
    assert response.status_code == 200
    last_ended = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    assert response.context["month"] == last_ended.replace(day=1)
    assert "Nieprawidłowy miesiąc" in response.content.decode()


@pytest.mark.parametrize("month", ["2000-01", "2100-12"])
def test_the_completeness_page_shows_the_first_and_last_month_it_allows(client, coordinator, cluster, month):
    client.force_login(coordinator)
    response = client.get(reverse("reports:completeness", args=[cluster.slug]), {"month": month})
    assert response.status_code == 200 and f"{response.context['month']:%Y-%m}" == month
    assert "Nieprawidłowy miesiąc" not in response.content.decode()
