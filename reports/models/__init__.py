from __future__ import annotations

from .outdated import RunOutdatedReason
from .production import GeneratorDay
from .readings import JobStatus, MeterDay, Quality, ReadingImport
from .settlements import (
    AllocationKey,
    AllocationMethod,
    ClusterReport,
    SettlementLine,
    SettlementRun,
    Statement,
    StatementDownload,
)
from .tariffs import (
    FEE_ORDER,
    DayKind,
    DiscountTier,
    DistributionRate,
    ExemptFee,
    FeeCode,
    RateUse,
    SettlementRule,
    TariffZoneHours,
)

__all__ = [
    "FEE_ORDER",
    "AllocationKey",
    "AllocationMethod",
    "ClusterReport",
    "DayKind",
    "DiscountTier",
    "DistributionRate",
    "ExemptFee",
    "FeeCode",
    "GeneratorDay",
    "JobStatus",
    "MeterDay",
    "Quality",
    "RateUse",
    "ReadingImport",
    "RunOutdatedReason",
    "SettlementLine",
    "SettlementRule",
    "SettlementRun",
    "Statement",
    "StatementDownload",
    "TariffZoneHours",
]
