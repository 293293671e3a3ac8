"""Types and helpers shared by the meter-data parsers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ProgressFn = Callable[[float], None]
MAX_ERRORS = 1000


@dataclass(frozen=True)
class RowError:
    """One problem in an input file: the line (1-based, None = the whole file), the field and the rule."""

    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class Series:
    """Readings of one PPE: UTC interval starts (epoch seconds, sorted), Wh, quality, source lines."""

    ppe_code: str | None
    resolution_min: int
    starts: np.ndarray  # int64 epoch seconds
    import_wh: np.ndarray  # int64
    export_wh: np.ndarray  # int64
    quality: np.ndarray  # uint8
    lines: np.ndarray  # int64, file line of each reading (first line of the PPE for messages)


@dataclass
class ParseResult:
    series: list[Series] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    error_count: int = 0

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def kwh_to_wh(kwh: np.ndarray) -> np.ndarray:
    """kWh (float, ≥ 0) → integer Wh, rounded half-up.

    The epsilon absorbs binary representation error (1.0005 kWh is stored as
    1000.4999… Wh) for inputs with up to six decimals of kWh; values are
    validated non-negative before this runs.
    """
    return np.floor(np.asarray(kwh, dtype=np.float64) * 1000.0 + 0.5 + 1e-6).astype(np.int64)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1250 (older eLicznik exports)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1250")
