"""Reference data every installation needs: TERYT gminas and their borders,
the five big DSOs, the statutory conditions and full-load-hour defaults.

Idempotent: rows that exist are left as the administrator edited them.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from members.legal import CLUSTER_CONDITIONS, COOPERATIVE_CONDITIONS
from members.models import (
    DSO,
    ClusterKind,
    Comparison,
    ConditionCode,
    ConditionRule,
    FullLoadHours,
    Gmina,
    Source,
)

TERYT_DIR = Path(__file__).resolve().parent.parent / "data" / "teryt"

# PPE code prefixes: 590 + the DSO's GS1 company number (domain.md).
DEFAULT_DSOS: list[tuple[str, str, str]] = [
    ("tauron", "Tauron Dystrybucja S.A.", "5903224"),
    ("pge", "PGE Dystrybucja S.A.", "5905435"),
    ("enea", "Enea Operator sp. z o.o.", "5903106"),
    ("energa", "Energa-Operator S.A.", "5902438"),
    ("stoen", "Stoen Operator sp. z o.o.", "5903801"),
]

_ACT = CLUSTER_CONDITIONS
_COOP = COOPERATIVE_CONDITIONS
_START = dt.date(2024, 1, 1)

# (applies_to, code, comparison, threshold, unit, valid_from, valid_to, legal basis)
DEFAULT_CONDITIONS: list[tuple[str, str, str, str, str, dt.date, dt.date | None, str]] = [
    (ClusterKind.CLUSTER, ConditionCode.RES_SHARE, Comparison.AT_LEAST, "30", "%", _START, dt.date(2026, 12, 31), _ACT),
    (ClusterKind.CLUSTER, ConditionCode.RES_SHARE, Comparison.AT_LEAST, "50", "%", dt.date(2027, 1, 1), None, _ACT),
    (ClusterKind.CLUSTER, ConditionCode.CAPACITY_MAX, Comparison.AT_MOST, "150", "MW", _START, None, _ACT),
    (ClusterKind.CLUSTER, ConditionCode.DEMAND_COVERAGE, Comparison.AT_LEAST, "40", "%", _START, None, _ACT),
    (ClusterKind.CLUSTER, ConditionCode.STORAGE_SHARE, Comparison.AT_LEAST, "2", "%", _START, None, _ACT),
    (ClusterKind.COOPERATIVE, ConditionCode.DEMAND_COVERAGE, Comparison.AT_LEAST, "70", "%", _START, None, _COOP),
    (ClusterKind.COOPERATIVE, ConditionCode.CAPACITY_MAX, Comparison.AT_MOST, "10", "MW", _START, None, _COOP),
    (ClusterKind.COOPERATIVE, ConditionCode.THERMAL_MAX, Comparison.AT_MOST, "30", "MW", _START, None, _COOP),
    (ClusterKind.COOPERATIVE, ConditionCode.BIOGAS_MAX, Comparison.AT_MOST, "40000000", "m³/rok", _START, None, _COOP),
]

# Typical Polish annual full-load hours, used only for estimates before meter data.
DEFAULT_FULL_LOAD_HOURS: dict[str, int] = {
    Source.PV: 1000,
    Source.WIND: 2500,
    Source.HYDRO: 4000,
    Source.BIOGAS: 7500,
    Source.BIOMASS: 6500,
    Source.CHP_GAS: 5000,
    Source.CONVENTIONAL: 4000,
    Source.OTHER_RES: 2000,
}


@transaction.atomic
def teryt_load(*, directory: Path = TERYT_DIR) -> tuple[int, int]:
    """Load gminas and neighbour pairs; returns (gminas, pairs). Safe to repeat."""
    with open(directory / "gminy.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    existing = set(Gmina.objects.values_list("terc", flat=True))
    Gmina.objects.bulk_create(
        [
            Gmina(
                terc=r["terc"],
                name=r["name"],
                type=r["type"],
                powiat_terc=r["powiat_terc"],
                powiat_name=r["powiat_name"],
                woj_terc=r["woj_terc"],
                woj_name=r["woj_name"],
            )
            for r in rows
            if r["terc"] not in existing
        ],
        batch_size=1000,
    )
    through = Gmina.neighbours.through
    with open(directory / "gminy_adjacency.csv", encoding="utf-8", newline="") as fh:
        pairs = [(r["terc_a"], r["terc_b"]) for r in csv.DictReader(fh)]
    have = set(through.objects.values_list("from_gmina_id", "to_gmina_id"))
    links = []
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            if (x, y) not in have:
                links.append(through(from_gmina_id=x, to_gmina_id=y))
    through.objects.bulk_create(links, batch_size=2000)
    return len(rows), len(pairs)


@transaction.atomic
def registry_defaults_load() -> None:
    """DSOs, statutory conditions and full-load hours, unless already present."""
    for slug, name, prefix in DEFAULT_DSOS:
        DSO.objects.get_or_create(slug=slug, defaults={"name": name, "ppe_prefix": prefix})
    if not ConditionRule.objects.exists():
        for applies_to, code, cmp, threshold, unit, start, end, basis in DEFAULT_CONDITIONS:
            ConditionRule.objects.create(
                applies_to=applies_to,
                code=code,
                comparison=cmp,
                threshold=Decimal(threshold),
                unit=unit,
                valid_from=start,
                valid_to=end,
                legal_basis=basis,
            )
    if not FullLoadHours.objects.exists():
        FullLoadHours.objects.bulk_create(
            [FullLoadHours(source=s, hours=Decimal(h), valid_from=_START) for s, h in DEFAULT_FULL_LOAD_HOURS.items()]
        )


def reference_data_load() -> None:
    """Everything a fresh database needs before the first cluster is registered."""
    from members.signals import reference_data_loading

    teryt_load()
    registry_defaults_load()
    reference_data_loading.send(sender=None)  # the tariff side loads its defaults (reports.receivers)
