"""Meter-data file parsers: bytes in, validated series (or line-level errors) out.

No database access here; the import service resolves PPE codes, membership and
storage (``reports.metering.imports``). Formats and limits: docs/formats-readings.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .common import ParseResult, ProgressFn, RowError, Series, collect, max_file_days, max_wh_per_reading
from .generic import iter_generic, parse_generic
from .production import ProductionParse, ProductionSeries, parse_production
from .tauron import iter_tauron, parse_tauron

FORMATS = ("generic", "tauron", "production")  # production: parse_production, not parse_stream

__all__ = [
    "FORMATS", "ParseResult", "ProductionParse", "ProductionSeries", "ProgressFn", "RowError", "Series", "collect",
    "max_file_days", "max_wh_per_reading", "parse_generic", "parse_production", "parse_stream", "parse_tauron",
]


def parse_stream(
    fmt: str, stream: BinaryIO, *, on_progress: ProgressFn | None = None, chunk_rows: int = 200_000
) -> Iterator[ParseResult]:
    """Parse a meter-data file from a binary stream, one ``ParseResult`` per chunk.

    Each result holds that chunk's series (one per PPE and resolution, sorted by
    start; a PPE may come again in later chunks, never with an interval twice)
    and that chunk's errors; ``rows`` counts its data rows. Errors found by the
    whole-file checks (period, duplicates, mixed resolution in a PPE-day) may come
    in any later result, including a last one without series, so a consumer saves
    nothing before the iterator is exhausted with no error. Once a file has an
    error no further series are yielded. ``chunk_rows`` is a lower bound of the
    lines per chunk (eLicznik files come as one result).
    """
    if fmt == "generic":
        return iter_generic(stream, on_progress=on_progress, chunk_rows=chunk_rows)
    if fmt == "tauron":
        return iter_tauron(stream, on_progress=on_progress)
    raise ValueError(f"unknown meter-data format {fmt!r}")


