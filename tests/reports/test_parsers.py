"""Meter-data parsers on their own (no database): bad input of every kind, bounds, period, resolution, streaming."""

from __future__ import annotations

import io
import tracemalloc
from unittest import mock

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.metering.parsers import collect, max_wh_per_reading, parse_generic, parse_stream, parse_tauron
from reports.metering.parsers.common import MAX_LINE_BYTES

A, B = "590322400000000010", "590322400000000027"
HEADER = "ppe_code,start,import_kwh,export_kwh\n"


def generic(text: str | bytes, **kwargs):
    return parse_generic(io.BytesIO(text.encode() if isinstance(text, str) else text), **kwargs)


def errors(result) -> list[tuple]:
    return [(e.line, e.field) for e in result.errors]


def only_error(result) -> tuple:
    [error] = result.errors
    return error.line, error.field, error.message


def hourly(code: str, day: str = "2026-01-10", hours: range = range(24), value: str = "1") -> str:
    return "".join(f"{code},{day}T{h:02d}:00:00Z,{value},0\n" for h in hours)


def quarters(code: str, day: str = "2026-01-10", n: int = 96, first: int = 0) -> str:
    return "".join(f"{code},{day}T{q // 4:02d}:{q % 4 * 15:02d}:00Z,0.25,0\n" for q in range(first, first + n))


# --- directions never invented


def test_it_flags_export_absent_in_an_elicznik_file_with_only_pobor_rows():
    result = parse_tauron(" Data; Wartość kWh; Rodzaj\n2026-01-10 1:00; 0,5; pobór\n2026-01-10 2:00; 0,25; pobór\n"
                          .encode())
    [series] = result.series
    assert (series.has_import, series.has_export) == (True, False)
    assert series.import_wh.tolist() == [500, 250]


def test_it_flags_import_absent_in_an_elicznik_file_with_only_oddanie_rows():
    result = parse_tauron("Data; Strefa; Wartość kWh;Rodzaj;\n2026-06-10 13:00;T1;1,5;oddanie;\n".encode("cp1250"))
    [series] = result.series
    assert (series.has_import, series.has_export) == (False, True)
    assert series.export_wh.tolist() == [1500]


def test_it_carries_both_directions_of_the_wide_elicznik_layout():
    result = parse_tauron("Data, godzina; Pobór energii [kWh]; Oddanie [kWh]\n2026-01-15 1:00; 0,31; 0\n".encode())
    [series] = result.series
    assert (series.has_import, series.has_export) == (True, True)


@pytest.mark.parametrize(("columns", "flags"), [
    ("ppe_code;start;import_kwh", (True, False)),
    ("ppe_code;start;export_kwh", (False, True)),
    ("ppe_code;start;export_kwh;import_kwh", (True, True)),
])
def test_it_flags_the_energy_column_a_generic_file_does_not_have(columns, flags):
    values = ";".join("1,5" for _ in columns.split(";")[2:])
    result = generic(f"{columns}\n{A};2026-01-10T10:00:00Z;{values}\n{A};2026-01-10T11:00:00Z;{values}\n")
    [series] = result.series
    assert not result.errors and (series.has_import, series.has_export) == flags
    carried = series.import_wh if flags[0] else series.export_wh
    assert carried.tolist() == [1500, 1500]


def test_it_still_requires_ppe_code_start_and_one_energy_column():
    line, field, message = only_error(generic(f"ppe_code,start,quality\n{A},2026-01-10T10:00Z,M\n"))
    assert (line, field) == (1, "nagłówek") and "import_kwh / export_kwh" in message


# --- one resolution per PPE and UTC day


def test_it_refuses_one_quarter_hour_row_in_an_hourly_day_naming_its_line():
    text = HEADER + hourly(A, hours=range(10)) + f"{A},2026-01-10T10:15:00Z,1,0\n" + hourly(A, hours=range(11, 24))
    line, field, message = only_error(generic(text))
    assert (line, field) == (12, "start")
    assert "ma już dane godzinowe" in message and "2026-01-10" in message and "wiersz 2" in message


def test_it_refuses_hourly_rows_in_a_quarter_hour_day():
    # 12:00 and 13:00 with no quarter between them look hourly in a day of quarters
    text = HEADER + quarters(A, n=48) + f"{A},2026-01-10T12:00:00Z,1,0\n{A},2026-01-10T13:00:00Z,1,0\n"
    line, field, message = only_error(generic(text))
    assert (line, field) == (50, "start") and "ma już dane 15-minutowe" in message


def test_it_accepts_hourly_and_quarter_hour_data_on_different_days():
    result = generic(HEADER + hourly(A, "2026-01-10") + quarters(A, "2026-01-11"))
    assert not result.errors
    assert sorted((s.resolution_min, len(s.starts)) for s in result.series) == [(15, 96), (60, 24)]


def test_it_finds_mixed_resolution_across_chunks():
    text = HEADER + hourly(A, hours=range(12)) + hourly(B) + f"{A},2026-01-10T20:45:00Z,1,0\n"
    results = list(parse_stream("generic", io.BytesIO(text.encode()), chunk_rows=5))
    assert len(results) > 3
    [(line, field, message)] = [(e.line, e.field, e.message) for r in results for e in r.errors]
    assert (line, field) == (38, "start") and "ma już dane godzinowe" in message


def test_it_keeps_a_quarter_hour_day_whole_when_a_chunk_ends_after_its_first_row():
    # the chunk of 3 lines ends at 00:00 of the 11th: that lone row must not be taken for an hour
    text = HEADER + quarters(A, "2026-01-10", n=2, first=94) + quarters(A, "2026-01-11", n=8)
    results = list(parse_stream("generic", io.BytesIO(text.encode()), chunk_rows=3))
    assert not [e for r in results for e in r.errors]
    assert {s.resolution_min for r in results for s in r.series} == {15}
    assert sum(len(s.starts) for r in results for s in r.series) == 10


def test_it_takes_a_day_with_a_single_whole_hour_row_as_hourly():
    [series] = generic(HEADER + f"{A},2026-01-10T05:00:00Z,1,0\n").series
    assert series.resolution_min == 60


# --- bounded values


def test_the_shared_bound_is_100_mwh_per_hour_and_a_quarter_of_it_per_quarter_hour():
    assert max_wh_per_reading(60) == 100_000_000 and max_wh_per_reading(15) == 25_000_000


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "1e308", "1e1000000", "100000.001", "abc", ""])
def test_it_refuses_values_out_of_bounds_naming_line_and_field(value):
    result = generic(HEADER + f"{A},2026-01-10T10:00:00Z,0,1\n{A},2026-01-10T11:00:00Z,1,{value}\n")
    assert errors(result) == [(3, "export_kwh")] and not result.series


def test_it_accepts_the_bound_itself_and_refuses_above_a_quarter_of_it_in_15_minute_data():
    assert not generic(HEADER + f"{A},2026-01-10T10:00:00Z,100000,0\n").errors
    result = generic(HEADER + f"{A},2026-01-10T10:00:00Z,1,0\n{A},2026-01-10T10:15:00Z,25000.001,0\n")
    line, field, message = only_error(result)
    assert (line, field) == (3, "import_kwh") and "25000 kWh" in message and "15-minutowego" in message


def test_the_bound_follows_the_setting(settings):
    settings.OKE_METER_MAX_KWH_PER_HOUR = 10
    assert errors(generic(HEADER + f"{A},2026-01-10T10:00:00Z,10.001,0\n")) == [(2, "import_kwh")]
    assert errors(parse_tauron("Data; Wartość kWh; Rodzaj\n2026-01-10 1:00; 10,5; pobór\n".encode())) == [
        (2, "Wartość kWh")]


@pytest.mark.parametrize("value", ["-0,1", "NaN", "sNaN", "Infinity", "1e308", "1e1000000", "1e999999999999999999",
                                   "100000,001", "0,1x"])
def test_the_elicznik_parser_refuses_values_out_of_bounds(value):
    result = parse_tauron(f"Data; Wartość kWh; Rodzaj\n2026-01-10 1:00; 0,1; pobór\n2026-01-10 2:00; {value}; pobór\n"
                          .encode())
    assert errors(result) == [(3, "Wartość kWh")]


def test_the_elicznik_parser_reads_tiny_exponents_as_zero():
    [series] = parse_tauron("Data; Wartość kWh; Rodzaj\n2026-01-10 1:00; 1e-999999; pobór\n".encode()).series
    assert series.import_wh.tolist() == [0]


# --- no traceback on bad input: every case a line and a field


@pytest.mark.parametrize(("content", "expected", "fragment"), [
    (b"", [(None, "plik")], "pusty"),
    (b"\xef\xbb\xbf\r\n", [(None, "plik")], "pusty"),
    (HEADER.encode(), [(None, "plik")], "tylko nagłówek"),
    (HEADER.encode() + f"{A},2026-01-10T10:00Z,1\xff,0\n".encode("latin-1") + b"\x81",
     [(3, "wiersz"), (2, "import_kwh")], "bajty"),
    (HEADER.encode() + f"{A},2026-01-10T10:00Z,1\0,0\n".encode(), [(2, "wiersz")], "NUL"),
    ((HEADER + f"{A},2026-01-10T10:00Z,0,512,0\n").encode(), [(2, "wiersz")], "średnikiem"),
    ((HEADER + f'{A},2026-01-10T10:00Z,"0,512",0\n').encode(), [(2, "import_kwh")], "średnika"),
    ((HEADER + f"{A},0001-01-01T00:00+01:00,1,0\n").encode(), [(2, "start")], "2000–2100"),
    ((HEADER + f"{A},9999-12-31T23:00+01:00,1,0\n").encode(), [(2, "start")], "2000–2100"),
    ((HEADER + f"{A},1999-12-31T23:00Z,1,0\n{A},2101-01-01T00:00Z,1,0\n").encode(), [(2, "start"), (3, "start")],
     "2000–2100"),
    ((HEADER + f'{A},"2026-01-10T10:00Z,1,0\n' + "x" * 1000 + "\n") * 130, None, "cudzysłów"),
    ((HEADER + f"{A},2026-01-10T10:00Z,1\n").encode(), [(2, "wiersz")], "Liczba pól w wierszu: 3"),
    ((HEADER + f"{A},2026-01-10T10:00Z,1,0,7\n").encode(), [(2, "wiersz")], "Liczba pól w wierszu: 5"),
    ((HEADER + f"{A},2026-01-10T10:00Z,1,0\n" + "9" * (MAX_LINE_BYTES + 10) + "\n").encode(), [(3, "wiersz")],
     "dłuższy"),
    ((HEADER + "x" * 3_000_000).encode(), [(2, "wiersz")], "dłuższy"),
    (("x" * 10_000 + "\n").encode(), [(1, "wiersz")], "dłuższy"),
    ((HEADER + f"{A},2026-01-10T10:00,1,0\n").encode(), [(2, "start")], "przesunięcia"),
    ((HEADER + f"{A},2026-02-30T10:00Z,1,0\n").encode(), [(2, "start")], "ISO 8601"),
    ((HEADER + ",2026-01-10T10:00Z,1,0\n").encode(), [(2, "ppe_code")], "Brak kodu"),
    ((HEADER + f"{A},2026-01-10T10:00Z,1,0\n{A},2026-01-10T10:00Z,2,0\n").encode(), [(3, "start")], "wierszu 2"),
], ids=["empty", "bom-only", "header-only", "invalid-bytes", "nul", "comma-decimal", "quoted-comma-decimal", "year-1",
        "year-9999", "years-1999-2101", "stray-quote", "missing-column", "extra-column", "long-line", "no-newline",
        "long-header", "no-offset", "no-such-day", "no-code", "duplicate"])
def test_bad_generic_input_gets_a_line_and_field_never_a_traceback(content, expected, fragment):
    if isinstance(content, str):
        content = content.encode()
    result = generic(content)
    assert result.error_count and not result.series
    if expected is not None:
        assert errors(result) == expected
    assert fragment in result.errors[0].message


def test_a_stray_quote_spoils_only_its_own_line():
    text = HEADER + f'{A},"2026-01-10T10:00Z,1,0\n' + "".join(
        f"{A},2026-01-10T{h:02d}:00Z,1,0\n" for h in range(11, 24)) + "y" * 200_000
    result = generic(text)
    assert errors(result) == [(16, "wiersz"), (2, "wiersz")]


def test_it_reads_bom_crlf_and_extra_header_columns():
    text = "\ufeffppe_code;start;import_kwh;export_kwh;uwagi\r\n" + "".join(
        f"{A};2026-01-10T{h:02d}:00+01:00;0,5;0;pomiar ręczny\r\n" for h in range(3))
    result = generic(text.encode("utf-8"))
    assert not result.errors and result.series[0].import_wh.tolist() == [500] * 3


def test_it_skips_rows_of_separators_only_as_spreadsheets_save_empty_rows():
    result = generic(HEADER + f"{A},2026-01-10T10:00Z,1,0\n,,,\n , ,,\n")
    assert not result.errors and result.rows == 1


def test_it_refuses_more_ppes_than_the_limit_without_keeping_their_codes():
    from reports.metering.parsers import generic as module

    text = HEADER + "".join(f"{code},2026-01-10T{h:02d}:00Z,1,0\n" for h, code in enumerate(
        ("P1", "P2", "P3", "P4", "P5", "P1")))
    with mock.patch.object(module, "MAX_PPES_PER_FILE", 3):
        chunks = list(parse_stream("generic", io.BytesIO(text.encode()), chunk_rows=2))
    [error] = [e for r in chunks for e in r.errors]
    assert (error.line, error.field) == (5, "ppe_code") and "3 PPE" in error.message


def test_it_reads_windows_1250():
    text = "ppe_code;start;import_kwh;export_kwh;uwagi\n" + f"{A};2026-01-10T10:00Z;0,5;0;źle\n"
    assert not generic(text.encode("cp1250")).errors


@pytest.mark.parametrize("row", ["2026-01-10 1:00;0,1", "2026-01-10 1:00", "2026-01-10 1:00;pobór"])
def test_an_elicznik_row_with_too_few_fields_is_named(row):
    result = parse_tauron(f"Data; Wartość kWh; Rodzaj\n2026-01-10 2:00;0,1;pobór\n{row}\n".encode())
    assert errors(result) == [(3, "wiersz")] and "co najmniej: 3" in result.errors[0].message


@pytest.mark.parametrize("content", [b"Data;Warto\x9c\xe6 kWh;Rodzaj\r\n2026-01-10 1:00;0,1;pob\xf3r\r\n",
                                     "\ufeffData;Wartość kWh;Rodzaj\r\n2026-01-10 1:00;0,1;pobór\r\n".encode()])
def test_the_elicznik_parser_reads_bom_crlf_and_both_encodings(content):
    result = parse_tauron(content)
    assert not result.errors and result.series[0].import_wh.tolist() == [100]


# --- the period of a file, bounded while streaming


def test_it_refuses_the_first_line_outside_the_period_of_a_ppe():
    text = HEADER + f"{A},2026-01-01T00:00Z,1,0\n{B},2026-01-01T00:00Z,1,0\n{A},2027-01-02T23:00Z,1,0\n" \
        f"{A},2027-01-03T00:00Z,1,0\n{B},2026-12-31T00:00Z,1,0\n{A},2027-06-03T00:00Z,1,0\n"
    line, field, message = only_error(generic(text))
    assert (line, field) == (5, "start") and "367 dni" in message and A in message


def test_the_period_follows_the_setting(settings):
    settings.OKE_METER_FILE_MAX_DAYS = 2
    text = HEADER + hourly(A, "2026-01-10", range(1)) + hourly(A, "2026-01-11", range(1)) + hourly(
        A, "2026-01-12", range(1))
    assert errors(generic(text)) == [(4, "start")]


def test_a_file_spanning_a_century_is_refused_without_allocating_per_day_arrays():
    text = (HEADER + f"{A},2000-01-01T00:00Z,1,0\n{A},2100-12-31T23:00Z,1,0\n").encode()
    tracemalloc.start()
    try:
        result = generic(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert errors(result) == [(3, "start")]
    assert peak < 4 * 2**20


def test_the_elicznik_parser_refuses_the_first_row_outside_the_period():
    text = "Data; Wartość kWh; Rodzaj\n2026-01-01 1:00; 0,1; pobór\n2027-01-05 1:00; 0,1; pobór\n" \
           "2026-06-01 1:00; 0,1; pobór\n2028-01-01 1:00; 0,1; pobór\n"
    line, field, message = only_error(parse_tauron(text.encode()))
    assert (line, field) == (3, "Data") and "367 dni" in message


def test_the_elicznik_parser_reports_an_hour_repeated_many_times_without_keeping_it():
    text = "Data; Wartość kWh; Rodzaj\n" + "2026-01-10 1:00; 0,1; pobór\n" * 5000
    result = parse_tauron(text.encode())
    # the third and later occurrences are refused as they are read; the second by the October rule after
    assert result.error_count == 4999 and result.errors[0].line == 4 and "wierszu 2" in result.errors[0].message


# --- streaming


def test_it_streams_a_file_in_chunks_that_add_up_to_the_whole():
    text = HEADER + hourly(A, "2026-01-10") + hourly(B, "2026-01-10") + hourly(A, "2026-01-11") + quarters(
        B, "2026-01-12", n=12)
    whole = generic(text)
    chunks = list(parse_stream("generic", io.BytesIO(text.encode()), chunk_rows=7))
    assert len(chunks) > 10 and sum(r.rows for r in chunks) == whole.rows == 84
    for result in chunks:
        keys = [(s.ppe_code, s.resolution_min) for s in result.series]
        assert len(keys) == len(set(keys))
        assert all((np.diff(s.starts) > 0).all() for s in result.series)
    merged = collect(iter(chunks))

    def key(series):
        return series.ppe_code, series.resolution_min

    for a, b in zip(sorted(merged.series, key=key), sorted(whole.series, key=key), strict=True):
        assert a.ppe_code == b.ppe_code and np.array_equal(a.starts, b.starts)
        assert np.array_equal(a.import_wh, b.import_wh) and np.array_equal(a.lines, b.lines)


def test_it_names_a_duplicate_from_an_earlier_chunk():
    text = HEADER + hourly(A, hours=range(10)) + f"{A},2026-01-10T03:00:00Z,1,0\n"
    results = list(parse_stream("generic", io.BytesIO(text.encode()), chunk_rows=4))
    [error] = [e for r in results for e in r.errors]
    assert (error.line, error.field) == (12, "start") and "wcześniejszej części" in error.message
    assert not any(r.series for r in results[results.index(next(r for r in results if r.errors)):])


def test_it_reports_progress_up_to_one():
    shares: list[float] = []
    generic(HEADER + hourly(A) * 3, on_progress=shares.append)
    assert shares and shares == sorted(shares) and shares[-1] == 1.0


def test_it_refuses_an_unknown_format():
    with pytest.raises(ValueError):
        parse_stream("xlsx", io.BytesIO(b""))


# --- upload limits per format


@pytest.mark.django_db
@pytest.mark.parametrize(("fmt", "accepted"), [("generic", True), ("tauron", False)])
def test_the_upload_form_limits_each_format(cluster, settings, fmt, accepted):
    from reports.views.readings import ReadingUploadForm

    settings.OKE_READINGS_UPLOAD_MAX_MB_GENERIC, settings.OKE_READINGS_UPLOAD_MAX_MB_TAURON = 2, 1
    upload = SimpleUploadedFile("dane.csv", b"x" * (3 * 2**19))  # 1.5 MB
    form = ReadingUploadForm({"format": fmt}, {"file": upload}, cluster=cluster)
    form.is_valid()
    assert ("file" not in form.errors) is accepted
    if not accepted:
        assert "1 MB" in form.errors["file"][0] and "1,5 MB" in form.errors["file"][0]
