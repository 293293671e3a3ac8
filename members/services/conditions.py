"""Statutory conditions for the cluster's preferences, as dated rules.

The thresholds are ``ConditionRule`` rows (admin panel), never constants: the
RES share rises from 30 % to 50 % on 1 January 2027 and the capacity cap is
disputed (100 vs 150 MW). Figures come from meter data when a full year is
measured, otherwise they are estimated from installed capacity × full-load
hours and the members' declared annual demand.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import (
    RENEWABLE_SOURCES,
    Cluster,
    ClusterKind,
    Comparison,
    ConditionCode,
    ConditionRule,
    FullLoadHours,
)
from members.selectors import cluster_counts, generators_active, members_active, ppes_active, storage_active
from members.services.datastamp import (
    STATUS_KEY,
    VERSION_KEY,
    MeasuredEnergy,
    cache_usable,
    registry_fingerprint,
    status_cache,
)

logger = logging.getLogger(__name__)

HUNDRED = Decimal(100)
KW_PER_MW = Decimal(1000)


@dataclass(frozen=True)
class ConditionResult:
    code: str
    name: str
    ok: bool | None
    value: Decimal | None
    threshold: Decimal
    unit: str
    comparison: str
    estimated: bool
    note: str = ""


@dataclass(frozen=True)
class _Figure:
    value: Decimal | None
    estimated: bool
    note: str = ""


def rules_in_force(*, kind: str, on: dt.date) -> list[ConditionRule]:
    """One rule per condition code: the latest that is valid on ``on``."""
    rules = ConditionRule.objects.filter(applies_to=kind, valid_from__lte=on).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=on)
    )
    latest: dict[str, ConditionRule] = {}
    for rule in rules.order_by("valid_from", "pk"):
        latest[rule.code] = rule
    order = list(ConditionCode.values)
    return sorted(latest.values(), key=lambda r: order.index(r.code) if r.code in order else len(order))


def _full_load_hours(on: dt.date) -> dict[str, Decimal]:
    rows = FullLoadHours.objects.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
    hours: dict[str, Decimal] = {}
    for row in rows.order_by("valid_from", "pk"):
        hours[row.source] = row.hours
    return hours


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return part * HUNDRED / whole


class _Inputs:
    """The active installations and demand of a cluster on a day, read once."""

    def __init__(self, *, cluster: Cluster, on: dt.date, measured: MeasuredEnergy | None) -> None:
        self.measured = measured
        gens = list(generators_active(cluster=cluster, on=on).values("source", "capacity_kw", "thermal_kw", "biogas_m3_per_year"))
        self.capacity_kw = sum((g["capacity_kw"] for g in gens), Decimal(0))
        self.renewable_kw = sum((g["capacity_kw"] for g in gens if g["source"] in RENEWABLE_SOURCES), Decimal(0))
        self.thermal_kw = sum((g["thermal_kw"] or Decimal(0) for g in gens), Decimal(0))
        self.biogas_m3 = sum((g["biogas_m3_per_year"] or Decimal(0) for g in gens), Decimal(0))
        self.storage_kw = sum(storage_active(cluster=cluster, on=on).values_list("power_kw", flat=True), Decimal(0))
        flh = _full_load_hours(on)
        self.missing_hours = sorted({g["source"] for g in gens if g["source"] not in flh})
        self.generation_kwh = sum((g["capacity_kw"] * flh.get(g["source"], 0) for g in gens), Decimal(0))
        self.renewable_generation_kwh = sum(
            (g["capacity_kw"] * flh.get(g["source"], 0) for g in gens if g["source"] in RENEWABLE_SOURCES), Decimal(0)
        )
        demand = list(ppes_active(cluster=cluster, on=on).values_list("annual_demand_kwh", flat=True))
        self.ppes = len(demand)
        self.ppes_without_demand = sum(1 for d in demand if d is None)
        self.declared_demand_kwh = sum((d for d in demand if d is not None), Decimal(0))

    def _hours_note(self) -> str:
        if not self.missing_hours:
            return ""
        return _("Brak rocznego czasu pracy (FullLoadHours) dla źródeł: %(s)s.") % {"s": ", ".join(self.missing_hours)}

    def res_share(self) -> _Figure:
        m = self.measured
        if m is not None and m.fed_in_wh > 0:
            return _Figure(_pct(Decimal(m.renewable_fed_in_wh), Decimal(m.fed_in_wh)), False, _("Z danych pomiarowych za %(y)s r.") % {"y": m.year})
        if self.missing_hours:
            return _Figure(None, True, self._hours_note())
        if self.generation_kwh <= 0:
            return _Figure(None, True, _("Brak jednostek wytwórczych: nie ma energii wprowadzonej do sieci."))
        return _Figure(
            _pct(self.renewable_generation_kwh, self.generation_kwh),
            True,
            _("Szacunek: moc zainstalowana × roczny czas pracy źródła (bez autokonsumpcji za licznikiem)."),
        )

    def demand_coverage(self, *, renewable_only: bool) -> _Figure:
        m = self.measured
        estimated = False
        notes: list[str] = []
        if m is not None and m.generated_wh > 0 and not renewable_only:
            generation = Decimal(m.generated_wh) / 1000
        else:
            if self.missing_hours:
                return _Figure(None, True, self._hours_note())
            generation = self.renewable_generation_kwh if renewable_only else self.generation_kwh
            estimated = True
            notes.append(_("wytwarzanie oszacowane z mocy × rocznego czasu pracy"))
        if m is not None and m.drawn_wh > 0:
            demand = Decimal(m.drawn_wh) / 1000
            notes.append(_("zapotrzebowanie z danych pomiarowych za %(y)s r.") % {"y": m.year})
        else:
            if self.ppes == 0 or self.ppes_without_demand == self.ppes:
                return _Figure(
                    None, True, _("Brak danych o zapotrzebowaniu: żaden aktywny PPE nie ma deklarowanego rocznego zużycia ani danych pomiarowych.")
                )
            demand = self.declared_demand_kwh
            estimated = True
            notes.append(_("zapotrzebowanie z deklarowanego rocznego zużycia"))
            if self.ppes_without_demand:
                notes.append(
                    _("%(n)s z %(all)s PPE nie ma deklarowanego zużycia — pokrycie może być zawyżone")
                    % {"n": self.ppes_without_demand, "all": self.ppes}
                )
        if demand <= 0:
            return _Figure(None, estimated, _("Zapotrzebowanie członków wynosi 0 kWh."))
        note = "; ".join(notes)
        return _Figure(_pct(generation, demand), estimated, note[:1].upper() + note[1:] + ".")

    def storage_share(self) -> _Figure:
        if self.capacity_kw <= 0:
            return _Figure(None, False, _("Brak mocy wytwórczej, do której można odnieść moc magazynów."))
        return _Figure(_pct(self.storage_kw, self.capacity_kw), False)


def _figure(inputs: _Inputs, *, code: str, kind: str) -> _Figure:
    cooperative = kind == ClusterKind.COOPERATIVE
    if code == ConditionCode.RES_SHARE:
        return inputs.res_share()
    if code == ConditionCode.CAPACITY_MAX:
        # A cooperative's cap is on renewable capacity (art. 2 pkt 33a ustawy o OZE);
        # a cluster's on all generating units and renewable installations.
        kw = inputs.renewable_kw if cooperative else inputs.capacity_kw
        return _Figure(kw / KW_PER_MW, False)
    if code == ConditionCode.DEMAND_COVERAGE:
        return inputs.demand_coverage(renewable_only=cooperative)
    if code == ConditionCode.STORAGE_SHARE:
        return inputs.storage_share()
    if code == ConditionCode.THERMAL_MAX:
        return _Figure(inputs.thermal_kw / KW_PER_MW, False)
    if code == ConditionCode.BIOGAS_MAX:
        return _Figure(inputs.biogas_m3, False)
    return _Figure(None, False, _("Nieznany warunek: %(code)s.") % {"code": code})


def _plain(value: Decimal) -> Decimal:
    """30.0000 → 30, 2.5000 → 2.5 (without the exponent form normalize() gives)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _display(value: Decimal, comparison: str) -> Decimal:
    # Round towards failing the check, so a shown value never contradicts the verdict
    # (29.996 % for "≥ 30 %" shows 29.99, not 30.00).
    rounding = ROUND_DOWN if comparison == Comparison.AT_LEAST else ROUND_UP
    return value.quantize(Decimal("0.01"), rounding=rounding)


def cluster_conditions(*, cluster: Cluster, on: dt.date, measured: MeasuredEnergy | None = None) -> list[ConditionResult]:
    """Evaluate every rule in force on ``on`` for the cluster's kind."""
    inputs = _Inputs(cluster=cluster, on=on, measured=measured)
    results: list[ConditionResult] = []
    for rule in rules_in_force(kind=cluster.kind, on=on):
        fig = _figure(inputs, code=rule.code, kind=cluster.kind)
        ok: bool | None = None
        if fig.value is not None:
            ok = fig.value >= rule.threshold if rule.comparison == Comparison.AT_LEAST else fig.value <= rule.threshold
        results.append(
            ConditionResult(
                code=rule.code,
                name=str(ConditionCode(rule.code).label) if rule.code in ConditionCode.values else rule.code,
                ok=ok,
                value=None if fig.value is None else _display(fig.value, rule.comparison),
                threshold=_plain(rule.threshold),
                unit=rule.unit,
                comparison=Comparison(rule.comparison).label,
                estimated=fig.estimated,
                note=fig.note,
            )
        )
    return results


def _measured_for(*, cluster: Cluster, on: dt.date) -> MeasuredEnergy | None:
    """Meter data for the last full calendar year, when the meter side answers (``members.signals``)."""
    from members.signals import measured_energy_ask

    measured = measured_energy_ask(cluster=cluster, year=on.year - 1)
    return measured if isinstance(measured, MeasuredEnergy) else None


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def cluster_status(*, cluster: Cluster, on: dt.date) -> dict[str, Any]:
    """The dashboard summary and the JSON of ``manage.py cluster_status --json``.

    Decimals are strings (exact, locale-free); dates are ISO strings.
    """
    from members.services.area import area_check

    area = area_check(cluster=cluster, on=on)
    conditions = cluster_conditions(cluster=cluster, on=on, measured=_measured_for(cluster=cluster, on=on))
    counts = cluster_counts(cluster=cluster, on=on)
    warnings: list[str] = []
    if cluster.kind == ClusterKind.CLUSTER and not any(
        m.is_jst_or_controlled for m in members_active(cluster=cluster, on=on)
    ):
        warnings.append(
            _(
                "Klaster nie obejmuje jednostki samorządu terytorialnego (gminy, powiatu) ani spółki przez nią "
                "kontrolowanej — od nowelizacji z 2023 r. to warunek klastra energii (art. 2 pkt 15a ustawy o OZE)."
            )
        )
    if counts["ppes_without_demand"]:
        warnings.append(
            ngettext(
                "%(n)s aktywny PPE nie ma deklarowanego rocznego zużycia ani danych pomiarowych.",
                "%(n)s aktywnych PPE nie ma deklarowanego rocznego zużycia ani danych pomiarowych.",
                counts["ppes_without_demand"],
            )
            % {"n": counts["ppes_without_demand"]}
        )
    for c in conditions:
        if c.ok is None:
            warnings.append(_("Nie można ocenić warunku „%(name)s”: %(note)s") % {"name": c.name, "note": c.note})
    verdicts = [c.ok for c in conditions]
    return {
        "cluster": cluster.slug,
        "name": cluster.name,
        "kind": cluster.kind,
        "dso": cluster.dso.slug,
        "date": on.isoformat(),
        "area_ok": area.ok,
        "area_errors": area.errors,
        "area_mode": area.mode,
        "area_explanation": area.explanation,
        "area_gminas": [{"terc": g.terc, "name": g.name, "powiat": g.powiat_name} for g in area.gminas],
        "conditions_ok": None if None in verdicts else all(verdicts),
        "conditions": [
            {**asdict(c), "value": _dec(c.value), "threshold": _dec(c.threshold)} for c in conditions
        ],
        "members": counts["members"],
        "ppes": counts["ppes"],
        "generators": counts["generators"],
        "installed_mw": _dec(counts["installed_mw"]),
        "renewable_mw": _dec(counts["renewable_mw"]),
        "storage_units": counts["storage_units"],
        "storage_mw": _dec(counts["storage_mw"]),
        "storage_mwh": _dec(counts["storage_mwh"]),
        "declared_demand_mwh": _dec(counts["declared_demand_mwh"]),
        "warnings": warnings,
    }


def cluster_status_cached(*, cluster: Cluster, on: dt.date) -> dict[str, Any]:
    """``cluster_status`` computed once per change of the data it reads (``members.services.datastamp``)."""
    if not cache_usable():
        return cluster_status(cluster=cluster, on=on)
    cache = status_cache()
    version_key, status_key = VERSION_KEY.format(cluster_id=cluster.pk), STATUS_KEY.format(cluster_id=cluster.pk)
    found = cache.get_many([version_key, status_key])
    # Read before computing: a change made meanwhile replaces the token or the
    # fingerprint, so a copy computed from older data is never served.
    stamp = (found.get(version_key), registry_fingerprint(), on.isoformat())
    cached = found.get(status_key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    status = cluster_status(cluster=cluster, on=on)
    cache.set(status_key, (stamp, status), timeout=settings.OKE_STATUS_CACHE_SECONDS)
    return status
