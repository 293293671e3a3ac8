"""Uploaded text files: which encoding they are in.

Files come as UTF-8 (with or without a BOM) or, from Excel on Polish Windows
("CSV (rozdzielany przecinkami)"), as Windows-1250. One rule for every reader
of uploaded text (meter files, registry CSVs): the first bytes that are not
plain ASCII decide — UTF-8 when they decode as UTF-8, Windows-1250 otherwise —
and the whole file is then read in that encoding.
"""

from __future__ import annotations

UTF8 = "utf-8"
WINDOWS_1250 = "cp1250"


def text_encoding(data: bytes) -> str | None:
    """``"utf-8"`` or ``"cp1250"`` for the first non-ASCII part of a file (whole lines: a
    UTF-8 character must not be cut); None while ``data`` is plain ASCII, which both read alike."""
    if data.isascii():
        return None
    try:
        data.decode(UTF8)
    except UnicodeDecodeError:
        return WINDOWS_1250
    return UTF8
