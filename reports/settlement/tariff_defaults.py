"""Initial tariff data: the seed's values (domain.md), valid from 2024-01-01,
applying to every DSO and tariff group until the administrator enters more
specific rates. The seed took them from PGE Dystrybucja's tariff; they are marked
as the coordinator's presentation examples, not verified.

Then the researched values of ``reports/data/rates_sourced.json`` (docs/rates-sources.md),
each with its source and verified flag: a row is added only where no row of the same
key covers its dates; an open-ended row that starts earlier is ended the day before
(used rows are never edited otherwise). Loading again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from members.models import DSO
from reports.models import DayKind, DiscountTier, DistributionRate, ExemptFee, FeeCode, SettlementRule, TariffZoneHours
from reports.models.tariffs import Dated

START = dt.date(2024, 1, 1)
EXAMPLE = "przykład z prezentacji koordynatora"
EXAMPLE_PGE = "przykład z prezentacji koordynatora (PGE Dystrybucja)"
VAT_RATE_PCT = Decimal("23.00")
SOURCED = Path(__file__).resolve().parent.parent / "data" / "rates_sourced.json"
# The data file names DSOs as their tariffs do; the reference data keys them by slug.
DSO_SLUGS = {"TAURON Dystrybucja": "tauron", "PGE Dystrybucja": "pge"}


@transaction.atomic
def tariff_defaults_load() -> None:
    if not DistributionRate.objects.exists():
        # The seed's Table 1 prints a quality rate of 24.20, but all of its totals
        # (Tables 2, 3, 6, 8) are computed with 24.21 zł/MWh; the totals are the record.
        DistributionRate.objects.create(
            variable_rate=Decimal("229.30"), quality_rate=Decimal("24.21"), valid_from=START, source=EXAMPLE_PGE
        )
    if not ExemptFee.objects.exists():
        RATE, OBLIGATION = ExemptFee.Mode.RATE, ExemptFee.Mode.OBLIGATION
        fees = [
            (FeeCode.OZE, RATE, "0.00", None, None, True),
            (FeeCode.COGENERATION, RATE, "6.18", None, None, True),
            # Seed prints "5 % × 47,07" but its totals use 2.3515 zł/MWh = 5 % × 47.03.
            (FeeCode.GREEN, OBLIGATION, None, "5", "47.03", True),
            # Seed prints "0,05 %": a typo; 0.5 % × 300.27 = 1.50135 is what its totals use.
            (FeeCode.BLUE, OBLIGATION, None, "0.5", "300.27", True),
            (FeeCode.WHITE, RATE, "2.0753", None, None, True),
            # The capacity fee is exempt only in an energy cooperative (seed: about 50 zł/MWh).
            (FeeCode.CAPACITY, RATE, "50.00", None, None, False),
        ]
        for code, mode, rate, obligation, price, in_cluster in fees:
            ExemptFee.objects.create(
                code=code,
                mode=mode,
                rate=Decimal(rate) if rate is not None else None,
                obligation_pct=Decimal(obligation) if obligation is not None else None,
                price=Decimal(price) if price is not None else None,
                applies_to_cluster=in_cluster,
                applies_to_cooperative=True,
                valid_from=START,
                source=EXAMPLE,
            )
    if not DiscountTier.objects.exists():
        for threshold, discount in [(60, 5), (70, 10), (80, 15), (90, 20), (100, 25)]:
            DiscountTier.objects.create(
                threshold_pct=Decimal(threshold), discount_pct=Decimal(discount), valid_from=START, source=EXAMPLE
            )
    if not SettlementRule.objects.exists():
        SettlementRule.objects.create(
            valid_from=START,
            source=EXAMPLE,
            exemption_end_date=dt.date(2029, 12, 31),
            cooperative_coefficient=Decimal("0.600"),
            # The cooperative nets hourly surplus against deficit per month and carries it 12 months.
            cooperative_netting_period="month",
            cooperative_carry_months=12,
            completeness_gate_pct=Decimal("99.00"),
            # The level counts all member sources (the seed's definition); exemptions stay on renewable energy.
            level_numerator="all_sources",
            # The support mechanism of art. 184k ustawy o OZE runs from 2 July 2024.
            support_earliest=dt.date(2024, 7, 2),
            # The basic VAT rate (electricity, distribution): 23 %, art. 41 ust. 1 in connection with
            # art. 146ef ust. 1 pkt 1 ustawy z dnia 11 marca 2004 r. o podatku od towarów i usług
            # (docs/rates-sources.md); the row as a whole stays an unverified example.
            vat_rate_pct=VAT_RATE_PCT,
        )
    sourced_rates_load()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _start(value: str) -> dt.date:
    """A row's first day: every sourced entry has one."""
    return dt.date.fromisoformat(value)


def _source(entries: list[dict[str, Any]]) -> str:
    """``title, URL`` of each distinct source of the entries, joined by ``; ``."""
    seen: list[str] = []
    for e in entries:
        text = ", ".join(part for part in (e.get("source_title"), e.get("source_url")) if part)
        if text and text not in seen:
            seen.append(text)
    return "; ".join(seen)


def sourced_entries() -> list[dict[str, Any]]:
    return json.loads(SOURCED.read_text(encoding="utf-8"))


def _add_where_uncovered(model: type[Dated], key: dict[str, Any], start: dt.date, end: dt.date | None, values: dict) -> bool:
    """Create the row unless a row of ``key`` covers any of its days; an open-ended row that starts
    earlier is ended the day before ``start`` first (the runs it outdates are recorded)."""
    from reports.settlement.tariffs import tariff_row_end

    rows = list(model.objects.filter(**key).in_force(start, end or dt.date.max).order_by("valid_from"))
    if any(r.valid_to is not None or r.valid_from >= start for r in rows):
        return False
    for row in rows:  # open-ended, from before ``start``
        tariff_row_end(row=row, valid_to=start - dt.timedelta(days=1))
    model.objects.create(**key, **values, valid_from=start, valid_to=end)
    return True


def sourced_rates_load() -> int:
    """The sourced fees, distribution rates and zone hours (see the module docstring); returns the rows added.

    A distribution row holds the variable and the quality rate together, for one zone ("all" =
    every hour). A zoned group (G12) gets one row per zone of its variable rate, each with the
    group's all-hours quality rate, and its zone hours; a group that lacks either rate or a DSO not
    in the reference data is not loaded.
    """
    added = 0
    entries = sourced_entries()
    for e in (e for e in entries if e["kind"] == "fee" and e.get("value") is not None):
        latest = ExemptFee.objects.filter(code=e["code"]).order_by("-valid_from").first()
        added += _add_where_uncovered(
            ExemptFee, {"code": e["code"]}, _start(e["valid_from"]), _date(e["valid_to"]), {
                "mode": ExemptFee.Mode.RATE, "rate": Decimal(e["value"]),
                "applies_to_cluster": latest.applies_to_cluster if latest else e["code"] != FeeCode.CAPACITY,
                "applies_to_cooperative": latest.applies_to_cooperative if latest else True,
                "source": _source([e]), "verified": bool(e["verified"]),
            },
        )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        if e["kind"] == "distribution_rate":
            groups.setdefault((e["dso"], e["tariff_group"]), []).append(e)
    for (dso_name, group), rows in groups.items():
        dso = DSO.objects.filter(slug=DSO_SLUGS.get(dso_name, "")).first()
        quality = next((e for e in rows if e["code"] == "quality" and e.get("zone") == "all"), None)
        variables = {_zone(e): e for e in rows if e["code"] == "variable"}
        if dso is None or quality is None or not variables or ("" in variables and len(variables) > 1):
            continue
        zoned = "" not in variables
        hours = [e for e in entries if e["kind"] == "zone_hours" and (e["dso"], e["tariff_group"]) == (dso_name, group)]
        if zoned and not hours:
            continue  # zone rates without zone hours cannot price an hour
        for zone, variable in variables.items():
            start = max(_start(variable["valid_from"]), _start(quality["valid_from"]))
            ends = [d for d in (_date(variable["valid_to"]), _date(quality["valid_to"])) if d is not None]
            end = min(ends) if ends else None
            if zoned and DistributionRate.objects.filter(dso=dso, tariff_group=group, zone="").in_force(
                    start, end or dt.date.max).exists():
                continue  # an all-hours rate of the group is in force: zone rates would clash with it
            added += _add_where_uncovered(
                DistributionRate, {"dso": dso, "tariff_group": group, "zone": zone}, start, end, {
                    "variable_rate": Decimal(variable["value"]), "quality_rate": Decimal(quality["value"]),
                    "source": _source([variable, quality]), "verified": bool(variable["verified"] and quality["verified"]),
                },
            )
        if zoned:
            added += _zone_hours_load(dso=dso, group=group, entries=hours)
    return added


def _zone(entry: dict[str, Any]) -> str:
    """The data file's zone ("all" = every hour) as ``DistributionRate.zone`` ("" = every hour)."""
    return "" if entry.get("zone") in (None, "all") else str(entry["zone"])


# The data file's day types as ``DayKind`` values.
DAY_TYPES = {"weekday": DayKind.WORKDAY, "saturday": DayKind.SATURDAY, "sunday": DayKind.SUNDAY,
             "holiday": DayKind.HOLIDAY, "all": DayKind.ALL}
DISPUTED = "odczyt sporny, sprawdź w taryfie"


def _zone_hours_load(*, dso: DSO, group: str, entries: list[dict[str, Any]]) -> int:
    """A group's zone hours, one row per zone, kind of day and hour range, unless any row of the
    group covers their dates; refused (``ValueError``) when they leave an hour in no zone or in two."""
    from reports.settlement.zones import schedule_label, zone_schedule_problems

    rows: list[TariffZoneHours] = []
    for e in entries:
        source = _source([e]) + (f" ({DISPUTED})" if "DISPUTED" in (e.get("note") or "") else "")
        month_from, month_to = e.get("months") or (1, 12)  # a seasonal zone: [first, last] month
        for day_type in e["day_types"]:
            for hour_from, hour_to in e["hours"]:
                rows.append(TariffZoneHours(
                    dso=dso, tariff_group=group, zone=_zone(e), day_kind=DAY_TYPES[day_type],
                    month_from=month_from, month_to=month_to, hour_from=hour_from, hour_to=hour_to, valid_from=_start(e["valid_from"]),
                    valid_to=_date(e["valid_to"]), source=source, verified=bool(e["verified"]),
                ))
    if problems := zone_schedule_problems(rows, label=schedule_label(dso=dso.name, group=group)):
        raise ValueError("; ".join(problems))
    start = min(r.valid_from for r in rows)
    ends = [r.valid_to for r in rows]
    end = None if None in ends else max(d for d in ends if d is not None)
    if TariffZoneHours.objects.filter(dso=dso, tariff_group=group).in_force(start, end or dt.date.max).exists():
        return 0
    TariffZoneHours.objects.bulk_create(rows)
    return len(rows)
