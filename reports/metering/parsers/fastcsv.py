"""Fast path of the generic CSV: plain files parsed straight from the bytes with NumPy.

Accepts only a strict subset of what ``generic`` accepts, where the result is
known to be the same: unquoted ``\\n``/``\\r\\n`` lines with exactly one field
per header column, a non-empty PPE code, ``start`` as
``YYYY-MM-DD[T ]HH:MM[:00](Z|±HH:MM|±HHMM)`` on a quarter-hour in the years
2000–2100, and numbers as plain digits with the file's decimal mark (≤ 6
decimals, ≤ 10⁹ kWh; the per-reading bound is checked after either path), and
an optional ``quality`` spelled exactly as one of its codes (any letter case). Any
other line — including every line the slow path would report — makes
``read_fast`` return None and the caller parses the file the careful way, so
error messages come from one place only. The generic parser calls it once per
chunk of complete lines (``first_line`` numbers them), so memory follows the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import ProgressFn

CHUNK_BYTES = 4 << 20
BALANCED_COLUMNS = ("import_balanced_kwh", "export_balanced_kwh")
MAX_CODE_BYTES = 64
MAX_NUMBER_BYTES = 18
_POW10 = 10 ** np.arange(19, dtype=np.int64)
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)
_ONES = 0x0101010101010101
_U = np.uint64
# bytes 0..n-1 of a little-endian word (n = 0..8)
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


class _NotFastError(Exception):
    """The file leaves the fast subset; parse it the careful way."""


@dataclass
class FastColumns:
    line: np.ndarray  # int64, 1-based file line
    ppe: np.ndarray  # int64 index into ``codes``
    codes: list[bytes]  # raw bytes of each distinct PPE code, in order of first appearance
    starts: np.ndarray  # int64 epoch seconds
    import_wh: np.ndarray  # int64
    export_wh: np.ndarray  # int64
    quality: np.ndarray  # uint8 (Quality values; measured when the file has no quality column)
    # the optional balanced columns (None when the file has no such column); the fast path takes
    # them only when every row has a value (an empty cell goes the careful way)
    import_balanced_wh: np.ndarray | None = None
    export_balanced_wh: np.ndarray | None = None


def read_fast(
    raw: bytes, *, data_at: int, sep: str, names: list[str], decimal: str, on_progress: ProgressFn | None = None,
    first_line: int = 2,
) -> FastColumns | None:
    """Columns of a file (or chunk) in the fast subset, or None.

    ``data_at``: offset of the first data line, which is line ``first_line`` of the file.
    A missing ``import_kwh`` / ``export_kwh`` column reads as zeros (the file does not carry it).
    """
    if b'"' in raw:
        return None
    try:
        reader = _Reader(raw, data_at=data_at, sep=sep, names=names, decimal=decimal, cr=b"\r" in raw)
        return reader.run(on_progress, lines_before=first_line - 1)
    except _NotFastError:
        return None


class _Reader:
    def __init__(self, raw: bytes, *, data_at: int, sep: str, names: list[str], decimal: str, cr: bool) -> None:
        self.buf = np.frombuffer(raw, dtype=np.uint8)
        self.cr = cr
        self.data_at = data_at
        self.sep, self.dec = ord(sep), ord(decimal)
        self.k = len(names)
        self.col: dict[str, int] = {name: names.index(name) for name in (
            "ppe_code", "start", "import_kwh", "export_kwh", "quality", *BALANCED_COLUMNS) if name in names}
        self.balanced = [name for name in BALANCED_COLUMNS if name in self.col]
        self.code_ids: dict[bytes, int] = {}

    def run(self, on_progress: ProgressFn | None, *, lines_before: int = 1) -> FastColumns:
        buf, size = self.buf, len(self.buf)
        # written in place chunk by chunk: concatenating the parts would copy them again
        capacity = int(np.count_nonzero(buf[self.data_at :] == 10)) + 1
        out = [np.empty(capacity, dtype=np.int64) for _ in range(6 + len(self.balanced))]
        rows, at = 0, self.data_at
        while at < size:
            # cut each chunk after a newline so no line is split
            end = min(at + CHUNK_BYTES, size)
            if end < size:
                nl = _find_newline(buf, end)
                end = size if nl < 0 else nl + 1
            part, n_lines = self._chunk(buf[at:end], last=end == size, lines_before=lines_before)
            for column, values in zip(out, part, strict=True):
                column[rows : rows + len(values)] = values
            rows += len(part[0])
            lines_before += n_lines
            at = end
            if on_progress is not None:
                on_progress(at / size)
        if not rows:
            raise _NotFastError
        line, ppe, starts, imp, exp, qual, *extra = (column[:rows] for column in out)
        balanced = dict(zip(self.balanced, extra, strict=True))
        return FastColumns(line=line, ppe=ppe, codes=list(self.code_ids), starts=starts, import_wh=imp, export_wh=exp,
                           quality=qual.astype(np.uint8), import_balanced_wh=balanced.get("import_balanced_kwh"),
                           export_balanced_wh=balanced.get("export_balanced_kwh"))

    def _chunk(self, chunk: np.ndarray, *, last: bool, lines_before: int) -> tuple[tuple[np.ndarray, ...], int]:
        # zero padding: every 8-byte word read at or near a field stays inside the array
        b = np.zeros(8 + len(chunk) + MAX_CODE_BYTES + 8, dtype=np.uint8)
        body = b[8 : 8 + len(chunk)]
        body[:] = chunk
        words = np.ndarray((len(b) - 7,), dtype="<u8", buffer=b, strides=(1,))
        k = self.k
        hits = np.flatnonzero((body == self.sep) | (body == 10)) + 8
        nl_hit = np.flatnonzero(b[hits] == 10)
        if last and chunk[-1] != 10:  # last line without a newline
            hits = np.append(hits, 8 + len(chunk))
            nl_hit = np.append(nl_hit, len(hits) - 1)
        ends = hits[nl_hit]
        n_lines = len(ends)
        begins = np.empty(n_lines, dtype=np.int64)
        begins[0] = 8
        begins[1:] = ends[:-1] + 1
        seps = np.diff(nl_hit, prepend=-1) - 1
        if self.cr:
            # only \r\n ends a line; a lone \r is left to the careful path, which names its line
            line_cr = (b[ends - 1] == 13) & (ends > begins)
            if np.count_nonzero(body == 13) != np.count_nonzero(line_cr):
                raise _NotFastError
            ends = ends - line_cr
        blank = (ends == begins) & (seps == 0)
        if not ((seps == k - 1) | blank).all():
            raise _NotFastError
        keep = ~blank
        line = np.flatnonzero(keep) + (lines_before + 1)
        if blank.any():
            begins, ends, nl_hit = begins[keep], ends[keep], nl_hit[keep]
        sep_at = [hits[nl_hit - (k - 1) + j] for j in range(k - 1)]
        bounds = [begins - 1, *sep_at, ends]  # field j runs from bounds[j] + 1 to bounds[j + 1]

        def field(name: str) -> tuple[np.ndarray, np.ndarray]:
            j = self.col[name]
            return bounds[j] + 1, bounds[j + 1]

        ppe = self._codes(b, words, *field("ppe_code"))
        starts = _starts(b, words, *field("start"))
        zeros = np.zeros(len(line), dtype=np.int64)
        imp = _wh(b, words, *field("import_kwh"), dec=self.dec) if "import_kwh" in self.col else zeros
        exp = _wh(b, words, *field("export_kwh"), dec=self.dec) if "export_kwh" in self.col else zeros
        qual = _quality(words, *field("quality")) if "quality" in self.col else np.full(len(line), _MEASURED)
        extra = tuple(_wh(b, words, *field(name), dec=self.dec) for name in self.balanced)  # an empty cell: not fast
        return (line, ppe, starts, imp, exp, qual, *extra), n_lines

    def _codes(self, b: np.ndarray, words: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Global id of each row's code: compare neighbours (files are usually grouped by PPE),
        tell the run heads apart by hash, and check the bytes so a collision cannot merge two codes."""
        length = hi - lo
        if not len(length) or (length == 0).any() or int(length.max()) > MAX_CODE_BYTES:
            raise _NotFastError
        parts = [words[lo + 8 * j] & _LOW_BYTES[np.clip(length - 8 * j, 0, 8)]
                 for j in range(-(-int(length.max()) // 8))]
        head = np.ones(len(lo), dtype=bool)
        change = length[1:] != length[:-1]
        for w in parts:
            change |= w[1:] != w[:-1]
        head[1:] = change
        head_at = np.flatnonzero(head)
        hw = np.stack([w[head_at] for w in parts], axis=1)
        hl = length[head_at]
        digest = hl.astype(np.uint64)
        for column in hw.T:
            digest = digest * _HASH_MUL + column
        _u, rep, inverse = np.unique(digest, return_index=True, return_inverse=True)
        if not (hw == hw[rep][inverse]).all() or not (hl == hl[rep][inverse]).all():
            raise _NotFastError
        ids = np.empty(len(rep), dtype=np.int64)
        for i in np.argsort(rep):  # ids in order of first appearance
            code = b[lo[head_at[rep[i]]] : hi[head_at[rep[i]]]].tobytes()
            # printable ASCII without spaces: decoding and the slow path's strip() cannot change it
            if not all(0x21 <= c <= 0x7E for c in code):
                raise _NotFastError
            ids[i] = self.code_ids.setdefault(code, len(self.code_ids))
        return ids[inverse][np.cumsum(head) - 1]


# quality codes of the generic CSV (``generic.QUALITY_CODES``; Quality.MEASURED = 1, ESTIMATED = 2), lower case
_MEASURED = 1
_QUALITY_WORDS = {"m": 1, "measured": 1, "pomiar": 1, "e": 2, "estimated": 2, "szacunek": 2}
_CASE_BIT = 0x2020202020202020


def _quality(words: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quality of each row: an empty field is measured; a code matches in any letter case.

    Setting bit 0x20 lower-cases a letter, and a byte that then equals a lower-case
    letter was that letter in one case or the other, so the comparison is exact.
    """
    length = hi - lo
    if int(length.max(initial=0)) > 16:
        raise _NotFastError
    head = np.minimum(length, 8)
    tail = np.clip(length - 8, 0, 8)
    w0 = words[lo] & _LOW_BYTES[head] | (_U(_CASE_BIT) & _LOW_BYTES[head])
    w1 = words[lo + 8] & _LOW_BYTES[tail] | (_U(_CASE_BIT) & _LOW_BYTES[tail])
    out = np.full(len(lo), _MEASURED, dtype=np.int64)
    known = length == 0
    for text, value in _QUALITY_WORDS.items():
        raw = text.encode()
        hit = ((length == len(raw)) & (w0 == _U(int.from_bytes(raw[:8], "little")))
               & (w1 == _U(int.from_bytes(raw[8:], "little"))))
        out[hit] = value
        known |= hit
    if not known.all():
        raise _NotFastError
    return out


def _find_newline(buf: np.ndarray, at: int) -> int:
    """Index of the first newline at or after ``at``, or -1."""
    step = 1 << 16
    while at < len(buf):
        hit = np.flatnonzero(buf[at : at + step] == 10)
        if len(hit):
            return at + int(hit[0])
        at += step
    return -1


# --- SWAR: eight characters in one little-endian uint64, first character in the low byte


def _pattern(text: str) -> tuple[np.uint64, np.uint64, np.uint64]:
    """``d`` digit, ``?`` and ``*`` not checked here, anything else literal → (literal mask, literal value, digit mask)."""
    lit_mask = lit = digit_mask = 0
    for i, c in enumerate(text):
        if c == "d":
            digit_mask |= 0xFF << (8 * i)
        elif c not in "?*":
            lit_mask |= 0xFF << (8 * i)
            lit |= ord(c) << (8 * i)
    return _U(lit_mask), _U(lit), _U(digit_mask)


def _above9(v: np.ndarray) -> np.ndarray:
    """0x80 in each byte of ``v`` greater than 9 (exact, no carries between bytes)."""
    return (((v & _U(0x7F * _ONES)) + _U(0x76 * _ONES)) | v) & _U(0x80 * _ONES)


def _zero_bytes(v: np.ndarray) -> np.ndarray:
    """0x80 in each zero byte of ``v`` (exact)."""
    low7 = _U(0x7F * _ONES)
    return ~(((v & low7) + low7) | v | low7)


def _eight_digits(v: np.ndarray) -> np.ndarray:
    """Bytes 0–9 (most significant first) → the number they spell."""
    v = ((v & _U(0x0F0F0F0F0F0F0F0F)) * _U(2561)) >> _U(8)
    v = ((v & _U(0x00FF00FF00FF00FF)) * _U(6553601)) >> _U(16)
    return (((v & _U(0x0000FFFF0000FFFF)) * _U(42949672960001)) >> _U(32)).astype(np.int64)


def _match(w: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Does each word fit the pattern, and the number spelled by its digits (others read as 0)."""
    lit_mask, lit, digit_mask = _pattern(text)
    digits = (w ^ _U(0x30 * _ONES)) & digit_mask
    ok = ((w & lit_mask) == lit) & (_above9(digits) == 0)
    return ok, _eight_digits(digits)


def _pair(v: np.ndarray, at: int) -> np.ndarray:
    """The two digits at characters ``at``, ``at + 1`` of a word read by ``_match``."""
    return v // 10 ** (6 - at) % 100


def _byte(w: np.ndarray, at: int) -> np.ndarray:
    return (w >> _U(8 * at)) & _U(0xFF)


# length of ``start`` → (pattern of its last 8 characters, where the seconds are); ``*`` is the offset sign
_START_TAILS = {
    25: ("dd*dd:dd", 0),  # …:SS+hh:mm (the ':' before SS is checked apart)
    24: (":dd*dddd", 1),  # …:SS+hhmm
    22: ("??*dd:dd", None),  # …HH:MM+hh:mm
    21: ("???*dddd", None),  # …HH:MM+hhmm
    20: ("????:ddZ", 5),  # …HH:MM:SSZ
    17: ("???????Z", None),  # …HH:MMZ
}


def _starts(b: np.ndarray, words: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Epoch seconds of ISO 8601 starts in the fast layouts (see the module docstring)."""
    ok_date, ymd = _match(words[lo], "dddd-dd-")
    w1 = words[lo + 8]
    ok_time, dhm = _match(w1, "dd?dd:dd")
    t = _byte(w1, 2)
    ok = ok_date & ok_time & ((t == 84) | (t == 32))  # 'T' or ' '
    year, month = ymd // 10_000, ymd // 10 % 100
    day, hour, minute = _pair(dhm, 0), _pair(dhm, 3), _pair(dhm, 6)
    length = hi - lo
    offset = np.zeros(len(lo), dtype=np.int64)
    seen = np.zeros(len(lo), dtype=bool)
    for n, (tail, seconds_at) in _START_TAILS.items():
        rows = np.flatnonzero(length == n)
        if not len(rows):
            continue
        seen[rows] = True
        w2 = words[hi[rows] - 8]
        fits, v = _match(w2, tail)
        if n == 25:
            fits &= b[lo[rows] + 16] == 58
        if seconds_at is not None:
            fits &= _pair(v, seconds_at) == 0
        if "*" in tail:
            at = tail.index("*")
            sign = _byte(w2, at)
            oh, om = _pair(v, at + 1), _pair(v, 6)
            fits &= ((sign == 43) | (sign == 45)) & (oh <= 23) & (om <= 59)
            offset[rows] = np.where(sign == 45, -1, 1) * (oh * 3600 + om * 60)
        ok[rows] &= fits
    ok &= seen & (year >= 2000) & (year <= 2100) & (month >= 1) & (month <= 12) & (hour <= 23) & (minute <= 59)
    if not ok.all():
        raise _NotFastError
    # first day of each month in the file's range, as days since 1970-01-01
    months = (year - 1970) * 12 + month - 1
    first = int(months.min())
    if int(months.max()) - first > 12 * 1000:
        raise _NotFastError
    month_starts = np.arange(first, int(months.max()) + 2).astype("datetime64[M]").astype("datetime64[D]").astype(
        np.int64)
    at = months - first
    if ((day < 1) | (day > month_starts[at + 1] - month_starts[at])).any():
        raise _NotFastError
    seconds = (month_starts[at] + day - 1) * 86400 + hour * 3600 + minute * 60 - offset
    if (seconds % 900).any():
        raise _NotFastError
    return seconds


def _wh(b: np.ndarray, words: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, dec: int) -> np.ndarray:
    """kWh written as plain decimals → Wh, half-up, exactly (integer arithmetic on the digits)."""
    length = hi - lo
    if not len(length) or (length == 0).any() or int(length.max()) > MAX_NUMBER_BYTES:
        raise _NotFastError
    out = np.empty(len(lo), dtype=np.int64)
    short = length <= 8
    if short.all():
        out[:] = _wh_short(words, hi, length, dec=dec)
    else:
        out[short] = _wh_short(words, hi[short], length[short], dec=dec)
        out[~short] = _wh_long(b, hi[~short], length[~short], dec=dec)
    return out


def _wh_short(words: np.ndarray, hi: np.ndarray, length: np.ndarray, *, dec: int) -> np.ndarray:
    """Numbers of at most 8 characters, all at once: the word ending at the field end holds
    the number in its top ``length`` bytes (last character in byte 7)."""
    x = words[hi - 8]
    valid = ~_LOW_BYTES[8 - length]
    top = valid & _U(0x80 * _ONES)
    digits = (x ^ _U(0x30 * _ONES)) & valid
    mark = _zero_bytes(x ^ _U(dec * _ONES)) & top  # 0x80 in the byte of the decimal mark
    first = top & ~(top << _U(8))
    if ((_above9(digits) & top & ~mark).any() or (mark & (mark - _U(1))).any()  # one mark at most
            or (mark & (first | _U(0x80 << 56))).any()):  # …neither first nor last
        raise _NotFastError
    below = (mark >> _U(7)) - _U(1)  # bytes below the mark (all ones without a mark)
    above = ~((mark << _U(1)) - _U(1))
    has = mark != 0
    value = _eight_digits(np.where(has, ((digits & below) << _U(8)) | (digits & above), digits))
    decimals = np.bitwise_count(top & above & ~mark).astype(np.int64) * has
    return (value * _POW10[6 - decimals] + 500) // 1000


def _wh_long(b: np.ndarray, hi: np.ndarray, length: np.ndarray, *, dec: int) -> np.ndarray:
    """Numbers of 9–18 characters, one character column at a time."""
    width = int(length.max())
    cols = np.arange(width)
    valid = cols >= (width - length)[:, None]  # right-aligned: column width-1 is the last character
    chars = b[hi[:, None] - width + cols]
    digit = chars - np.uint8(48)
    is_digit = (digit < 10) & valid
    is_dec = (chars == dec) & valid
    if not (is_digit | is_dec | ~valid).all():
        raise _NotFastError
    n_dec = is_dec.sum(axis=1)
    first = chars[np.arange(len(hi)), width - length]
    if (n_dec > 1).any() or (first == dec).any() or (chars[:, -1] == dec).any():
        raise _NotFastError
    right = np.cumsum(is_digit[:, ::-1], axis=1, dtype=np.int64)[:, ::-1] - is_digit  # digits to the right
    value = np.where(is_digit, digit.astype(np.int64) * _POW10[right], 0).sum(axis=1)
    decimals = np.where(n_dec == 1, np.where(is_dec, right, 0).sum(axis=1), 0)
    if (decimals > 6).any() or (is_digit.sum(axis=1) - decimals > 10).any():
        raise _NotFastError
    micro = value * _POW10[6 - decimals]  # mWh
    if (micro > 10**15).any():
        raise _NotFastError
    return (micro + 500) // 1000
