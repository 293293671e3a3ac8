"""Messages stored by imports, runs and jobs are codes with parameters, shown in the reader's language."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_noop

from members.models import RegistryImport
from members.services.imports import registry_import
from okeportal.jobs import job_cancel, time_limit_message
from okeportal.messages import msg
from reports.metering.imports import reading_import_create
from reports.models import JobStatus, ReadingImport, RunOutdatedReason, SettlementRun
from reports.settlement.outdated import settlements_mark_outdated
from reports.settlement.runs import settlement_fail
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementRunFactory

pytestmark = pytest.mark.django_db

A = "590322400000000017"
# Line 2: no PPE code; line 3: an unknown quality; line 4: a NUL byte (a whole-line error).
BAD_CSV = (
    "ppe_code,start,import_kwh,export_kwh,quality\n"
    ",2026-01-15T00:00+01:00,1.0,0.0,M\n"
    f"{A},2026-01-15T01:00+01:00,1.0,0.0,X\n"
    f"{A},2026-01-15T02:00+01:00,1.0\x00,0.0,M\n"
)


def _english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _polish(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"


@pytest.fixture
def ppe(cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=A)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    return ppe


@pytest.fixture
def failed_import(cluster, ppe, django_capture_on_commit_callbacks) -> ReadingImport:
    with django_capture_on_commit_callbacks(execute=True):
        created = reading_import_create(cluster=cluster, file=ContentFile(BAD_CSV.encode()), name="dane.csv",
                                        format="generic")
    imp = ReadingImport.objects.get(pk=created.pk)
    assert imp.status == JobStatus.FAILED
    return imp


def test_an_import_stores_codes_with_parameters_not_text(failed_import):
    first = next(e for e in failed_import.errors if e["line"] == 2)
    assert first == {"line": 2, "msg": "Brak kodu PPE.", "params": {"field_label": "ppe_code"}}
    assert {"msg", "params", "plural", "count"} <= failed_import.message_data.keys()
    assert failed_import.message_data["params"] == {"n": 3}
    assert failed_import.message == "Plik odrzucony: 3 błędy, nic nie zapisano."  # the Polish copy (admin, search)


def test_an_import_with_errors_reads_in_english_on_english_pages_and_in_polish_on_polish_ones(
    client, coordinator, cluster, failed_import
):
    client.force_login(coordinator)
    url = reverse("reports:import-detail", args=[cluster.slug, failed_import.pk])
    _english(client)
    english = client.get(url).content.decode()
    assert "File rejected: 3 errors, nothing was saved." in english
    assert "Missing PPE code." in english and "Unknown quality “X”" in english
    assert "Brak kodu PPE" not in english and "Nieznana jakość" not in english
    assert ">row<" in english  # the field of a whole-line error is a word, translated too
    _polish(client)
    polish = client.get(url).content.decode()
    assert "Plik odrzucony: 3 błędy, nic nie zapisano." in polish
    assert "Brak kodu PPE." in polish and "Nieznana jakość „X”" in polish and ">wiersz<" in polish
    assert "Missing PPE code" not in polish


def test_the_progress_endpoint_and_the_error_export_follow_the_readers_language(
    client, coordinator, cluster, failed_import
):
    client.force_login(coordinator)
    _english(client)
    progress = client.get(reverse("reports:import-progress", args=[cluster.slug, failed_import.pk])).json()
    assert progress["message"] == "File rejected: 3 errors, nothing was saved."
    exported = client.get(reverse("reports:import-errors-export", args=[cluster.slug, failed_import.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content if exported.streaming else [exported.content])
                                       .decode("utf-8-sig")), delimiter=";"))
    assert ["2", "ppe_code", "Missing PPE code."] in rows
    _polish(client)
    exported = client.get(reverse("reports:import-errors-export", args=[cluster.slug, failed_import.pk, "csv"]))
    text = b"".join(exported.streaming_content if exported.streaming else [exported.content]).decode("utf-8-sig")
    assert "Brak kodu PPE." in text and "Missing PPE code." not in text


def test_the_import_command_prints_the_errors_in_the_active_language(cluster, ppe, tmp_path):
    path = tmp_path / "dane.csv"
    path.write_text(BAD_CSV)
    with translation.override("en"), pytest.raises(CommandError) as failure:
        call_command("import_readings", cluster.slug, str(path), stdout=io.StringIO())
    assert "File rejected: 3 errors" in str(failure.value) and "Missing PPE code." in str(failure.value)


def test_a_failed_runs_error_reads_in_the_readers_language(client, coordinator, cluster):
    run = SettlementRunFactory(cluster=cluster, running=True)
    settlement_fail(run_id=run.pk, reason=time_limit_message(1800))
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error_data == {"msg": "Przerwano: przekroczono limit czasu (%(seconds)d s).", "params": {"seconds": 1800}}
    client.force_login(coordinator)
    url = reverse("reports:settlement-detail", args=[cluster.slug, run.pk])
    _english(client)
    assert "Aborted: time limit exceeded (1800 s)." in client.get(url).content.decode()
    progress = client.get(reverse("reports:settlement-progress", args=[cluster.slug, run.pk])).json()
    assert progress["error"] == progress["message"] == "Aborted: time limit exceeded (1800 s)."
    _polish(client)
    page = client.get(url).content.decode()
    assert "Przerwano: przekroczono limit czasu (1800 s)." in page and "Aborted" not in page


def test_a_job_cancelled_by_a_person_keeps_the_name_as_a_parameter(cluster, coordinator):
    run = SettlementRunFactory(cluster=cluster, queued=True)
    job_cancel(job=run, user=coordinator)
    run.refresh_from_db()
    assert run.message_data == {"msg": "Anulowano przez %(user)s.", "params": {"user": coordinator.get_username()}}
    with translation.override("pl"):
        assert run.message_text == f"Anulowano przez {coordinator.get_username()}."


def test_older_rows_with_plain_text_still_show_it(client, coordinator, cluster):
    imp = ReadingImport(
        cluster=cluster, original_name="stary.csv", status=JobStatus.FAILED, message="Plik odrzucony: 1 błędów.",
        errors=[{"line": 7, "field": "start", "message": "Stary opis błędu."}],
    )
    imp.file.save("stary.csv", ContentFile(b"x"), save=False)
    imp.save()
    run = SettlementRunFactory(cluster=cluster, failed=True)
    client.force_login(coordinator)
    _english(client)
    page = client.get(reverse("reports:import-detail", args=[cluster.slug, imp.pk])).content.decode()
    assert "Plik odrzucony: 1 błędów." in page and "Stary opis błędu." in page and ">start<" in page
    run_page = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert escape(run.error) in run_page


def test_a_registry_import_error_reads_in_the_readers_language(client, coordinator, cluster, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("ref,name,legal_form,bogus\nM1,Jan Kowalski,person,x\n")
    report = registry_import(cluster=cluster, source=path, user=coordinator)
    entry = RegistryImport.objects.get(pk=report.registry_import_id)
    stored = next(e for e in entry.errors if e["column"] == "bogus")
    assert stored["msg"] == "nieznana kolumna; dozwolone: %(c)s." and "message" not in stored
    assert entry.message_data["msg"] == "Odrzucono (błędy: %(n)s); niczego nie zapisano."
    client.force_login(coordinator)
    url = reverse("members:registry-import-detail", args=[cluster.slug, entry.pk])
    _english(client)
    english = client.get(url).content.decode()
    assert "unknown column; allowed:" in english and "Rejected (errors:" in english
    _polish(client)
    polish = client.get(url).content.decode()
    assert "nieznana kolumna; dozwolone:" in polish and "Odrzucono (błędy:" in polish


def test_an_outdated_reason_reads_in_the_readers_language_with_its_dates_in_the_readers_format(cluster):
    run = SettlementRun.objects.create(cluster=cluster, period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 31),
                                       status=JobStatus.DONE)
    detail = msg(gettext_noop("plik %(name)s: %(p)d PPE, %(first)s – %(last)s"), name="marzec.csv", p=2,
                 first=dt.date(2025, 3, 1), last=dt.date(2025, 3, 31))
    settlements_mark_outdated(cluster_id=cluster.pk, start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31),
                              code="meter_data", detail=detail)
    reason = RunOutdatedReason.objects.get(run=run)
    assert reason.detail == "plik marzec.csv: 2 PPE, 01.03.2025 – 31.03.2025"
    with translation.override("en"):
        assert reason.detail_text == "file marzec.csv: 2 metering points, 2025-03-01 – 2025-03-31"
    with translation.override("pl"):
        assert reason.detail_text == "plik marzec.csv: 2 PPE, 01.03.2025 – 31.03.2025"
    assert SettlementRun.objects.get(pk=run.pk).outdated_reasons.count() == 1
