from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from reports.metering.imports import reading_import_create
from reports.metering.store import hourly_matrix
from reports.models import JobStatus, MeterDay, ReadingImport
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory

DATA = Path(__file__).parent / "data"
UTC = dt.UTC
A, B = "590322400000000010", "590322400000000027"


@pytest.fixture
def ppe_a(cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=A)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    return ppe


@pytest.fixture
def ppe_b(cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=B)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    return ppe


@pytest.fixture
def run_import(cluster, django_capture_on_commit_callbacks):
    def run(content: bytes | str, *, name: str = "dane.csv", format: str = "generic", ppe=None) -> ReadingImport:
        if isinstance(content, str):
            content = content.encode()
        with django_capture_on_commit_callbacks(execute=True):
            created = reading_import_create(cluster=cluster, file=ContentFile(content), name=name, format=format, ppe=ppe)
        return ReadingImport.objects.get(id=created.id)

    return run


def hours(ppe, start: dt.datetime, n: int):
    return hourly_matrix(ppe_ids=[ppe.id], start_utc=start, end_utc=start + dt.timedelta(hours=n))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def messages(result: ReadingImport) -> list[tuple]:
    return [(e["line"], e["field"], e["message"]) for e in result.error_rows]


def test_it_imports_a_generic_hourly_file_for_two_ppes(run_import, ppe_a, ppe_b):
    result = run_import((DATA / "generic_hourly.csv").read_bytes())
    assert result.status == JobStatus.DONE, result.errors
    assert result.progress == 100
    assert result.summary["readings"] == 48 and result.summary["resolution_min"] == [60]
    a = hours(ppe_a, utc(2025, 12, 31, 23), 24)
    assert a.present.all()
    assert a.import_wh[0, :3].tolist() == [500, 600, 700]
    assert a.export_wh[0, 10:16].tolist() == [250] * 5 + [0]
    assert hours(ppe_b, utc(2025, 12, 31, 23), 24).import_wh[0, 0] == 1000


def test_it_imports_quarter_hours_with_semicolons_decimal_commas_and_mixed_offsets(run_import, ppe_a):
    result = run_import((DATA / "generic_15min_semicolon.csv").read_bytes())
    assert result.status == JobStatus.DONE, result.errors
    assert result.summary["resolution_min"] == [15]
    assert set(MeterDay.objects.filter(ppe=ppe_a).values_list("resolution_min", flat=True)) == {15}
    data = hours(ppe_a, utc(2025, 12, 31, 23), 2)
    # 0,125+0,126+0,127+0,128 kWh; export 0,0005 kWh rounds half-up to 1 Wh per quarter
    assert data.import_wh[0].tolist() == [506, 522]
    assert data.export_wh[0].tolist() == [4, 4]


def test_it_reimports_the_same_file_without_duplicates(run_import, ppe_a, ppe_b):
    content = (DATA / "generic_hourly.csv").read_bytes()
    run_import(content)
    before = sorted((r.ppe_id, r.day, bytes(r.import_wh), bytes(r.quality)) for r in MeterDay.objects.all())
    assert run_import(content).status == JobStatus.DONE
    after = sorted((r.ppe_id, r.day, bytes(r.import_wh), bytes(r.quality)) for r in MeterDay.objects.all())
    assert before == after and MeterDay.objects.count() == 4


def test_it_replaces_intervals_when_values_change(run_import, ppe_a):
    run_import(f"ppe_code,start,import_kwh,export_kwh\n{A},2026-02-01T10:00:00+01:00,1.000,0\n")
    run_import(f"ppe_code,start,import_kwh,export_kwh\n{A},2026-02-01T10:00:00+01:00,2.000,0\n")
    assert hours(ppe_a, utc(2026, 2, 1, 9), 1).import_wh[0, 0] == 2000


def test_it_rejects_the_whole_file_and_names_line_and_field_for_each_error(run_import, ppe_a):
    content = "\n".join([
        "ppe_code,start,import_kwh,export_kwh",
        f"{A},2026-01-01T00:00:00+01:00,1.0,0",
        f"{A},2026-01-01T01:00:00+01:00,abc,0",
        f"{A},2026-01-01T02:00:00+01:00,1.0,-0.5",
        f"{A},2026-01-01T03:00:00,1.0,0",
        f"{A},2026-01-01T04:10:00+01:00,1.0,0",
        f"{A},2026-01-0x,1.0,0",
    ]) + "\n"
    result = run_import(content)
    assert result.status == JobStatus.FAILED
    errors = messages(result)
    assert [(line, field) for line, field, _ in errors] == [
        (5, "start"), (6, "start"), (7, "start"), (3, "import_kwh"), (4, "export_kwh"),
    ]
    assert "przesunięcia względem UTC" in errors[0][2]
    assert "kwadransie" in errors[1][2]
    assert "ujemna" in errors[4][2]
    assert MeterDay.objects.count() == 0


def test_it_rejects_a_duplicate_interval_naming_both_lines(run_import, ppe_a):
    content = (
        "ppe_code,start,import_kwh,export_kwh\n"
        f"{A},2026-01-01T00:00:00+01:00,1.0,0\n"
        f"{A},2026-01-01T01:00:00+01:00,1.0,0\n"
        f"{A},2025-12-31T23:00:00Z,2.0,0\n"
    )
    result = run_import(content)
    [(line, field, message)] = messages(result)
    assert (line, field) == (4, "start") and "wierszu 2" in message
    assert MeterDay.objects.count() == 0


def test_it_rejects_unknown_ppes_and_ppes_of_another_cluster_alike_and_saves_nothing(run_import, ppe_a, other_cluster):
    MeteringPointFactory(cluster=other_cluster, code=B)
    unknown = "590322400000000034"
    content = (
        "ppe_code,start,import_kwh,export_kwh\n"
        f"{A},2026-01-01T00:00:00+01:00,1.0,0\n"
        f"{B},2026-01-01T00:00:00+01:00,1.0,0\n"
        f"{unknown},2026-01-01T00:00:00+01:00,1.0,0\n"
    )
    result = run_import(content)
    assert result.status == JobStatus.FAILED
    errors = messages(result)
    assert [(line, field) for line, field, _ in errors] == [(3, "ppe_code"), (4, "ppe_code")]
    # a code of another cluster reads exactly like an unknown one: the import never reveals other registries
    assert errors[0][2] == errors[1][2].replace("590322400000000034", B) and "Nieznany PPE" in errors[1][2]
    assert other_cluster.name not in errors[0][2]
    assert MeterDay.objects.count() == 0


def test_it_rejects_a_file_without_the_required_header(run_import, ppe_a):
    result = run_import(f"ppe,start,import,export\n{A},2026-01-01T00:00:00+01:00,1.0,0\n")
    [(line, field, message)] = messages(result)
    assert line == 1 and "ppe_code" in message and "import_kwh" in message


def test_it_stores_and_reports_readings_outside_membership(run_import, cluster):
    ppe = MeteringPointFactory(cluster=cluster, code=A)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2026, 1, 2))
    content = "ppe_code,start,import_kwh,export_kwh\n" + "".join(
        f"{A},{(dt.datetime(2025, 12, 31, 22, tzinfo=UTC) + dt.timedelta(hours=h)).isoformat()},1.0,0\n"
        for h in range(4)
    )
    result = run_import(content)
    assert result.status == JobStatus.DONE
    # 22:00 and 23:00 UTC on 31 Dec are 23:00 on 31 Dec and 00:00 on 1 Jan local: before 2 Jan
    assert result.outside_membership == [{
        "ppe": A, "from": "2025-12-31T22:00:00+00:00", "to": "2026-01-01T02:00:00+00:00", "intervals": 4, "line": 2,
    }]
    assert hours(ppe, utc(2025, 12, 31, 22), 4).present.all()


def test_it_imports_the_long_tauron_layout_in_cp1250_on_the_march_dst_day(run_import, ppe_a):
    result = run_import((DATA / "tauron_long_march.csv").read_bytes(), format="tauron", ppe=ppe_a)
    assert result.status == JobStatus.DONE, result.errors
    # 23 hours; the "pobrana po zbilansowaniu" rows of the same hours go into the balanced series
    assert result.summary["readings"] == 23 and result.summary["balanced_readings"] == 23
    data = hours(ppe_a, utc(2026, 3, 28, 23), 23)
    assert data.present.all()
    # 1:00 → 23:00 UTC, 2:00 → 00:00 UTC, 4:00 (03:00–04:00 CEST) → 01:00 UTC
    assert data.import_wh[0, :4].tolist() == [100, 200, 400, 500]
    assert data.export_wh[0].tolist() == [50] * 23
    balanced = hourly_matrix(ppe_ids=[ppe_a.id], start_utc=utc(2026, 3, 28, 23), end_utc=utc(2026, 3, 29, 22),
                             balanced={0: np.ones(23, dtype=bool)})
    assert balanced.import_wh[0].tolist() == [9999] * 23
    # the file has no "oddana po zbilansowaniu" rows: that direction was never imported, so the hours are incomplete
    assert balanced.import_present.all() and not balanced.export_present.any() and not balanced.present.any()


def test_it_refuses_the_label_3_00_on_the_march_dst_day(run_import, ppe_a):
    content = " Data; Wartość kWh; Rodzaj\n2026-03-29 2:00; 0,1; pobór\n2026-03-29 3:00; 0,1; pobór\n"
    result = run_import(content, format="tauron", ppe=ppe_a)
    [(line, field, message)] = messages(result)
    assert (line, field) == (3, "Data") and "02:00–03:00" in message and "nie ma" in message


def test_it_reads_the_repeated_october_hour_as_cest_then_cet(run_import, ppe_a):
    result = run_import((DATA / "tauron_zone_october.csv").read_bytes(), format="tauron", ppe=ppe_a)
    assert result.status == JobStatus.DONE, result.errors
    assert result.summary["readings"] == 25
    data = hours(ppe_a, utc(2026, 10, 24, 22), 25)  # 00:00 CEST … 24:00 CET
    assert data.present.all()
    assert data.import_wh[0].tolist() == [10 * (i + 1) for i in range(25)]


def test_it_refuses_a_single_ambiguous_october_hour(run_import, ppe_a):
    content = "Data; Strefa; Wartość kWh;Rodzaj;\n2026-10-25 3:00;T2;0,1;pobór;\n"
    result = run_import(content, format="tauron", ppe=ppe_a)
    [(line, field, message)] = messages(result)
    assert (line, field) == (2, "Data") and "dwa razy" in message


def test_it_imports_the_2026_layout_with_an_excel_serial_date(run_import, ppe_a):
    result = run_import((DATA / "tauron_2026.csv").read_bytes(), format="tauron", ppe=ppe_a)
    assert result.status == JobStatus.DONE, result.errors
    data = hours(ppe_a, utc(2026, 6, 6, 22), 24)  # local 7 June, CEST
    assert data.present.all() and data.import_wh.sum() == 24_000
    assert data.export_wh[0, 8:15].tolist() == [2500] * 7


def test_it_imports_the_wide_layout_taking_the_ppe_from_the_file_name(run_import, ppe_a):
    result = run_import((DATA / "tauron_wide.csv").read_bytes(), format="tauron", name=f"eLicznik_{A}_2026-01.csv")
    assert result.status == JobStatus.DONE, result.errors
    assert result.ppe is None and result.summary["ppes"] == 1
    data = hours(ppe_a, utc(2026, 1, 14, 23), 24)
    assert data.import_wh[0, :2].tolist() == [310, 320] and data.present.all()


def test_it_asks_for_the_ppe_when_an_elicznik_file_has_none(run_import, ppe_a):
    result = run_import((DATA / "tauron_wide.csv").read_bytes(), format="tauron", name="eksport.csv")
    [(line, field, message)] = messages(result)
    assert (line, field) == (None, "PPE") and "nie zawiera kodu PPE" in message


def test_it_reports_tauron_bad_numbers_negative_values_and_unknown_types(run_import, ppe_a):
    content = (
        "Data; Wartość kWh; Rodzaj\n"
        "2026-01-10 1:00; 0,1x; pobór\n"
        "2026-01-10 2:00; -0,1; pobór\n"
        "2026-01-10 3:00; 0,1; bierna\n"
        "2026-01-10 4:00; 0,1; pobór\n"
        "2026-01-10 4:00; 0,1; pobór\n"
    )
    errors = messages(run_import(content, format="tauron", ppe=ppe_a))
    assert [(line, field) for line, field, _ in errors] == [
        (2, "Wartość kWh"), (3, "Wartość kWh"), (4, "Rodzaj"), (6, "Data"),
    ]
    assert "ujemna" in errors[1][2] and "wierszu 5" in errors[3][2]
    assert MeterDay.objects.count() == 0


def test_it_keeps_earlier_data_when_a_later_file_fails(run_import, ppe_a, ppe_b):
    run_import((DATA / "generic_hourly.csv").read_bytes())
    before = sorted(bytes(r.import_wh) for r in MeterDay.objects.all())
    bad = (DATA / "generic_hourly.csv").read_text().replace("0.700", "0,7,0", 1)
    assert run_import(bad).status == JobStatus.FAILED
    assert sorted(bytes(r.import_wh) for r in MeterDay.objects.all()) == before


def test_it_runs_the_command_and_exits_non_zero_listing_errors(cluster, ppe_a, capsys, tmp_path):
    call_command("import_readings", cluster.slug, str(DATA / "tauron_wide.csv"), "--format", "tauron", "--ppe", A)
    out = capsys.readouterr().out
    assert "100 %" in out and "Zapisano 24 odczyty" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(f"ppe_code,start,import_kwh,export_kwh\n{A},2026-01-01T00:00:00,1,0\n{A},x,-1,0\n")
    with pytest.raises(CommandError) as failure:
        call_command("import_readings", cluster.slug, str(bad))
    text = str(failure.value)
    assert "wiersz 2, start" in text and "wiersz 3, start" in text and "wiersz 3, import_kwh" in text


def test_it_does_not_run_an_import_twice(run_import, ppe_a):
    from reports.metering.tasks import reading_import_task

    result = run_import((DATA / "tauron_wide.csv").read_bytes(), format="tauron", ppe=ppe_a)
    assert result.status == JobStatus.DONE
    MeterDay.objects.all().delete()
    finished = result.finished_at
    reading_import_task(result.id)
    result.refresh_from_db()
    assert result.finished_at == finished and MeterDay.objects.count() == 0


def test_it_marks_the_import_failed_when_something_unexpected_breaks(run_import, ppe_a, monkeypatch):
    from reports.metering import imports as readings_import

    def broken(*args, **kwargs):
        raise RuntimeError("dysk pełny")

    monkeypatch.setattr(readings_import, "meter_blocks_upsert", broken)
    result = run_import((DATA / "tauron_wide.csv").read_bytes(), format="tauron", ppe=ppe_a)
    assert result.status == JobStatus.FAILED and "dysk pełny" in result.message


def test_the_fast_csv_path_reads_plain_files_exactly_like_the_careful_path(monkeypatch):
    import io

    import numpy as np

    from reports.metering.parsers import generic

    content = (
        "ppe_code;start;import_kwh;export_kwh\r\n"
        f"{B};2026-01-01T01:00:00+01:00;1,0005;0\r\n"
        f"{A};2026-01-01T00:00+0100;12345,678901;0,5\r\n"
        "\r\n"
        f"{A};2025-12-31T23:15:00Z;0;7\r\n"
        f"{A};2026-01-01 01:30+01:00;3,25;24999,5"
    ).encode()
    names = ["ppe_code", "start", "import_kwh", "export_kwh"]
    assert generic.read_fast(content, data_at=content.index(b"\n") + 1, sep=";", names=names, decimal=",")
    fast = generic.parse_generic(io.BytesIO(content))
    monkeypatch.setattr(generic, "read_fast", lambda *args, **kwargs: None)
    careful = generic.parse_generic(io.BytesIO(content))
    assert not fast.errors and fast.rows == careful.rows == 4
    fast_series = sorted(fast.series, key=lambda s: s.ppe_code != B)
    assert [(s.ppe_code, s.resolution_min) for s in fast_series] == [(B, 60), (A, 15)]
    for a, b in zip(fast_series, sorted(careful.series, key=lambda s: s.ppe_code != B), strict=True):
        for name in ("starts", "import_wh", "export_wh", "quality", "lines"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert fast_series[1].lines.tolist() == [3, 5, 6]
    assert fast_series[0].import_wh.tolist() == [1001]


def test_the_fast_csv_path_leaves_bad_lines_to_the_careful_path(run_import, ppe_a):
    content = f"ppe_code;start;import_kwh;export_kwh\n{A};2026-01-01T00:00:00+01:00;1,5;0\n{A};2026-01-01T01:00:00+01:00;-1;0\n"
    [(line, field, message)] = messages(run_import(content))
    assert (line, field) == (3, "import_kwh") and "ujemna" in message


def test_an_error_in_a_later_chunk_rolls_back_the_chunks_already_written(run_import, ppe_a, ppe_b, monkeypatch):
    from reports.metering import imports as readings_import
    from reports.metering.parsers import ParseResult, RowError

    real = readings_import._parse_chunks

    def two_chunks(reading_import, handle, on_progress):
        yield from real(reading_import, handle, on_progress)  # written inside the transaction
        assert MeterDay.objects.count() == 4
        bad = ParseResult(rows=1)
        for line in range(2000, 3500):
            bad.add(RowError(line, "import_kwh", "zła liczba"))
        yield bad

    monkeypatch.setattr(readings_import, "_parse_chunks", two_chunks)
    result = run_import((DATA / "generic_hourly.csv").read_bytes())
    assert result.status == JobStatus.FAILED and MeterDay.objects.count() == 0
    assert len(result.errors) == 1000 and result.summary["error_count"] == 1500
    assert result.errors[0]["line"] == 2000 and "1500" in result.message


def test_it_reads_the_upload_as_a_stream_not_whole(run_import, ppe_a, ppe_b, monkeypatch):
    from reports.metering import imports as readings_import

    seen = []
    real = readings_import._parse_chunks

    def spy(reading_import, handle, on_progress):
        seen.append(isinstance(handle, (bytes, bytearray)))
        yield from real(reading_import, handle, on_progress)

    monkeypatch.setattr(readings_import, "_parse_chunks", spy)
    assert run_import((DATA / "generic_hourly.csv").read_bytes()).status == JobStatus.DONE
    assert seen == [False]


def test_a_successful_import_invalidates_the_cluster_status(run_import, ppe_a, ppe_b, cluster, monkeypatch):
    from reports.metering import imports as readings_import

    calls = []
    monkeypatch.setattr(readings_import, "conditions_invalidate", lambda *, cluster_ids: calls.append(list(cluster_ids)))
    assert run_import((DATA / "generic_hourly.csv").read_bytes()).status == JobStatus.DONE
    assert calls == [[cluster.id]]
    bad = (DATA / "generic_hourly.csv").read_text().replace("0.700", "x", 1)
    assert run_import(bad).status == JobStatus.FAILED and calls == [[cluster.id]]
