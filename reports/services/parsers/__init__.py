"""Meter-data file parsers: bytes in, validated series (or line-level errors) out.

No database access here; the import service resolves PPE codes, membership and
storage (``reports.services.readings_import``). Formats: docs/formats-readings.md.
"""

from __future__ import annotations

from .common import ParseResult, RowError, Series
from .generic import parse_generic
from .tauron import parse_tauron

__all__ = ["ParseResult", "RowError", "Series", "parse_generic", "parse_tauron"]
