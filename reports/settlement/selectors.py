"""Which tariffs, fees, tiers and rules a settlement period uses.

- Distribution rates are resolved per PPE and per day: the most specific row in
  force wins (DSO + tariff group > DSO only > tariff group only > general), and
  among equally specific rows the later ``valid_from``. A period in which rates
  or fees change is split into segments of days with one set of rates each.
- Exempt fees: per fee code the row in force with the latest ``valid_from``.
- Discount tiers and the settlement rule must be the same over the whole period:
  the tier is reached by the autoconsumption level of the period, so a tier
  table that changes inside it has no single meaning. Such a period is refused
  (settle the parts separately), as is any day no rate, tier or rule covers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import translation

from members.models import MeteringPoint
from reports.models import DiscountTier, DistributionRate, ExemptFee, FeeCode, SettlementRule

DatedRow = DistributionRate | ExemptFee | DiscountTier | SettlementRule


@dataclass(frozen=True)
class TariffSegment:
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive
    rates: dict[int, DistributionRate]  # PPE id → rate
    fees: list[ExemptFee]
    exempt: bool  # the day is on or before the rule's exemption end


@dataclass(frozen=True)
class TariffPlan:
    segments: list[TariffSegment]
    tiers: list[DiscountTier]
    rule: SettlementRule

    def snapshot(self) -> dict:
        rates: dict[int, dict] = {}
        fees: dict[int, dict] = {}
        for seg in self.segments:
            for rate in seg.rates.values():
                row = rates.setdefault(rate.pk, rate_json(rate) | {"used_from": str(seg.start)})
                row["used_to"] = str(seg.end)
            for fee in seg.fees:
                row = fees.setdefault(fee.pk, fee_json(fee) | {"used_from": str(seg.start)})
                row["used_to"] = str(seg.end)
        used: list[tuple[str, DatedRow, dict]] = [
            *(("rate", r, rates[r.pk]) for r in {r.pk: r for s in self.segments for r in s.rates.values()}.values()),
            *(("fee", f, fees[f.pk]) for f in {f.pk: f for s in self.segments for f in s.fees}.values()),
            *(("tier", t, tier_json(t)) for t in self.tiers),
            ("rule", self.rule, rule_json(self.rule)),
        ]
        return {
            "rates": list(rates.values()),
            "fees": list(fees.values()),
            "tiers": [tier_json(t) for t in self.tiers],
            "rule": rule_json(self.rule),
            "segments": [
                {"start": str(s.start), "end": str(s.end), "exempt": s.exempt, "rate_ids": sorted({r.pk for r in s.rates.values()}),
                 "fee_ids": [f.pk for f in s.fees]}
                for s in self.segments
            ],
            "unverified": [unverified_json(kind, data, source=row.source) for kind, row, data in used if not row.verified],
        }


def rate_json(rate: DistributionRate) -> dict:
    return {
        "id": rate.pk,
        "dso": rate.dso.name if rate.dso is not None else None,
        "tariff_group": rate.tariff_group or None,
        "variable_rate": str(rate.variable_rate),
        "quality_rate": str(rate.quality_rate),
        "valid_from": str(rate.valid_from),
        "valid_to": str(rate.valid_to) if rate.valid_to else None,
        "source_note": rate.source,
    }


def fee_json(fee: ExemptFee) -> dict:
    return {
        "id": fee.pk,
        "code": fee.code,
        "mode": fee.mode,
        "rate": str(fee.rate) if fee.rate is not None else None,
        "effective_rate": str(fee.effective_rate),
        "obligation_pct": str(fee.obligation_pct) if fee.obligation_pct is not None else None,
        "price": str(fee.price) if fee.price is not None else None,
        "applies_to_cluster": fee.applies_to_cluster,
        "applies_to_cooperative": fee.applies_to_cooperative,
        "valid_from": str(fee.valid_from),
        "valid_to": str(fee.valid_to) if fee.valid_to else None,
    }


def tier_json(tier: DiscountTier) -> dict:
    return {
        "id": tier.pk,
        "threshold_pct": str(tier.threshold_pct),
        "discount_pct": str(tier.discount_pct),
        "valid_from": str(tier.valid_from),
        "valid_to": str(tier.valid_to) if tier.valid_to else None,
    }


def rule_json(rule: SettlementRule) -> dict:
    return {
        "id": rule.pk,
        "exemption_end_date": str(rule.exemption_end_date),
        "cooperative_coefficient": str(rule.cooperative_coefficient),
        "completeness_gate_pct": str(rule.completeness_gate_pct),
        "storage_price_spread": str(rule.storage_price_spread),
        "vat_rate_pct": str(rule.vat_rate_pct),
        "valid_from": str(rule.valid_from),
        "valid_to": str(rule.valid_to) if rule.valid_to else None,
    }


def unverified_json(kind: str, data: dict, *, source: str) -> dict:
    """A used row that was not verified, as ``SnapshotUnverified`` records it: ``kind`` is a
    ``RateUse.Kind`` value, ``data`` the row as ``rate_json`` / ``fee_json`` / ... record it."""
    return {"kind": kind, "id": data.get("id"), "row": row_label(kind, data), "source": source}


def row_label(kind: str, data: dict) -> str:
    """The row in the document language, from its recorded values (a stored run's snapshot reads the same)."""
    start = f" (od {data['valid_from']})" if data.get("valid_from") else ""
    if kind == "rate":
        return (f"Stawka dystrybucyjna {data.get('dso') or 'każdy OSD'} / {data.get('tariff_group') or 'każda grupa'}: "
                f"{data.get('variable_rate')} + {data.get('quality_rate')} zł/MWh{start}")
    if kind == "fee":
        with translation.override("pl"):
            name = str(FeeCode(data["code"]).label) if data.get("code") in FeeCode.values else str(data.get("code"))
        return f"{name}: {data.get('effective_rate')} zł/MWh{start}"
    if kind == "tier":
        return f"Próg upustu ≥ {data.get('threshold_pct')} % → {data.get('discount_pct')} %{start}"
    return f"Zasady rozliczenia{start}"


def _covers(row, day: dt.date) -> bool:
    return row.valid_from <= day and (row.valid_to is None or row.valid_to >= day)


def day_ranges(days: Sequence[dt.date]) -> str:
    """``2025-01-01–2025-01-10, 2025-02-03`` for a sorted list of days."""
    out: list[str] = []
    run: list[dt.date] = []
    for day in sorted(days):
        if run and day != run[-1] + dt.timedelta(days=1):
            out.append(_range(run))
            run = []
        run.append(day)
    if run:
        out.append(_range(run))
    return ", ".join(out)


def _range(run: list[dt.date]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}"


def distribution_rate_select(
    *, rates: Sequence[DistributionRate], dso_id: int, tariff_group: str, day: dt.date
) -> DistributionRate | None:
    """The most specific rate in force on ``day`` for a PPE (see module docstring)."""
    best, best_key = None, None
    for rate in rates:
        if not _covers(rate, day):
            continue
        if rate.dso_id is not None and rate.dso_id != dso_id:
            continue
        if rate.tariff_group and rate.tariff_group.upper() != tariff_group.upper():
            continue
        key = (rate.dso_id is not None, bool(rate.tariff_group), rate.valid_from, rate.pk)
        if best_key is None or key > best_key:
            best, best_key = rate, key
    return best


def tariff_plan(*, ppes: Sequence[MeteringPoint], start: dt.date, end: dt.date) -> TariffPlan:
    """Rates per PPE and day, fees, tiers and the rule for ``start``..``end``; raises
    ``ValidationError`` naming the days (and DSO / tariff group) nothing covers."""
    if end < start:
        raise ValidationError("Koniec okresu jest wcześniejszy niż jego początek.")
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    rates = list(DistributionRate.objects.in_force(start, end).select_related("dso"))
    fees = list(ExemptFee.objects.in_force(start, end).order_by("code", "valid_from", "pk"))
    tiers = list(DiscountTier.objects.in_force(start, end).order_by("threshold_pct", "pk"))
    rules = list(SettlementRule.objects.in_force(start, end).order_by("valid_from", "pk"))
    errors: list[str] = []

    rule_of_day = {d: max((r for r in rules if _covers(r, d)), key=lambda r: (r.valid_from, r.pk), default=None) for d in days}
    if missing := [d for d, r in rule_of_day.items() if r is None]:
        errors.append(f"Brak zasad rozliczenia (SettlementRule) w dniach {day_ranges(missing)}.")
    if len({r.pk for r in rule_of_day.values() if r}) > 1:
        errors.append("Zasady rozliczenia zmieniają się w trakcie okresu — rozlicz części okresu osobno.")

    tiers_of_day = {d: tuple(t.pk for t in tiers if _covers(t, d)) for d in days}
    if missing := [d for d, ids in tiers_of_day.items() if not ids]:
        errors.append(f"Brak progów upustu (DiscountTier) w dniach {day_ranges(missing)}.")
    if len({ids for ids in tiers_of_day.values() if ids}) > 1:
        errors.append("Progi upustu zmieniają się w trakcie okresu — rozlicz części okresu osobno.")

    groups = sorted({(p.dso_id, p.tariff_group) for p in ppes}, key=lambda g: (g[0], g[1]))
    names = {p.dso_id: p.dso.name for p in ppes}
    chosen: dict[tuple[int, str], dict[dt.date, DistributionRate]] = {}
    for dso_id, group in groups:
        per_day = {d: distribution_rate_select(rates=rates, dso_id=dso_id, tariff_group=group, day=d) for d in days}
        if missing := [d for d, r in per_day.items() if r is None]:
            errors.append(
                f"Brak stawki dystrybucyjnej dla OSD {names[dso_id]}, grupa taryfowa {group} "
                f"w dniach {day_ranges(missing)}."
            )
        chosen[(dso_id, group)] = {d: r for d, r in per_day.items() if r is not None}
    if errors:
        raise ValidationError(errors)

    def fees_on(day: dt.date) -> list[ExemptFee]:
        latest: dict[str, ExemptFee] = {}
        for fee in fees:  # ordered by valid_from: the later row wins
            if _covers(fee, day):
                latest[fee.code] = fee
        return list(latest.values())

    rule = next(r for r in rule_of_day.values() if r is not None)  # one rule, every day (checked above)
    segments: list[TariffSegment] = []
    previous_key = None
    for day in days:
        day_fees = fees_on(day)
        exempt = day <= rule.exemption_end_date
        rate_ids = tuple(chosen[g][day].pk for g in groups)
        key = (rate_ids, tuple(f.pk for f in day_fees), exempt)
        if key == previous_key:
            segments[-1] = TariffSegment(segments[-1].start, day, segments[-1].rates, segments[-1].fees, exempt)
            continue
        rates_by_ppe = {p.pk: chosen[(p.dso_id, p.tariff_group)][day] for p in ppes}
        segments.append(TariffSegment(day, day, rates_by_ppe, day_fees, exempt))
        previous_key = key
    day_tiers = [t for t in tiers if t.pk in set(tiers_of_day[start])]
    return TariffPlan(segments=segments, tiers=day_tiers, rule=rule)
