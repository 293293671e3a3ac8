"""What applied to one member in a settled period, read from the run's snapshot only.

- ``member_rate_rows``: the distribution rates of the member's own PPEs, day by day as the
  run chose them (``reports.settlement.selectors.distribution_rate_select``: the most
  specific row in force wins), joined into rows of consecutive days. A member's statement
  lists these, never another tariff group's rate.
- ``member_vat``: whether the member deducts VAT (as the run recorded it) and the rule's
  VAT rate; the gross total for a member that does not (``reports.engine.money.vat_gross``).

A rate row's text comes from ``rate_row_label`` alone (DSO, tariff group and, for a zoned
group, the zone: a G12 PPE has a day and a night row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from okeportal.formatting import plnum
from reports.engine.money import vat_gross
from reports.settlement.snapshot import RunSnapshot, SnapshotRate

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class MemberRateRow:
    """One distribution rate applied to one PPE of the member on consecutive days."""

    ppe: str
    dso: str  # the PPE's DSO
    tariff_group: str  # the PPE's tariff group
    rate: SnapshotRate  # the row the run used (its own DSO / group may be "every")
    used_from: dt.date
    used_to: dt.date

    @property
    def days(self) -> int:
        return (self.used_to - self.used_from).days + 1


def _member_ppe_days(
    *, snapshot: RunSnapshot, member_ref: str, start: dt.date, end: dt.date, ppe_codes: Iterable[str]
) -> list[tuple[str, dt.date, dt.date]]:
    """(PPE code, first, last day) of the member's PPEs in the period: its recorded memberships, or, for
    a run that recorded none for it, ``ppe_codes`` (the PPEs of its settlement line) over the whole period."""
    spans = []
    for ms in snapshot.memberships:
        if ms.member != member_ref:
            continue
        first, last = max(ms.valid_from, start), min(ms.valid_to or end, end)
        if first <= last:
            spans.append((ms.ppe, first, last))
    if not spans and not any(ms.member == member_ref for ms in snapshot.memberships):
        spans = [(code, start, end) for code in ppe_codes]
    return sorted(spans)


def _rates_for(*, candidates: Iterable[SnapshotRate], dso: str, group: str) -> list[SnapshotRate]:
    """The candidates the run applied to the PPE, as ``distribution_rates_select`` chose them: those of the
    most specific level that has any (DSO + group > DSO > group > general), one per tariff zone (the later
    ``valid_from`` wins), in zone order ("" = all hours)."""
    matching = [
        r for r in candidates
        if (r.dso is None or r.dso == dso) and (not r.tariff_group or r.tariff_group.upper() == group.upper())
    ]
    if not matching:
        return []
    level = max((r.dso is not None, bool(r.tariff_group)) for r in matching)
    by_zone: dict[str, SnapshotRate] = {}
    for rate in sorted(matching, key=lambda r: (r.valid_from, r.id or 0)):
        if (rate.dso is not None, bool(rate.tariff_group)) == level:
            by_zone[rate.zone] = rate
    return [by_zone[zone] for zone in sorted(by_zone)]


def _candidates_on(snapshot: RunSnapshot, day: dt.date) -> list[SnapshotRate]:
    """The rates the run used on ``day``: its segment's rows (by id), or, for a run that recorded no
    segments, every recorded rate used on that day."""
    rules = snapshot.rules
    for segment in rules.segments:
        if segment.start <= day <= segment.end:
            ids = set(segment.rate_ids)
            return [r for r in rules.rates if r.id in ids]
    return [r for r in rules.rates if r.used_from <= day <= r.used_to]


def member_rate_rows(
    *, snapshot: RunSnapshot, member_ref: str, period_start: dt.date, period_end: dt.date,
    ppe_codes: Iterable[str] = (),
) -> list[MemberRateRow]:
    """The distribution rates applied to the member's own PPEs, by PPE code and first day."""
    ppes = {p.code: p for p in snapshot.ppes}
    rows: list[MemberRateRow] = []
    for code, first, last in _member_ppe_days(
        snapshot=snapshot, member_ref=member_ref, start=period_start, end=period_end, ppe_codes=ppe_codes
    ):
        ppe = ppes.get(code)
        dso, group = (ppe.dso, ppe.tariff_group) if ppe is not None else ("", "")
        day = first
        open_rows: dict[str, int] = {}  # zone → index in ``rows`` of the PPE's row still running
        while day <= last:
            for rate in _rates_for(candidates=_candidates_on(snapshot, day), dso=dso, group=group):
                index = open_rows.get(rate.zone)
                previous = rows[index] if index is not None else None
                if index is not None and previous is not None and previous.rate == rate and previous.used_to == day - DAY:
                    rows[index] = MemberRateRow(code, dso, group, rate, previous.used_from, day)
                else:
                    open_rows[rate.zone] = len(rows)
                    rows.append(MemberRateRow(code, dso, group, rate, day, day))
            day += DAY
    return rows


def rate_row_label(row: MemberRateRow) -> str:
    """``PGE Dystrybucja, C11``: the PPE a rate row applies to (a zoned group's rows name their zone in
    ``member_rate_notes``, one phrase per zone)."""
    return ", ".join(part for part in (row.dso, row.tariff_group) if part)


def _date_pl(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def member_rate_notes(rows: Iterable[MemberRateRow]) -> list[str]:
    """One phrase per PPE for the statement's footnote (the document language is Polish): each rate it
    had, the rate's validity and the days of the period it applied on. PPEs with the same rates on the
    same days share one phrase, so a member with many PPEs in one group reads one line."""
    by_ppe: dict[str, list[MemberRateRow]] = {}
    for row in rows:
        by_ppe.setdefault(row.ppe, []).append(row)
    shared: dict[tuple, list[str]] = {}
    for code, ppe_rows in by_ppe.items():
        key = (rate_row_label(ppe_rows[0]), tuple((r.rate, r.used_from, r.used_to) for r in ppe_rows))
        shared.setdefault(key, []).append(code)
    notes = []
    for (label, used), codes in shared.items():
        rates = ", ".join(
            (f"strefa {rate.zone}: " if rate.zone else "")
            + f"zmienna {plnum(rate.variable_rate)} + jakościowa {plnum(rate.quality_rate)} zł/MWh "
            f"(stawka od {_date_pl(rate.valid_from)}{f' do {_date_pl(rate.valid_to)}' if rate.valid_to else ''}; "
            f"dni {first:%d.%m}–{last:%d.%m}: {(last - first).days + 1})"
            for rate, first, last in used
        )
        notes.append(f"PPE {', '.join(codes)}{f' ({label})' if label else ''}: {rates}")
    return notes


def vat_rate_decimals(rate_pct: Decimal) -> int:
    """How a VAT rate is printed: 0 decimals for a whole rate (23 %), else 2 (22,50 %)."""
    return 0 if rate_pct == rate_pct.to_integral_value() else 2


@dataclass(frozen=True)
class MemberVat:
    deducts: bool  # as the run recorded the member; a member the run did not record: True (net only)
    rate_pct: Decimal  # the rule's VAT rate
    net: Decimal
    gross: Decimal | None  # the net total with VAT, rounded once; None for a member that deducts VAT

    @property
    def rate_decimals(self) -> int:
        return vat_rate_decimals(self.rate_pct)

    @property
    def vat(self) -> Decimal | None:
        return self.gross - self.net if self.gross is not None else None


def member_vat(*, snapshot: RunSnapshot, member_ref: str, net: Decimal) -> MemberVat:
    """The member's VAT terms and, when it does not deduct VAT, its gross total."""
    recorded = next((m for m in snapshot.members if m.ref == member_ref), None)
    deducts = recorded.deducts_vat if recorded is not None else True
    rate = snapshot.rules.rule.vat_rate_pct
    return MemberVat(
        deducts=deducts, rate_pct=rate, net=net, gross=None if deducts else vat_gross(net=net, vat_rate_pct=rate)
    )
