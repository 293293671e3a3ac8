"""Fuzzed meter-data parsers: any input gives series or RowErrors, never another exception;
the fast and careful generic CSV paths agree on every input."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.metering.parsers import ParseResult, RowError, collect, generic, parse_stream, parse_tauron

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WARSAW = ZoneInfo("Europe/Warsaw")
CODES = ["590322400000000010", "590322400000000027", "PL0001"]
# the DST days of 2026 and their neighbours, a leap day, New Year, and the edges of the allowed years
DAYS = [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30), dt.date(2026, 10, 24),
        dt.date(2026, 10, 25), dt.date(2026, 10, 26), dt.date(2028, 2, 29), dt.date(2026, 1, 1),
        dt.date(2000, 1, 1), dt.date(2100, 12, 31), dt.date(1999, 12, 31), dt.date(2101, 1, 1)]


def check(results: list[ParseResult]) -> ParseResult:
    for result in results:
        assert isinstance(result, ParseResult)
        assert all(isinstance(e, RowError) and isinstance(e.message, str) and e.message for e in result.errors)
        for series in result.series:
            assert len(series.starts) == len(series.import_wh) == len(series.export_wh) == len(series.lines)
            assert (np.diff(series.starts) > 0).all()
            assert series.resolution_min in (15, 60) and (series.starts % (series.resolution_min * 60) == 0).all()
            assert (series.import_wh >= 0).all() and (series.export_wh >= 0).all()
    return collect(iter(results))


def run_generic(content: bytes, *, chunk_rows: int = 200_000) -> ParseResult:
    return check(list(parse_stream("generic", io.BytesIO(content), chunk_rows=chunk_rows)))


def careful_only(content: bytes, *, chunk_rows: int = 200_000) -> ParseResult:
    with mock.patch.object(generic, "read_fast", lambda *args, **kwargs: None):
        return run_generic(content, chunk_rows=chunk_rows)


@st.composite
def numbers(draw: st.DrawFn, *, decimal: str) -> str:
    kind = draw(st.sampled_from(["plain", "plain", "plain", "int", "float", "odd"]))
    if kind == "plain":
        whole = draw(st.integers(0, 99_999))
        places = draw(st.integers(0, 6))
        text = str(whole) if not places else f"{whole}{decimal}{draw(st.integers(0, 10**places - 1)):0{places}d}"
    elif kind == "int":
        text = str(draw(st.integers(-5, 10**12)))
    elif kind == "float":
        text = repr(draw(st.floats(allow_nan=True, allow_infinity=True))).replace(".", decimal)
    else:
        text = draw(st.sampled_from(["", " ", "-0", "1e308", "1e1000000", "nan", "0,5", "0.5", ",5", "5,", "1.2.3",
                                     '"1,5"', "１２", "1_000", "0x10", "1e-999999"]))
    return text


@st.composite
def starts(draw: st.DrawFn) -> str:
    day = draw(st.sampled_from(DAYS))
    minute = draw(st.sampled_from([0, 0, 0, 15, 30, 45, 10]))
    moment = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), minute))
    style = draw(st.sampled_from(["local", "utc", "local-basic", "space", "no-offset", "seconds"]))
    if style == "utc":
        return f"{moment:%Y-%m-%dT%H:%M}Z"
    local = moment.replace(tzinfo=WARSAW, fold=draw(st.integers(0, 1)))
    text = local.isoformat()
    if style == "local-basic":
        return text[:16] + text[-6:].replace(":", "")
    if style == "space":
        return text.replace("T", " ")
    if style == "no-offset":
        return text[:19]
    return text


@st.composite
def generic_files(draw: st.DrawFn, *, valid: bool = False) -> bytes:
    sep = ";" if valid else draw(st.sampled_from([",", ";", ";", "\t"]))
    decimal = "," if sep == ";" and draw(st.booleans()) else "."
    columns = ["ppe_code", "start", "import_kwh", "export_kwh"]
    if draw(st.booleans()):
        columns.append("quality" if valid else draw(st.sampled_from(["quality", "uwagi"])))
    lines = [sep.join(columns)]
    used: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(1 if valid else 0, 30))):
        code = draw(st.sampled_from(CODES))
        start = draw(starts())
        cells = [code, start, draw(numbers(decimal=decimal)), draw(numbers(decimal=decimal))]
        if valid:
            day = draw(st.sampled_from(DAYS[:6] + [dt.date(2026, 1, 1)]))
            hour = draw(st.integers(0, 23))
            start = f"{day}T{hour:02d}:00:00Z"
            if (code, start) in used:
                continue
            used.add((code, start))
            cells = [code, start, f"{draw(st.integers(0, 99_999))}{decimal}{draw(st.integers(0, 999)):03d}",
                     str(draw(st.integers(0, 500)))]
        if len(columns) == 5:
            codes = ["M", "e", "", "Pomiar", "SZACUNEK", "estimated", "Measured"]
            cells.append(draw(st.sampled_from(codes if valid else [*codes, "x", " M", "estimatedd", "mm"])))
        line = sep.join(cells)
        if not valid and draw(st.integers(0, 9)) == 0:
            line = draw(st.sampled_from([line.replace(sep, '"', 1), line + sep, line[: len(line) // 2], "",
                                         line + "\r", '"' + line, line.replace("0", "\0", 1)]))
        lines.append(line)
    ending = "\r\n" if draw(st.booleans()) else "\n"
    text = ending.join(lines) + (ending if draw(st.booleans()) else "")
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return bom + text.encode("utf-8" if draw(st.booleans()) else "cp1250", errors="replace")


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_results_or_row_errors(data):
    run_generic(data)
    run_generic(b"ppe_code;start;import_kwh;export_kwh\n" + data, chunk_rows=3)
    check(list(parse_stream("tauron", io.BytesIO(data))))
    check(list(parse_stream("tauron", io.BytesIO("Data; Wartość kWh; Rodzaj\n".encode() + data))))


@FUZZ
@given(generic_files(), st.integers(1, 40))
def test_perturbed_generic_files_give_results_or_row_errors(content, chunk_rows):
    result = run_generic(content, chunk_rows=chunk_rows)
    assert result.error_count or result.series or not result.rows


@FUZZ
@given(generic_files(), st.integers(2, 40))
def test_the_fast_and_careful_paths_agree_on_every_file(content, chunk_rows):
    fast, careful = run_generic(content, chunk_rows=chunk_rows), careful_only(content, chunk_rows=chunk_rows)
    assert_same(fast, careful)


@FUZZ
@given(generic_files(valid=True))
def test_the_fast_and_careful_paths_read_valid_files_identically(content):
    read_fast, used = generic.read_fast, []

    def spy(*args, **kwargs):
        used.append(read_fast(*args, **kwargs) is not None)
        return None if not used[-1] else read_fast(*args, **kwargs)

    with mock.patch.object(generic, "read_fast", spy):
        fast = run_generic(content)
    careful = careful_only(content)
    assert used == [True]  # the fast path really read it
    assert not fast.errors and not careful.errors
    assert_same(fast, careful)


def assert_same(a: ParseResult, b: ParseResult) -> None:
    assert [e.as_dict() for e in a.errors] == [e.as_dict() for e in b.errors]
    assert a.rows == b.rows and a.error_count == b.error_count

    def key(series):
        return series.ppe_code, series.resolution_min

    for x, y in zip(sorted(a.series, key=key), sorted(b.series, key=key), strict=True):
        assert key(x) == key(y) and (x.has_import, x.has_export) == (y.has_import, y.has_export)
        for name in ("starts", "import_wh", "export_wh", "quality", "lines"):
            assert np.array_equal(getattr(x, name), getattr(y, name)), name


@st.composite
def tauron_files(draw: st.DrawFn) -> bytes:
    layout = draw(st.sampled_from(["long", "zone", "2026", "wide"]))
    header = {"long": " Data; Wartość kWh; Rodzaj", "zone": "Data; Strefa; Wartość kWh;Rodzaj;",
              "2026": "Data i godzina;Wartosc[kWh/kvar];Rodzaj energii",
              "wide": "Data, godzina; Pobór energii [kWh]; Oddanie [kWh]"}[layout]
    lines = ["Eksport z eLicznika;;", header] if draw(st.booleans()) else [header]
    for _ in range(draw(st.integers(0, 40))):
        day = draw(st.sampled_from(DAYS))
        hour = draw(st.integers(0, 25))
        label = draw(st.sampled_from([f"{day} {hour}:00", f"{day:%d.%m.%Y} {hour:02d}:00",
                                      f"{(day - dt.date(1899, 12, 30)).days},{draw(st.integers(0, 99999))}",
                                      f"{day} {hour}:30", "jutro", ""]))
        value = draw(numbers(decimal=","))
        kind = draw(st.sampled_from(["pobór", "oddanie", "pobrana po zbilansowaniu", "bierna", ""]))
        if layout == "wide":
            row = f"{label}; {value}; {draw(numbers(decimal=','))}"
        elif layout == "zone":
            row = f"{label};T1;{value};{kind};"
        else:
            row = f"{label};{value};{kind}"
        if draw(st.integers(0, 9)) == 0:
            row = draw(st.sampled_from([row.replace(";", "", 1), row + ";;;", '"' + row, row.replace("0", "\0", 1)]))
        lines.append(row)
    text = ("\r\n" if draw(st.booleans()) else "\n").join(lines)
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1250"])), errors="replace")


@FUZZ
@given(tauron_files())
def test_perturbed_elicznik_files_give_results_or_row_errors(content):
    result = check([parse_tauron(content)])
    assert result.error_count or len(result.series) <= 1
    for series in result.series:
        assert series.has_import or series.has_export


@FUZZ
@given(generic_files(), st.integers(1, 64), st.integers(1, 40))
def test_reading_the_stream_in_tiny_pieces_changes_nothing(content, block_bytes, chunk_rows):
    from reports.metering.parsers import common

    # a 48-byte line cap makes many generated lines over-long, so the cross-read skipping is exercised
    with mock.patch.object(common, "MAX_LINE_BYTES", 48):
        whole_reads = run_generic(content, chunk_rows=chunk_rows)
        with mock.patch.object(common, "BLOCK_BYTES", block_bytes):
            tiny_reads = run_generic(content, chunk_rows=chunk_rows)
    assert_same(whole_reads, tiny_reads)


@FUZZ
@given(st.lists(st.integers(0, 2**96 - 1) | st.sets(st.integers(0, 23)).map(lambda hs: sum(1 << 4 * h for h in hs)),
                min_size=1, max_size=20))
def test_day_kinds_by_bit_arithmetic_match_a_plain_reading_of_the_quarters(days):
    from reports.metering.parsers.checks import _day_kinds

    words = np.array([[d & (2**64 - 1), d >> 64] for d in days], dtype=np.uint64)
    has_quarter, pair = _day_kinds(words)
    for i, d in enumerate(days):
        seen = [bool(d >> q & 1) for q in range(96)]
        odd = [any(seen[4 * h + 1 : 4 * h + 4]) for h in range(24)]
        assert has_quarter[i] == any(odd)
        assert pair[i] == any(seen[4 * h] and seen[4 * h + 4] and not odd[h] for h in range(23))
