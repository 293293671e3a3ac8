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
- Time zones: at the most specific level, a PPE's group has either one all-hours
  rate (zone "") or zone rates. A zoned group needs its zone schedule in force
  (``TariffZoneHours``, ``reports.settlement.zones``) with every local hour in exactly
  one zone, and a rate for every zone the schedule uses; otherwise the period is
  refused naming the group, the zone (or kind of day and hour) and the days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import translation

from members.models import MeteringPoint
from reports.models import DayKind, DiscountTier, DistributionRate, ExemptFee, FeeCode, SettlementRule, TariffZoneHours
from reports.settlement.zones import MONTH_NAMES, day_kind, schedule_label, schedules_in_force

DatedRow = DistributionRate | ExemptFee | DiscountTier | SettlementRule | TariffZoneHours
ALL_HOURS = ""  # the zone of an all-hours (całodobowa) rate


@dataclass(frozen=True)
class TariffSegment:
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive
    rates: dict[int, dict[str, DistributionRate]]  # PPE id → zone code → rate ("" = all hours)
    fees: list[ExemptFee]
    exempt: bool  # the day is on or before the rule's exemption end
    zone_hours: tuple[TariffZoneHours, ...] = ()  # the zone schedules' rows of the zoned PPEs' groups


@dataclass(frozen=True)
class TariffPlan:
    segments: list[TariffSegment]
    tiers: list[DiscountTier]
    rule: SettlementRule
    # (DSO id, tariff group) → day → the zone of each local clock hour 0..23, on the days the group is zoned
    zone_days: dict[tuple[int, str], dict[dt.date, tuple[str, ...]]] = field(default_factory=dict)

    def snapshot(self) -> dict:
        rates: dict[int, dict] = {}
        fees: dict[int, dict] = {}
        zones: dict[int, dict] = {}
        for seg in self.segments:
            for zoned in seg.rates.values():
                for rate in zoned.values():
                    row = rates.setdefault(rate.pk, rate_json(rate) | {"used_from": str(seg.start)})
                    row["used_to"] = str(seg.end)
            for fee in seg.fees:
                row = fees.setdefault(fee.pk, fee_json(fee) | {"used_from": str(seg.start)})
                row["used_to"] = str(seg.end)
            for hours in seg.zone_hours:
                row = zones.setdefault(hours.pk, zone_hours_json(hours) | {"used_from": str(seg.start)})
                row["used_to"] = str(seg.end)
        used: list[tuple[str, DatedRow, dict]] = [
            *(("rate", r, rates[r.pk]) for r in {
                r.pk: r for s in self.segments for zoned in s.rates.values() for r in zoned.values()}.values()),
            *(("fee", f, fees[f.pk]) for f in {f.pk: f for s in self.segments for f in s.fees}.values()),
            *(("tier", t, tier_json(t)) for t in self.tiers),
            ("rule", self.rule, rule_json(self.rule)),
            *(("zone", z, zones[z.pk]) for z in {z.pk: z for s in self.segments for z in s.zone_hours}.values()),
        ]
        return {
            "rates": list(rates.values()),
            "fees": list(fees.values()),
            "tiers": [tier_json(t) for t in self.tiers],
            "rule": rule_json(self.rule),
            "segments": [
                {"start": str(s.start), "end": str(s.end), "exempt": s.exempt,
                 "rate_ids": sorted({r.pk for zoned in s.rates.values() for r in zoned.values()}),
                 "fee_ids": [f.pk for f in s.fees]}
                for s in self.segments
            ],
            "zone_hours": list(zones.values()),
            "unverified": [unverified_json(kind, data, source=row.source) for kind, row, data in used if not row.verified],
        }


def rate_json(rate: DistributionRate) -> dict:
    return {
        "id": rate.pk,
        "dso": rate.dso.name if rate.dso is not None else None,
        "tariff_group": rate.tariff_group or None,
        "zone": rate.zone,
        "variable_rate": str(rate.variable_rate),
        "quality_rate": str(rate.quality_rate),
        "valid_from": str(rate.valid_from),
        "valid_to": str(rate.valid_to) if rate.valid_to else None,
        "source_note": rate.source,
    }


def zone_hours_json(row: TariffZoneHours) -> dict:
    return {
        "id": row.pk,
        "dso": row.dso.name if row.dso is not None else None,
        "tariff_group": row.tariff_group,
        "zone": row.zone,
        "month_from": row.month_from,
        "month_to": row.month_to,
        "day_kind": row.day_kind,
        "hour_from": row.hour_from,
        "hour_to": row.hour_to,
        "valid_from": str(row.valid_from),
        "valid_to": str(row.valid_to) if row.valid_to else None,
        "source_note": row.source,
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
        "evaluation_period": rule.evaluation_period,
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
        zone = f" strefa {data['zone']}" if data.get("zone") else ""
        return (f"Stawka dystrybucyjna {data.get('dso') or 'każdy OSD'} / {data.get('tariff_group') or 'każda grupa'}{zone}: "
                f"{data.get('variable_rate')} + {data.get('quality_rate')} zł/MWh{start}")
    if kind == "zone":
        with translation.override("pl"):
            days = str(DayKind(data["day_kind"]).label) if data.get("day_kind") in DayKind.values else str(data.get("day_kind"))
        months = ("" if (data.get("month_from"), data.get("month_to")) == (1, 12)
                  else f", {MONTH_NAMES[int(data['month_from']) - 1]}–{MONTH_NAMES[int(data['month_to']) - 1]}")
        return (f"Godziny strefy {data.get('zone')} {data.get('dso') or 'każdy OSD'} / {data.get('tariff_group')}: "
                f"{days}{months}, {data.get('hour_from')}:00–{data.get('hour_to')}:00{start}")
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


def distribution_rates_select(
    *, rates: Sequence[DistributionRate], dso_id: int, tariff_group: str, day: dt.date
) -> dict[str, DistributionRate]:
    """The rates in force on ``day`` for a PPE, by zone ("" = all hours): those of the most specific
    level that has any (DSO + group > DSO > group > general); per zone the later ``valid_from`` wins."""
    candidates = [
        r for r in rates
        if _covers(r, day) and (r.dso_id is None or r.dso_id == dso_id)
        and (not r.tariff_group or r.tariff_group.upper() == tariff_group.upper())
    ]
    if not candidates:
        return {}
    level = max((r.dso_id is not None, bool(r.tariff_group)) for r in candidates)
    out: dict[str, DistributionRate] = {}
    for rate in sorted(candidates, key=lambda r: (r.valid_from, r.pk)):
        if (rate.dso_id is not None, bool(rate.tariff_group)) == level:
            out[rate.zone] = rate
    return out


def distribution_rate_select(
    *, rates: Sequence[DistributionRate], dso_id: int, tariff_group: str, day: dt.date
) -> DistributionRate | None:
    """The all-hours rate in force on ``day`` for a PPE (None where its group is zoned or nothing covers)."""
    chosen = distribution_rates_select(rates=rates, dso_id=dso_id, tariff_group=tariff_group, day=day)
    return chosen.get(ALL_HOURS) if set(chosen) == {ALL_HOURS} else None


def _day_zones(
    rows: Sequence[TariffZoneHours], day: dt.date, label: str
) -> tuple[tuple[str, ...], list[str]]:
    """The zone of each local clock hour of ``day`` and the problems of the schedule on that day
    (an hour in no zone or in several), without the day (the caller lists the days)."""
    kind = day_kind(day)
    zones: list[list[str]] = [[] for _ in range(24)]
    for row in rows:
        if (row.day_kind in (DayKind.ALL, kind)) and day.month in row.months():
            for hour in range(row.hour_from, row.hour_to):
                zones[hour].append(row.zone)
    with translation.override("pl"):
        kind_label = str(DayKind(kind).label)
    problems = []
    for hour, found in enumerate(zones):
        if len(found) != 1:
            what = "nie należy do żadnej strefy" if not found else f"należy do kilku stref ({', '.join(found)})"
            problems.append(f"Godziny stref {label}: {kind_label}, godzina {hour}:00–{hour + 1}:00 {what}")
    return tuple(z[0] if z else "" for z in zones), problems


def _group_rates(
    *, rates: Sequence[DistributionRate], zone_rows: Sequence[TariffZoneHours], dso_id: int, dso_name: str,
    group: str, days: Sequence[dt.date],
) -> tuple[
    dict[dt.date, dict[str, DistributionRate]], dict[dt.date, tuple[TariffZoneHours, ...]],
    dict[dt.date, tuple[str, ...]], list[str],
]:
    """One (DSO, group)'s rates by day and zone, its zone schedule and hour zones on zoned days, and
    the problems (no rate, no schedule, an hour in no zone or two, a zone without a rate) with their days."""
    label = f"OSD {dso_name}, grupa taryfowa {group}"
    missing: list[dt.date] = []
    problem_days: dict[str, list[dt.date]] = {}  # message → days
    per_day: dict[dt.date, dict[str, DistributionRate]] = {}
    schedules: dict[dt.date, tuple[TariffZoneHours, ...]] = {}
    zones_by_day: dict[dt.date, tuple[str, ...]] = {}
    for d in days:
        by_zone = distribution_rates_select(rates=rates, dso_id=dso_id, tariff_group=group, day=d)
        if not by_zone:
            missing.append(d)
            continue
        per_day[d] = by_zone
        if set(by_zone) == {ALL_HOURS}:
            continue
        if ALL_HOURS in by_zone:
            problem_days.setdefault(
                f"Dla {label} obowiązują jednocześnie stawka całodobowa i stawki strefowe "
                f"({', '.join(sorted(z for z in by_zone if z))}) — zakończ jedną z nich", []).append(d)
            continue
        schedule = schedules_in_force(zone_rows, dso_id=dso_id, group=group, day=d)
        if not schedule:
            problem_days.setdefault(
                f"Brak godzin stref czasowych (TariffZoneHours) dla {label} "
                f"(stawki strefowe: {', '.join(sorted(by_zone))})", []).append(d)
            continue
        zones, problems = _day_zones(schedule, d, schedule_label(dso=dso_name, group=group))
        for problem in problems:
            problem_days.setdefault(problem, []).append(d)
        for zone in sorted(set(zones) - set(by_zone) - {""}):
            problem_days.setdefault(f"Brak stawki dystrybucyjnej strefy {zone} dla {label}", []).append(d)
        if not problems:
            schedules[d] = tuple(schedule)
            zones_by_day[d] = zones
            # only the zones the schedule gives an hour are priced (and recorded)
            per_day[d] = {z: r for z, r in by_zone.items() if z in set(zones)}
    errors = [f"Brak stawki dystrybucyjnej dla {label} w dniach {day_ranges(missing)}."] if missing else []
    errors.extend(f"{message} w dniach {day_ranges(ds)}." for message, ds in problem_days.items())
    return per_day, schedules, zones_by_day, errors


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
    zone_rows = list(TariffZoneHours.objects.in_force(start, end).select_related("dso").order_by("pk"))
    chosen: dict[tuple[int, str], dict[dt.date, dict[str, DistributionRate]]] = {}
    schedule_of: dict[tuple[int, str], dict[dt.date, tuple[TariffZoneHours, ...]]] = {}
    zone_days: dict[tuple[int, str], dict[dt.date, tuple[str, ...]]] = {}
    for dso_id, group in groups:
        per_day, schedules, zones_by_day, problems = _group_rates(
            rates=rates, zone_rows=zone_rows, dso_id=dso_id, dso_name=names[dso_id], group=group, days=days)
        errors.extend(problems)
        chosen[(dso_id, group)] = per_day
        if schedules:
            schedule_of[(dso_id, group)] = schedules
            zone_days[(dso_id, group)] = zones_by_day
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
        rate_ids = tuple(tuple(sorted(r.pk for r in chosen[g][day].values())) for g in groups)
        zone_hours = tuple({z.pk: z for g in groups for z in schedule_of.get(g, {}).get(day, ())}.values())
        key = (rate_ids, tuple(f.pk for f in day_fees), exempt, tuple(z.pk for z in zone_hours))
        if key == previous_key:
            last = segments[-1]
            segments[-1] = TariffSegment(last.start, day, last.rates, last.fees, exempt, last.zone_hours)
            continue
        rates_by_ppe = {p.pk: chosen[(p.dso_id, p.tariff_group)][day] for p in ppes}
        segments.append(TariffSegment(day, day, rates_by_ppe, day_fees, exempt, zone_hours))
        previous_key = key
    day_tiers = [t for t in tiers if t.pk in set(tiers_of_day[start])]
    return TariffPlan(segments=segments, tiers=day_tiers, rule=rule, zone_days=zone_days)
