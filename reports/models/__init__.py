from __future__ import annotations

from .annual import AnnualStatement, AnnualStatementDownload
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
    LevelPeriod,
    RateUse,
    SettlementRule,
    TariffZoneHours,
)

__all__ = [
    "FEE_ORDER",
    "AllocationKey",
    "AllocationMethod",
    "AnnualStatement",
    "AnnualStatementDownload",
    "ClusterReport",
    "DayKind",
    "DiscountTier",
    "DistributionRate",
    "ExemptFee",
    "FeeCode",
    "GeneratorDay",
    "JobStatus",
    "LevelPeriod",
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
