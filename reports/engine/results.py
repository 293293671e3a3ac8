"""``settle``: hourly flows → integer Wh per member, PPE and tariff → money.

Money follows ``money.py``: exact Decimal amounts per member and tariff,
each cluster amount rounded once, members' lines split by largest remainder.
The discount uses the tariff of each PPE (DSO / tariff group may differ; a zoned
group's energy is priced hour by hour at the rate of the hour's time zone) and
the tier reached by the whole cluster over the period; exemptions apply only on
days up to the rule's exemption end (``RateSegment.exempt``).

The level that sets the tier is the rule's (``level_numerator``): ``all_sources``
(the seed's definition: Σ_h min(members' generation fed-in_h, drawn_h) / Σ drawn,
renewable or not) or ``renewable`` (Σ_h min(renewable fed-in_h, drawn_h) / Σ drawn).
Both are computed and recorded; the exemptions always use the renewable shared energy.

"Cost without cluster" of a member: what it would pay on its shared energy for
the components the cluster discounts or exempts, i.e. the full variable +
quality rate plus every fee exempt in a cluster, at the rates in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from .cooperative import CarriedSurplus, CooperativeNetting
from .hourly import NETTING_MONTH, PRO_RATA, EnergyFlows, HourlyInput, HourlyStream, energy_flows, int_split
from .money import ZERO, grosze_split, money_round, money_str, pct_of, wh_amount
from .scenarios import CooperativeScenario, PerMWh, cooperative_amounts
from .types import Fee, Tariff, Tier, tier_for

# SettlementRule.level_numerator: what the autoconsumption level counts
ALL_SOURCES = "all_sources"
RENEWABLE = "renewable"


@dataclass(frozen=True)
class RateSegment:
    """Local days [day_start, day_end) of the period settled with one set of rates."""

    day_start: int
    day_end: int
    tariffs: tuple[Tariff, ...]
    tariff_of_ppe: np.ndarray  # int[n_ppe] index into tariffs
    fees: tuple[Fee, ...]
    exempt: bool = True
    # False: days before the cluster's support starts; their shared energy gets no discount and no exemption.
    benefit: bool = True
    # int[n_ppe, n_zones]: the tariff of each time zone of a zoned PPE (-1: none); zone 0 (all hours) is
    # ``tariff_of_ppe``. None: no PPE is priced by zone in these days
    zone_tariffs: np.ndarray | None = None

    def tariff_index(self, ppe: int, zone: int) -> int:
        if zone == 0:
            return int(self.tariff_of_ppe[ppe])
        if self.zone_tariffs is None:
            return -1
        return int(self.zone_tariffs[ppe, zone])


@dataclass
class PPEResult:
    ppe: int
    drawn_wh: int
    shared_wh: int
    fed_in_wh: int
    renewable_fed_in_wh: int


@dataclass
class MemberResult:
    member: int
    drawn_wh: int
    shared_wh: int
    fed_in_wh: int
    renewable_fed_in_wh: int
    discount: Decimal
    exemptions: dict[str, Decimal]
    exemptions_total: Decimal
    total: Decimal
    cost_without_cluster: Decimal
    ppes: list[PPEResult] = field(default_factory=list)
    monthly: list[dict] = field(default_factory=list)


@dataclass
class SettlementResult:
    drawn_wh: int
    shared_wh: int
    fed_in_wh: int
    renewable_fed_in_wh: int
    tier: Tier | None
    discount: Decimal
    exemptions: dict[str, Decimal]
    exemptions_total: Decimal
    total: Decimal
    cost_without_cluster: Decimal
    per_mwh: PerMWh
    members: list[MemberResult]
    monthly: list[dict]
    hourly_profile: list[dict]
    cooperative: CooperativeScenario
    n_ppes: int
    n_hours: int
    flows: EnergyFlows
    # exact zł per Wh of shared energy: Σ Wh × (variable + quality), Σ Wh × exempt fees
    shared_rate_exact: Decimal
    shared_fees_exact: Decimal
    # Σ_h min(members' generation fed-in_h, drawn_h): the level's numerator under ``all_sources``
    generation_shared_wh: int = 0
    level_numerator: str = ALL_SOURCES  # the rule that set the tier
    netting: tuple[CooperativeNetting, ...] = ()  # the cooperative's netting periods, in order

    @property
    def renewable_level_pct(self) -> Decimal:
        return pct_of(part=self.shared_wh, whole=self.drawn_wh)

    @property
    def all_sources_level_pct(self) -> Decimal:
        return pct_of(part=self.generation_shared_wh, whole=self.drawn_wh)

    @property
    def autoconsumption_pct(self) -> Decimal:
        """The level that set the tier (the rule's numerator)."""
        return self.all_sources_level_pct if self.level_numerator == ALL_SOURCES else self.renewable_level_pct

    @property
    def carried_out(self) -> tuple[CarriedSurplus, ...]:
        """The cooperative's surplus the next period may use."""
        return self.netting[-1].carried_out if self.netting else ()

    def totals_json(self) -> dict:
        return {
            "drawn_wh": self.drawn_wh,
            "shared_wh": self.shared_wh,
            "fed_in_wh": self.fed_in_wh,
            "renewable_fed_in_wh": self.renewable_fed_in_wh,
            "autoconsumption_pct": str(self.autoconsumption_pct),
            "level_numerator": self.level_numerator,
            "renewable_level_pct": str(self.renewable_level_pct),
            "all_sources_level_pct": str(self.all_sources_level_pct),
            "generation_shared_wh": self.generation_shared_wh,
            "tier": self.tier.as_json() if self.tier else None,
            "discount": money_str(self.discount),
            "exemptions": {k: money_str(v) for k, v in self.exemptions.items()},
            "exemptions_total": money_str(self.exemptions_total),
            "total": money_str(self.total),
            "cost_without_cluster": money_str(self.cost_without_cluster),
            "per_mwh": self.per_mwh.as_json(),
            "members": len(self.members),
            "ppes": self.n_ppes,
            "hours": self.n_hours,
        }


def settle(
    *,
    data: HourlyInput | HourlyStream,
    tiers: Sequence[Tier],
    segments: Sequence[RateSegment],
    allocation: str = PRO_RATA,
    keys: np.ndarray | None = None,
    coefficient: Decimal = Decimal("0.6"),
    chunk_rows: int = 2048,
    level_numerator: str = ALL_SOURCES,
    netting_period: str = NETTING_MONTH,
    carried_in: Sequence[CarriedSurplus] = (),
    carry_months: int = 12,
) -> SettlementResult:
    if level_numerator not in (ALL_SOURCES, RENEWABLE):
        raise ValueError(f"unknown level numerator {level_numerator!r}")
    flows = energy_flows(
        data=data, allocation=allocation, keys=keys, coefficient=coefficient, chunk_rows=chunk_rows,
        netting_period=netting_period, carried_in=carried_in, carry_months=carry_months,
    )
    n_ppe, n_days = data.membership.shape
    seg_of_day = _segment_of_day(segments, n_days)
    n_seg, n_mem = len(segments), max(int(data.n_members), 1)

    # cells: (PPE, member, segment) with the PPE a member on at least one day
    p_idx, d_idx = np.nonzero(data.membership >= 0)
    m_idx = data.membership[p_idx, d_idx].astype(np.int64)
    code = (p_idx.astype(np.int64) * n_mem + m_idx) * n_seg + seg_of_day[d_idx]
    cells, inverse = np.unique(code, return_inverse=True)
    c_ppe, c_mem, c_seg = cells // (n_mem * n_seg), (cells // n_seg) % n_mem, cells % n_seg

    def cell_sum(daily: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=daily[p_idx, d_idx], minlength=len(cells))

    drawn = np.rint(cell_sum(flows.daily_drawn)).astype(np.int64)
    fed = np.rint(cell_sum(flows.daily_fed)).astype(np.int64)
    renewable = int_split(cell_sum(flows.daily_renewable), int(np.rint(flows.renewable_h.sum())))
    shared_total, settled_total = int(np.rint(flows.shared_h.sum())), sum(n.settled_wh for n in flows.netting)
    if flows.zone_daily_shared is None:
        shared = int_split(cell_sum(flows.daily_shared), shared_total)
        settled = int_split(cell_sum(flows.daily_settled), settled_total)
        z_cell, z_zone, z_shared, z_settled = np.arange(len(cells)), np.zeros(len(cells), dtype=np.int64), shared, settled
    else:
        z_cell, z_zone, z_shared, z_settled = _zone_cells(flows, p_idx, d_idx, inverse, shared_total, settled_total)
        shared = np.bincount(z_cell, weights=z_shared, minlength=len(cells)).astype(np.int64)
        settled = np.bincount(z_cell, weights=z_settled, minlength=len(cells)).astype(np.int64)
    drawn_wh, shared_wh = int(drawn.sum()), int(shared.sum())
    generation_shared_wh = int(np.rint(np.minimum(flows.generation_h, flows.drawn_h).sum()))
    level_wh = generation_shared_wh if level_numerator == ALL_SOURCES else shared_wh
    tier = tier_for(tiers=list(tiers), shared_wh=level_wh, drawn_wh=drawn_wh)
    discount_share = (tier.discount_pct / 100) if tier else Decimal(0)

    member_ids = sorted({int(m) for m in c_mem})
    row_of = {m: i for i, m in enumerate(member_ids)}
    fee_codes = list(dict.fromkeys(f.code for s in segments for f in s.fees if f.cluster))
    coop_codes = list(dict.fromkeys(f.code for s in segments for f in s.fees if f.cooperative))
    n = len(member_ids)
    discount_exact = [Decimal(0)] * n
    fees_exact = {c: [Decimal(0)] * n for c in fee_codes}
    cost_exact = [Decimal(0)] * n
    rate_exact = Decimal(0)
    coop_variable = coop_quality = Decimal(0)
    coop_fees = {c: Decimal(0) for c in coop_codes}

    # group Wh by (member, segment, tariff of the zone) before touching Decimal: money is linear in energy
    groups: dict[tuple[int, int, int], list[int]] = {}
    for p, m, s, z, sh, st in zip(
        c_ppe[z_cell].tolist(), c_mem[z_cell].tolist(), c_seg[z_cell].tolist(), z_zone.tolist(), z_shared.tolist(),
        z_settled.tolist(), strict=True,
    ):
        t = segments[s].tariff_index(p, z)
        if t < 0:
            if sh or st:
                raise ValueError(f"PPE row {p}: energy in zone {z} on segment {s} without a tariff")
            continue
        acc = groups.setdefault((m, s, t), [0, 0])
        acc[0] += sh
        acc[1] += st
    for (m, s, t), (sh, st) in groups.items():
        seg, tariff, i = segments[s], segments[s].tariffs[t], row_of[m]
        rate_exact += wh_amount(wh=sh, rate=tariff.rate)
        if seg.benefit:
            discount_exact[i] += wh_amount(wh=sh, rate=discount_share * tariff.rate)
        cluster_fees = [f for f in seg.fees if f.cluster]
        cost_exact[i] += wh_amount(wh=sh, rate=tariff.rate + sum((f.rate for f in cluster_fees), Decimal(0)))
        coop_variable += wh_amount(wh=st, rate=tariff.variable_rate)
        coop_quality += wh_amount(wh=st, rate=tariff.quality_rate)
        if seg.exempt:
            for f in cluster_fees if seg.benefit else ():
                fees_exact[f.code][i] += wh_amount(wh=sh, rate=f.rate)
            for f in seg.fees:
                if f.cooperative:
                    coop_fees[f.code] += wh_amount(wh=st, rate=f.rate)

    discount = money_round(sum(discount_exact, Decimal(0)))
    member_discount = grosze_split(total=discount, exact=discount_exact)
    exemptions = {c: money_round(sum(v, Decimal(0))) for c, v in fees_exact.items()}
    member_fees = {c: grosze_split(total=exemptions[c], exact=fees_exact[c]) for c in fee_codes}
    exemptions_total = sum(exemptions.values(), ZERO)
    total = discount + exemptions_total
    member_cost = [money_round(x) for x in cost_exact]

    members = []
    months = sorted(set(flows.axis.month_of_day))
    for i, m in enumerate(member_ids):
        sel = c_mem == m
        ex = {c: member_fees[c][i] for c in fee_codes}
        ex_total = sum(ex.values(), ZERO)
        members.append(
            MemberResult(
                member=m,
                drawn_wh=int(drawn[sel].sum()),
                shared_wh=int(shared[sel].sum()),
                fed_in_wh=int(fed[sel].sum()),
                renewable_fed_in_wh=int(renewable[sel].sum()),
                discount=member_discount[i],
                exemptions=ex,
                exemptions_total=ex_total,
                total=member_discount[i] + ex_total,
                cost_without_cluster=member_cost[i],
                ppes=_ppe_results(c_ppe[sel], drawn[sel], shared[sel], fed[sel], renewable[sel]),
            )
        )
    _member_monthly(members, row_of, flows, data.membership, months)

    return SettlementResult(
        drawn_wh=drawn_wh,
        shared_wh=shared_wh,
        fed_in_wh=int(fed.sum()),
        renewable_fed_in_wh=int(renewable.sum()),
        tier=tier,
        discount=discount,
        exemptions=exemptions,
        exemptions_total=exemptions_total,
        total=total,
        cost_without_cluster=sum(member_cost, ZERO),
        per_mwh=PerMWh.over(discount=discount, exemptions=exemptions_total, total=total, wh=shared_wh),
        members=members,
        monthly=_cluster_monthly(flows, months),
        hourly_profile=_hourly_profile(flows),
        cooperative=cooperative_amounts(
            demand_wh=drawn_wh,
            settled_wh=int(settled.sum()),
            coefficient=coefficient,
            variable_exact=coop_variable,
            quality_exact=coop_quality,
            fees_exact=coop_fees,
        ),
        n_ppes=len(set(c_ppe.tolist())),
        n_hours=len(flows.drawn_h),
        flows=flows,
        shared_rate_exact=rate_exact,
        shared_fees_exact=sum((sum(v, Decimal(0)) for v in fees_exact.values()), Decimal(0)),
        generation_shared_wh=generation_shared_wh,
        level_numerator=level_numerator,
        netting=flows.netting,
    )


def _zone_cells(
    flows: EnergyFlows, p_idx: np.ndarray, d_idx: np.ndarray, inverse: np.ndarray, shared_total: int, settled_total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shared and settled Wh per (cell, zone): the cells of unzoned PPEs in zone 0 (their daily sums),
    those of zoned PPEs in each zone (``flows.zone_daily_*``); each split to integers adding up to the
    run's totals. Returns (cell index, zone, shared Wh, settled Wh) per (cell, zone)."""
    assert flows.zone_daily_shared is not None and flows.zone_daily_settled is not None
    n_zones = flows.zone_daily_shared.shape[0]
    n_cells = int(inverse.max(initial=-1)) + 1
    size = n_cells * n_zones
    slot = np.full(flows.daily_shared.shape[0], -1, dtype=np.int64)
    slot[flows.zone_rows] = np.arange(len(flows.zone_rows))
    zr = slot[p_idx]
    zoned = zr >= 0
    plain = ~zoned
    # dense (cell, zone) sums: cells are few (PPE × member × segment), so no sort over the member-days
    code = inverse[plain].astype(np.int64) * n_zones
    shared_w, settled_w = np.zeros(size), np.zeros(size)
    shared_w += np.bincount(code, weights=flows.daily_shared[p_idx[plain], d_idx[plain]], minlength=size)
    settled_w += np.bincount(code, weights=flows.daily_settled[p_idx[plain], d_idx[plain]], minlength=size)
    base, rows, days = inverse[zoned].astype(np.int64) * n_zones, zr[zoned], d_idx[zoned]
    for z in range(n_zones):
        shared_w += np.bincount(base + z, weights=flows.zone_daily_shared[z, rows, days], minlength=size)
        settled_w += np.bincount(base + z, weights=flows.zone_daily_settled[z, rows, days], minlength=size)
    z_cells = np.arange(size, dtype=np.int64)
    shared = int_split(shared_w, shared_total)
    settled = int_split(settled_w, settled_total)
    return z_cells // n_zones, z_cells % n_zones, shared, settled


def _segment_of_day(segments: Sequence[RateSegment], n_days: int) -> np.ndarray:
    seg_of_day = np.full(n_days, -1, dtype=np.int64)
    for i, s in enumerate(segments):
        seg_of_day[s.day_start : s.day_end] = i
    if n_days and (seg_of_day < 0).any():
        raise ValueError(f"days without rates: {np.nonzero(seg_of_day < 0)[0].tolist()}")
    return seg_of_day


def _ppe_results(ppes, drawn, shared, fed, renewable) -> list[PPEResult]:
    out: dict[int, PPEResult] = {}
    for p, dr, sh, fd, rn in zip(ppes.tolist(), drawn.tolist(), shared.tolist(), fed.tolist(), renewable.tolist(), strict=True):
        r = out.setdefault(p, PPEResult(ppe=p, drawn_wh=0, shared_wh=0, fed_in_wh=0, renewable_fed_in_wh=0))
        r.drawn_wh += dr
        r.shared_wh += sh
        r.fed_in_wh += fd
        r.renewable_fed_in_wh += rn
    return list(out.values())


def _member_monthly(members, row_of, flows: EnergyFlows, membership: np.ndarray, months: list[str]) -> None:
    month_idx = np.array([months.index(m) for m in flows.axis.month_of_day], dtype=np.int64)
    p_idx, d_idx = np.nonzero(membership >= 0)
    lookup = np.full(int(membership.max(initial=0)) + 1, -1, dtype=np.int64)
    for m, row in row_of.items():
        lookup[m] = row
    rows = lookup[membership[p_idx, d_idx]]
    cell = rows * len(months) + month_idx[d_idx]
    size = len(members) * len(months)
    sums = {
        key: np.bincount(cell, weights=daily[p_idx, d_idx], minlength=size).reshape(len(members), len(months))
        for key, daily in (("drawn_wh", flows.daily_drawn), ("shared_wh", flows.daily_shared), ("fed_in_wh", flows.daily_fed))
    }
    for i, member in enumerate(members):
        # months are display figures; the shared energy is split so they add up to the member's total
        shared = int_split(sums["shared_wh"][i], member.shared_wh)
        member.monthly = [
            {
                "month": month,
                "drawn_wh": int(np.rint(sums["drawn_wh"][i, j])),
                "shared_wh": int(shared[j]),
                "fed_in_wh": int(np.rint(sums["fed_in_wh"][i, j])),
            }
            for j, month in enumerate(months)
            if sums["drawn_wh"][i, j] or sums["fed_in_wh"][i, j]
        ]


def _cluster_monthly(flows: EnergyFlows, months: list[str]) -> list[dict]:
    month_idx = np.array([months.index(m) for m in flows.axis.month_of_day], dtype=np.int64)
    out = []
    for j, month in enumerate(months):
        days = month_idx == j
        out.append(
            {
                "month": month,
                "drawn_wh": int(np.rint(flows.daily_drawn[:, days].sum())),
                "shared_wh": int(np.rint(flows.daily_shared[:, days].sum())),
                "fed_in_wh": int(np.rint(flows.daily_fed[:, days].sum())),
            }
        )
    return out


def _hourly_profile(flows: EnergyFlows) -> list[dict]:
    """Mean local day: each clock hour's sum divided by the number of days."""
    n_days = max(len(flows.axis.days), 1)
    hour = flows.axis.local_hour.astype(np.int64)
    profile = []
    for series in (flows.drawn_h, flows.shared_h, flows.fed_h):
        profile.append(np.bincount(hour, weights=series, minlength=24) / n_days)
    return [
        {"hour": h, "drawn_wh": int(np.rint(profile[0][h])), "shared_wh": int(np.rint(profile[1][h])), "fed_in_wh": int(np.rint(profile[2][h]))}
        for h in range(24)
    ]
