"""Types, limits and helpers shared by the meter-data parsers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_noop

from okeportal.messages import Msg, MsgStr, as_msg, msg, msg_str
from okeportal.textfiles import text_encoding

ProgressFn = Callable[[float], None]
MAX_ERRORS = 1000
# No valid line of either format comes near this; a longer one is refused unread (a
# file without newlines cannot make the parser hold it whole).
MAX_LINE_BYTES = 4096
# Distinct PPE codes in one generic file: the cross-chunk checks keep ~18 KB per PPE
# (a bitmap of the quarter-hours seen over the allowed period), so 5,000 PPEs ≤ 90 MB.
MAX_PPES_PER_FILE = 5000
YEAR_MIN, YEAR_MAX = 2000, 2100
BLOCK_BYTES = 1 << 20


# Fields named by a word rather than a column of the file (source texts, translated when shown).
LINE_FIELD = gettext_noop("wiersz")
FILE_FIELD = gettext_noop("plik")
HEADER_FIELD = gettext_noop("nagłówek")
DATA_FIELD = gettext_noop("dane")


@dataclass(frozen=True, init=False)
class RowError:
    """One problem in an input file: the line (1-based, None = the whole file), the field and the rule.

    ``field`` is a column of the file or a ``gettext_noop`` word (``LINE_FIELD``…); ``rule``
    is the message as a code with parameters (``okeportal.messages``), so the stored error
    is shown in the reader's language. ``message`` is its text in the active language.
    """

    line: int | None
    field: str
    rule: Msg

    def __init__(self, line: int | None, field: str, rule: Msg | str) -> None:
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "field", field)
        # a ``MsgStr`` (a cell check's message) gives its code; plain text (an exception's) is kept as it is
        object.__setattr__(self, "rule", as_msg(rule))

    @property
    def message(self) -> str:
        return self.rule.render()

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def params(self) -> dict:
        return self.rule.params

    def as_dict(self) -> dict:
        """As stored on ``ReadingImport.errors``: ``{"line", "msg", "params"}``, the field as ``field_label``."""
        stored = self.rule.as_json()
        stored["params"] = {**stored["params"], "field_label": self.field}
        return {"line": self.line, **stored}


@dataclass
class Series:
    """Readings of one PPE at one resolution: UTC interval starts (epoch seconds, sorted), Wh, quality, lines.

    ``has_import`` / ``has_export`` say whether the file carries that direction at all;
    when False the array holds zeros that mean nothing and the store must leave the
    stored direction as it is (an eLicznik *pobór*-only export, a generic CSV without
    an ``export_kwh`` column).
    """

    ppe_code: str | None
    resolution_min: int
    starts: np.ndarray  # int64 epoch seconds
    import_wh: np.ndarray  # int64
    export_wh: np.ndarray  # int64
    quality: np.ndarray  # uint8
    lines: np.ndarray  # int64, file line of each reading
    has_import: bool = True
    has_export: bool = True
    # The balanced series ("po zbilansowaniu"): a direction's values when the file carries it, else None;
    # ``balanced_quality`` per reading (``Quality.MISSING``: no balanced value for that interval).
    import_balanced_wh: np.ndarray | None = None
    export_balanced_wh: np.ndarray | None = None
    balanced_quality: np.ndarray | None = None

    @property
    def has_balanced(self) -> bool:
        return self.import_balanced_wh is not None or self.export_balanced_wh is not None


class CollectsErrors:
    """``add``: count every error, keep the first ``MAX_ERRORS`` (a parse result's ``errors`` and ``error_count``)."""

    errors: list[RowError]
    error_count: int

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


@dataclass
class ParseResult(CollectsErrors):
    """One chunk of a parsed file (or a whole file): its series, its errors, its data rows."""

    series: list[Series] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    error_count: int = 0


def max_wh_per_reading(resolution_min: int) -> int:
    """The largest reading accepted for an interval of ``resolution_min`` minutes, in Wh.

    ``OKE_METER_MAX_KWH_PER_HOUR`` (default 100,000 kWh per hour = 100 MW average,
    above any connection below 110 kV) scaled to the interval. Why int64 cannot wrap:
    one reading ≤ 10⁸ Wh at the default; a PPE has ≤ 8,784 hours a year and a cluster
    of even 10⁶ PPEs summed over 100 years stays below 10⁸ × 8,784 × 100 × 10⁶ ≈ 8.8 × 10¹⁶,
    a hundred times below 2⁶³ ≈ 9.2 × 10¹⁸. The setting is capped at 10⁹ kWh per hour
    (10¹² Wh per reading) so a misconfiguration cannot undo that either.
    """
    per_hour_kwh = min(int(settings.OKE_METER_MAX_KWH_PER_HOUR), 10**9)
    return per_hour_kwh * 1000 * resolution_min // 60


def max_file_days() -> int:
    """The longest period (days) one file may cover for one PPE (``OKE_METER_FILE_MAX_DAYS``)."""
    return int(settings.OKE_METER_FILE_MAX_DAYS)


def kwh_to_wh(kwh: np.ndarray) -> np.ndarray:
    """kWh (float, ≥ 0, bounded) → integer Wh, rounded half-up.

    The epsilon absorbs binary representation error (1.0005 kWh is stored as
    1000.4999… Wh) for inputs with up to six decimals of kWh; values are
    validated non-negative and bounded before this runs.
    """
    return np.floor(np.asarray(kwh, dtype=np.float64) * 1000.0 + 0.5 + 1e-6).astype(np.int64)


def iso_utc(seconds: int) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).isoformat()


def year_message(value: str) -> MsgStr:
    return msg_str(gettext_noop("„%(v)s”: rok spoza dozwolonego zakresu %(lo)d–%(hi)d."), v=value, lo=YEAR_MIN,
                   hi=YEAR_MAX)


def long_line_error(line: int) -> RowError:
    return RowError(line, LINE_FIELD, msg(gettext_noop(
        "Wiersz jest dłuższy niż %(n)d bajtów — to nie jest wiersz danych pomiarowych (brak znaku końca wiersza?)."
    ), n=MAX_LINE_BYTES))


def stream_size(stream: BinaryIO) -> int | None:
    """Bytes left in a seekable stream (for progress), else None."""
    try:
        at = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(at)
    except (AttributeError, OSError, ValueError):
        return None
    return max(end - at, 1)


@dataclass
class Block:
    """Complete lines of a file: ``data`` starts at line ``first_line`` (1-based)."""

    data: bytes
    first_line: int
    lines: int
    errors: list[RowError]


def line_blocks(stream: BinaryIO, *, min_lines: int, first_line: int = 1, prefix: bytes = b"") -> Iterator[Block]:
    """Read ``stream`` in 1 MiB reads and yield blocks of at least ``min_lines`` complete lines.

    ``prefix``: bytes already read from the stream (they come first). Lines longer than
    ``MAX_LINE_BYTES`` are reported and replaced by empty lines, so line numbers stay
    right and no line is ever held whole beyond the cap. The last line may lack its newline.
    """
    carry = prefix
    pending: list[bytes] = []
    pending_lines = 0
    line = first_line  # number of the first line in ``pending``
    errors: list[RowError] = []
    skipping = False  # inside an over-long line: drop bytes up to its newline
    while True:
        chunk = stream.read(BLOCK_BYTES)
        eof = not chunk
        if skipping and not eof:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            skipping = False
            pending.append(b"\n")  # the over-long line, blanked
            pending_lines += 1
            chunk = chunk[nl + 1 :]
        data = b"" if skipping else carry + chunk
        if eof:
            complete, carry = data, b""
        else:
            cut = data.rfind(b"\n") + 1
            complete, carry = data[:cut], data[cut:]
        if complete:
            if _has_long_line(complete):
                complete, long_errors = _blank_long_lines(complete, line + pending_lines)
                errors += long_errors
            pending.append(complete)
            pending_lines += complete.count(b"\n")
        if len(carry) > MAX_LINE_BYTES:
            errors.append(long_line_error(line + pending_lines))
            carry, skipping = b"", True
        while pending_lines >= min_lines:
            # cut after the min_lines-th newline, found within the one read where it falls
            need, taken = min_lines, []
            while pending[0].count(b"\n") < need:
                need -= pending[0].count(b"\n")
                taken.append(pending.pop(0))
            cut = _after_nth_newline(pending[0], need)
            taken.append(pending[0][:cut])
            pending[0] = pending[0][cut:]
            if not pending[0]:
                pending.pop(0)
            yield Block(b"".join(taken), line, min_lines, errors)
            line += min_lines
            pending_lines -= min_lines
            errors = []
        if eof and (pending or errors):
            yield Block(b"".join(pending), line, pending_lines, errors)
        if eof:
            return


def _after_nth_newline(data: bytes, n: int) -> int:
    return int(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)[n - 1]) + 1


def _has_long_line(data: bytes) -> bool:
    if len(data) <= MAX_LINE_BYTES:
        return False
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.r_[0, ends + 1]
    ends = np.r_[ends, len(data)]
    return bool(((ends - starts) > MAX_LINE_BYTES).any())


def _blank_long_lines(data: bytes, first_line: int) -> tuple[bytes, list[RowError]]:
    lines = data.split(b"\n")
    errors = []
    for i, text in enumerate(lines):
        if len(text) > MAX_LINE_BYTES:
            errors.append(long_line_error(first_line + i))
            lines[i] = b""
    return b"\n".join(lines), errors


class LineDecoder:
    """Decodes blocks of lines with one encoding per file (``okeportal.textfiles``: UTF-8, else Windows-1250).

    The encoding is chosen at the first block that is not plain ASCII; a line that
    does not decode in it is reported (line and column) and read as empty.
    """

    def __init__(self, *, sep: str) -> None:
        self.sep = sep.encode()
        self.encoding: str | None = None

    def lines(self, block: Block, result: ParseResult) -> list[str]:
        data = block.data
        if self.encoding is None:
            self.encoding = text_encoding(data)
        try:
            return data.decode(self.encoding or "ascii").split("\n")
        except UnicodeDecodeError:
            lines = []
            for i, raw in enumerate(data.split(b"\n")):
                try:
                    lines.append(raw.decode(self.encoding or "ascii"))
                except UnicodeDecodeError as exc:
                    result.add(RowError(block.first_line + i, LINE_FIELD, msg(gettext_noop(
                        "Niepoprawne bajty w kolumnie %(col)d (bajt 0x%(byte)02X): plik nie jest zapisany w UTF-8 "
                        "ani w Windows-1250."
                    ), col=raw[: exc.start].count(self.sep) + 1, byte=raw[exc.start])))
                    lines.append("")
            return lines


def collect(results: Iterable[ParseResult]) -> ParseResult:
    """All chunks of a file as one ``ParseResult``: one series per PPE and resolution, sorted by start."""
    whole = ParseResult()
    parts: dict[tuple[str | None, int], list[Series]] = {}
    for result in results:
        whole.rows += result.rows
        for error in result.errors:
            whole.add(error)
        whole.error_count += result.error_count - len(result.errors)
        for series in result.series:
            parts.setdefault((series.ppe_code, series.resolution_min), []).append(series)
    for pieces in parts.values():
        if len(pieces) == 1:
            whole.series.append(pieces[0])
            continue
        starts = np.concatenate([p.starts for p in pieces])
        order = np.argsort(starts, kind="stable")
        first = pieces[0]
        whole.series.append(Series(
            ppe_code=first.ppe_code, resolution_min=first.resolution_min, starts=starts[order],
            import_wh=np.concatenate([p.import_wh for p in pieces])[order],
            export_wh=np.concatenate([p.export_wh for p in pieces])[order],
            quality=np.concatenate([p.quality for p in pieces])[order],
            lines=np.concatenate([p.lines for p in pieces])[order],
            has_import=first.has_import, has_export=first.has_export,
        ))
    return whole
