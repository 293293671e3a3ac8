"""What a run records besides its lines: the typed snapshot (``reports.settlement.snapshot``)
with its totals, storage and report scenarios, and the version diff."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import translation

from members.models import Cluster, ClusterKind, ConditionCode, Member, vat_deduction_default
from reports.engine import (
    CooperativeScenario,
    Fee,
    SettlementResult,
    StorageSpec,
    Tier,
    cooperative_scenario,
    storage_comparison,
    storage_simulate,
    tier_scenarios,
)
from reports.engine.cooperative import CarriedSurplus
from reports.models import AllocationKey, JobStatus, SettlementLine, SettlementRule, SettlementRun

from .eligibility import ConditionVerdict, EligibilityInput, eligibility_evaluate, support_start_date
from .gather import Gathered
from .keys import allocation_key_set_in_force
from .snapshot import (
    ClusterStatus,
    EstimatedHours,
    EstimatedPPE,
    MonthEnergy,
    NettingPeriodResult,
    RunSnapshot,
    SnapshotCluster,
    SnapshotCooperativeNetting,
    SnapshotEligibility,
    SnapshotError,
    SnapshotMember,
    SnapshotMembership,
    SnapshotPPE,
    SnapshotRules,
    SnapshotScenarios,
    SnapshotStorage,
    SnapshotTotals,
    StorageRegistered,
    decode,
    encode,
    snapshot_to_json,
)

# Default hypothetical storage: sized from the generating capacity (the statutory
# condition asks ≥ 2 % of it), with 2 hours of capacity, 90 % round trip.
HYPOTHETICAL = ((Decimal("0.02"), "+2 % mocy wytwórczej, 2 h"), (Decimal("0.10"), "+10 % mocy wytwórczej, 2 h"))
DURATION_H = Decimal(2)
EFFICIENCY = Decimal("0.900")
KW = Decimal("0.001")
SPREAD = Decimal("0.01")
SHARE = Decimal("0.000001")
# The documents a snapshot feeds are Polish: the status texts are recorded in Polish.
DOCUMENT_LANGUAGE = "pl"


def run_storage(*, result: SettlementResult, gathered: Gathered, tiers: list[Tier], price_spread: Decimal) -> SnapshotStorage:
    """Registered storage and the hypothetical sizes dispatched on the period's hourly totals."""
    units = gathered.storage
    power = sum((u.power_kw for u in units), Decimal(0))
    capacity = sum((u.capacity_kwh for u in units), Decimal(0))
    efficiency = (
        (sum((u.efficiency * u.capacity_kwh for u in units), Decimal(0)) / capacity).quantize(KW) if capacity else EFFICIENCY
    )
    specs = []
    if power and capacity:
        specs.append(StorageSpec("Zarejestrowane magazyny", power.quantize(KW), capacity.quantize(KW), efficiency))
    for share, label in HYPOTHETICAL:
        added = (gathered.generating_kw * share).quantize(KW)
        if added:
            specs.append(
                StorageSpec(label, (power + added).quantize(KW), (capacity + added * DURATION_H).quantize(KW), efficiency)
            )
    scenarios = storage_simulate(
        renewable_h=result.flows.renewable_h,
        drawn_h=result.flows.drawn_h,
        shared_wh=result.shared_wh,
        drawn_wh=result.drawn_wh,
        tiers=tiers,
        shared_rate_exact=result.shared_rate_exact,
        shared_fees_exact=result.shared_fees_exact,
        specs=specs,
        price_spread=price_spread,
    )
    return SnapshotStorage(
        registered=StorageRegistered(power_kw=power.quantize(KW), capacity_kwh=capacity.quantize(KW), units=len(units)),
        generating_kw=gathered.generating_kw.quantize(KW),
        price_spread=price_spread.quantize(SPREAD),
        scenarios=tuple(scenarios),
    )


def run_estimated(*, result: SettlementResult, gathered: Gathered) -> EstimatedHours:
    """The PPE-hours whose renewable share the engine estimated from installed capacity, by PPE code."""
    counted = {gathered.ppes[row].code: hours for row, hours in result.flows.estimated_hours.items() if hours}
    return EstimatedHours(hours=sum(counted.values()),
                          ppes=tuple(EstimatedPPE(code=c, hours=counted[c]) for c in sorted(counted)))


def run_totals(
    *, result: SettlementResult, completeness_pct: Decimal, missing_hours: int, override_completeness: bool,
    estimated: EstimatedHours | None = None,
) -> SnapshotTotals:
    return SnapshotTotals(
        drawn_wh=result.drawn_wh,
        shared_wh=result.shared_wh,
        fed_in_wh=result.fed_in_wh,
        renewable_fed_in_wh=result.renewable_fed_in_wh,
        autoconsumption_pct=result.autoconsumption_pct,
        tier=result.tier,
        discount=result.discount,
        exemptions=dict(result.exemptions),
        exemptions_total=result.exemptions_total,
        total=result.total,
        cost_without_cluster=result.cost_without_cluster,
        per_mwh=result.per_mwh,
        members=len(result.members),
        ppes=result.n_ppes,
        hours=result.n_hours,
        completeness_pct=completeness_pct,
        missing_hours=missing_hours,
        override_completeness=override_completeness,
        estimated=estimated,
        level_numerator=result.level_numerator,
        renewable_level_pct=result.renewable_level_pct,
        all_sources_level_pct=result.all_sources_level_pct,
        generation_shared_wh=result.generation_shared_wh,
    )


def cooperative_carried_in(*, cluster: Cluster, period_start: dt.date) -> tuple[int | None, tuple[CarriedSurplus, ...]]:
    """The surplus the cooperative comparison carries into a period starting ``period_start``: the
    ``carried_out`` of the cluster's previous finished run (the latest version of the period that
    ends the day before), with that run's id; nothing when there is none or it did not record it."""
    from .snapshot import SnapshotError, run_snapshot_read

    previous = (
        SettlementRun.objects.filter(
            cluster=cluster, status=JobStatus.DONE, period_end=period_start - dt.timedelta(days=1)
        ).order_by("-period_start", "-version").first()
    )
    if previous is None:
        return None, ()
    try:
        netting = run_snapshot_read(previous).cooperative_netting
    except SnapshotError:
        return previous.pk, ()
    return previous.pk, (netting.carried_out if netting else ())


def run_cooperative_netting(
    *, result: SettlementResult, netting_period: str, carry_months: int, carried_from_run: int | None,
    carried_in: tuple[CarriedSurplus, ...],
) -> SnapshotCooperativeNetting:
    return SnapshotCooperativeNetting(
        netting_period=netting_period,
        carry_months=carry_months,
        carried_from_run=carried_from_run,
        carried_in=tuple(carried_in),
        periods=tuple(
            NettingPeriodResult(
                start=start, balanced_wh=n.balanced_wh, surplus_wh=n.surplus_wh, deficit_wh=n.deficit_wh,
                carried_in_wh=n.carried_in_wh, expired_wh=n.expired_wh, netted_wh=n.netted_wh,
                used_surplus_wh=n.used_surplus_wh,
            )
            for start, n in zip(_netting_starts(result, netting_period), result.netting, strict=True)
        ),
        carried_out=result.carried_out,
    )


def _netting_starts(result: SettlementResult, netting_period: str) -> list[dt.date]:
    keys = dict.fromkeys(m if netting_period == "month" else m[:4] for m in result.flows.axis.month_of_day)
    return [dt.date(int(k[:4]), int(k[5:7]) if netting_period == "month" else 1, 1) for k in keys]


def run_cluster_status(
    *, cluster: Cluster, period_start: dt.date, period_end: dt.date, support_earliest: dt.date | None = None,
    evaluated: str = "run",
) -> ClusterStatus:
    """Conditions and area on the period's last day (``members.services.conditions.cluster_status``),
    recorded in Polish, and the eligibility for support over the period (``run_eligibility``)."""
    from members.services.conditions import cluster_status

    with translation.override(DOCUMENT_LANGUAGE):
        status = cluster_status(cluster=cluster, on=period_end)
        fields = ("code", "name", "ok", "value", "threshold", "unit", "comparison", "estimated", "note")
        data = {
            "on": status["date"],
            "area_ok": status["area_ok"],
            "area_mode": str(status["area_mode"]),
            "area_explanation": str(status["area_explanation"]),
            "area_errors": [str(e) for e in status["area_errors"]],
            "conditions_ok": status["conditions_ok"],
            "conditions": [
                {k: (str(c[k]) if k in ("code", "name", "unit", "comparison", "note") else c[k]) for k in fields}
                for c in status["conditions"]
            ],
            "warnings": [str(w) for w in status["warnings"]],
        }
        eligibility = run_eligibility(
            cluster=cluster, period_start=period_start, period_end=period_end, area_ok=bool(data["area_ok"]),
            area_errors=data["area_errors"], conditions=data["conditions"],
            support_earliest=support_earliest, evaluated=evaluated,
        )
        return decode(ClusterStatus, data | {"eligibility": encode(eligibility)}, "status")


def support_earliest_for(*, on: dt.date) -> dt.date:
    """The rule's earliest support day (``SettlementRule.support_earliest``) in force on ``on``; the field's default without a rule."""
    rule = SettlementRule.objects.in_force(on, on).order_by("-valid_from", "-pk").first()
    if rule is not None:
        return rule.support_earliest
    return SettlementRule._meta.get_field("support_earliest").get_default()


def cluster_has_jst(*, cluster: Cluster, period_start: dt.date, period_end: dt.date) -> bool:
    """A JST, a JST unit or a JST-controlled company among the members at any time in the period."""
    members = Member.objects.filter(cluster=cluster, joined_on__lte=period_end).exclude(left_on__lt=period_start)
    return any(m.is_jst_or_controlled for m in members)


def run_eligibility(
    *, cluster: Cluster, period_start: dt.date, period_end: dt.date, area_ok: bool, area_errors: list[str],
    conditions: list[dict], support_earliest: dt.date | None = None, evaluated: str = "run",
) -> SnapshotEligibility:
    """The eligibility verdict for the period (``reports.settlement.eligibility``) from the registry:
    area rule and statutory conditions (as the cluster status evaluated them), a JST member, the URE
    register entry and the support start; with the days before the support starts, settled without benefit."""
    facts = EligibilityInput(
        kind=cluster.kind,
        period_start=period_start,
        period_end=period_end,
        area_ok=area_ok,
        area_problems=tuple(area_errors),
        conditions=tuple(ConditionVerdict(code=c["code"], name=c["name"], ok=c["ok"]) for c in conditions),
        has_jst=cluster_has_jst(cluster=cluster, period_start=period_start, period_end=period_end),
        register_number=cluster.ure_register_number,
        register_date=cluster.ure_register_date,
        support_start=cluster.support_start,
        support_earliest=support_earliest or support_earliest_for(on=period_end),
    )
    verdict = eligibility_evaluate(facts)
    support_from = support_start_date(facts)
    return SnapshotEligibility(
        eligible=verdict.eligible,
        benefit_from=verdict.benefit_from,
        reasons=verdict.reasons,
        register_number=cluster.ure_register_number,
        register_date=cluster.ure_register_date,
        support_from=support_from,
        masked_days=(benefit_start(verdict.benefit_from, support_from, period_start, period_end) - period_start).days,
        evaluated=evaluated,
    )


def benefit_start(benefit_from: dt.date | None, support_from: dt.date | None, period_start: dt.date,
                  period_end: dt.date) -> dt.date:
    """The first day the run settles with a benefit: ``benefit_from`` of an eligible run; an ineligible run
    is computed as if eligible, from the support start when it falls inside the period, else from the start."""
    if benefit_from is not None:
        return max(benefit_from, period_start)
    if support_from is not None and period_start < support_from <= period_end:
        return support_from
    return period_start


def cooperative_coverage_threshold(*, on: dt.date) -> Decimal | None:
    """Table 5's "required coverage" (70 %): the cooperative's dated condition rule in force on ``on``."""
    from members.services.conditions import rules_in_force

    for rule in rules_in_force(kind=ClusterKind.COOPERATIVE, on=on):
        if rule.code == ConditionCode.DEMAND_COVERAGE:
            return rule.threshold
    return None


def run_scenarios(
    *, rules: SnapshotRules, totals: SnapshotTotals, price_spread: Decimal, coverage_pct: Decimal | None
) -> SnapshotScenarios:
    """The cluster report's tables for the run's demand and the rates it used (``reports.engine.scenarios``)."""
    rate = rules.rate_in_force()
    fees = tuple(
        Fee(code=f.code, rate=f.effective_rate, cluster=f.applies_to_cluster, cooperative=f.applies_to_cooperative)
        for f in rules.fees_in_force()
    )
    tiers = [Tier(threshold_pct=t.threshold_pct, discount_pct=t.discount_pct) for t in rules.tiers]
    scenarios = tier_scenarios(
        demand_wh=totals.drawn_wh, tiers=tiers, variable_rate=rate.variable_rate, quality_rate=rate.quality_rate, fees=fees
    )
    coop = cooperative_scenario(
        demand_wh=totals.drawn_wh, coefficient=rules.rule.cooperative_coefficient,
        variable_rate=rate.variable_rate, quality_rate=rate.quality_rate, fees=fees,
    )
    reached = totals.tier.threshold_pct if totals.tier else None
    actual = next((s for s in scenarios if s.threshold_pct == reached), None)
    # The seed compares storage for a cluster at its achieved level (70 % there);
    # without a tier reached, the lowest tier is the nearest meaningful case.
    storage_base = actual or (scenarios[0] if scenarios else None)
    return SnapshotScenarios(
        demand_wh=totals.drawn_wh,
        variable_rate=rate.variable_rate,
        quality_rate=rate.quality_rate,
        rate_note=rate.source_note,
        fees=fees,
        tiers=tuple(scenarios),
        reached_threshold_pct=actual.threshold_pct if actual else None,
        cooperative=coop,
        coverage_pct=coverage_pct,
        storage_level_pct=storage_base.threshold_pct if storage_base else None,
        storage=(
            storage_comparison(cluster=storage_base, cooperative=coop, price_spread=price_spread)
            if storage_base is not None else None
        ),
    )


def run_rules(*, run: SettlementRun, gathered: Gathered, price_spread: Decimal) -> SnapshotRules:
    """The rates, fees, tiers and rule of the tariff plan (as ``TariffPlan.snapshot`` records them) and the settings."""
    recorded = {k: v for k, v in gathered.plan.snapshot().items() if k in ("rates", "fees", "tiers", "rule", "segments", "unverified", "zone_hours")}
    keys, keys_from = None, None
    if run.allocation == "static":
        valid_from = allocation_key_set_in_force(cluster=run.cluster, on=run.period_start)
        rows = (
            AllocationKey.objects.filter(cluster=run.cluster, valid_from=valid_from).values_list("member__ref", "share")
            if valid_from is not None else []  # no set had begun: no keys
        )
        keys = {ref: str(share) for ref, share in rows}
        keys_from = str(valid_from) if valid_from else None
    return decode(SnapshotRules, recorded | {
        "allocation": run.allocation,
        "allocation_keys": keys,
        "allocation_keys_valid_from": keys_from,
        "price_spread": str(price_spread),
    }, "")


def run_snapshot(
    *, run: SettlementRun, gathered: Gathered, result: SettlementResult, totals: SnapshotTotals,
    storage: SnapshotStorage, status: ClusterStatus, price_spread: Decimal,
    cooperative_netting: SnapshotCooperativeNetting | None = None,
) -> RunSnapshot:
    """Everything statements and the cluster report read, built once when the run is computed."""
    g = gathered
    cluster = run.cluster
    rules = run_rules(run=run, gathered=g, price_spread=price_spread)
    return RunSnapshot(
        cluster=SnapshotCluster(
            name=cluster.name, slug=cluster.slug, kind=cluster.kind, dso=cluster.dso.name,
            coordinator_name=cluster.coordinator_name, coordinator_address=cluster.coordinator_address,
        ),
        status=status,
        rules=rules,
        members=tuple(
            SnapshotMember(
                ref=m.ref, name=m.name, legal_form=m.legal_form, address=m.address, nip=m.nip, regon=m.regon, krs=m.krs,
                joined_on=m.joined_on, left_on=m.left_on, deducts_vat=m.deducts_vat,
            )
            for m in g.members
        ),
        memberships=tuple(
            SnapshotMembership(ppe=ms.ppe.code, member=ms.member.ref, valid_from=ms.valid_from, valid_to=ms.valid_to)
            for ms in g.memberships
        ),
        ppes=tuple(
            SnapshotPPE(
                code=p.code, dso=p.dso.name, tariff_group=p.tariff_group, voltage_level=p.voltage_level,
                renewable_share=Decimal(repr(round(float(share), 6))).quantize(SHARE),
                billing_regime=g.billing_regime(i), series=g.series(i),
            )
            for i, (p, share) in enumerate(zip(g.ppes, g.renewable_share, strict=True))
        ),
        totals=totals,
        cooperative=result.cooperative,
        cooperative_netting=cooperative_netting,
        storage=storage,
        monthly=tuple(MonthEnergy(**m) for m in result.monthly),
        scenarios=run_scenarios(
            rules=rules, totals=totals, price_spread=storage.price_spread,
            coverage_pct=cooperative_coverage_threshold(on=run.period_end),
        ),
    )


def _legacy_rules(old: dict, run) -> dict:
    start, end = run.period_start.isoformat(), run.period_end.isoformat()

    def used(row: dict) -> dict:
        valid_to = row.get("valid_to")
        return {
            "used_from": row.get("used_from") or max(str(row.get("valid_from") or start), start),
            "used_to": row.get("used_to") or (min(str(valid_to), end) if valid_to else end),
        }

    storage_spread = (run.storage or {}).get("price_spread")
    rule = dict(old["rule"]) if isinstance(old.get("rule"), dict) else old.get("rule")
    if isinstance(rule, dict):
        rule.setdefault("id", None)
        rule.setdefault("valid_to", None)
        rule.setdefault("storage_price_spread", old.get("price_spread") or storage_spread)
        rule.setdefault("evaluation_period", LEVEL_PERIOD_BEFORE_RULE)
        rule.setdefault("vat_rate_pct", VAT_BEFORE_RULE)
    legacy = {
        "rates": [
            {"id": None, "valid_to": None, "source_note": ""} | r | used(r) for r in old.get("rates") or []
        ],
        "fees": [
            {"id": None, "valid_to": None, "rate": None, "obligation_pct": None, "price": None, "mode": "rate",
             "applies_to_cluster": f.get("code") != "capacity", "applies_to_cooperative": True} | f | used(f)
            for f in old.get("fees") or []
        ],
        "tiers": [{"id": None, "valid_to": None} | t for t in old.get("tiers") or []],
        "rule": rule,
        "segments": old.get("segments") or [],
        "allocation": run.allocation,
        "allocation_keys": old.get("allocation_keys"),
        "allocation_keys_valid_from": old.get("allocation_keys_valid_from"),
        "price_spread": old.get("price_spread") or storage_spread,
    }
    return _zones_before(legacy | {"unverified": _unverified_before_flags(legacy)})


def _unverified_before_flags(rules: dict) -> list[dict]:
    """A run recorded before rows had a verified flag used rows nobody had verified: all of them,
    with the source the snapshot recorded (a distribution rate's note; none for the others)."""
    from .selectors import unverified_json

    rows = [
        *(("rate", r, r.get("source_note") or "") for r in rules.get("rates") or []),
        *(("fee", f, "") for f in rules.get("fees") or []),
        *(("tier", t, "") for t in rules.get("tiers") or []),
        *([("rule", rules["rule"], "")] if isinstance(rules.get("rule"), dict) else []),
    ]
    return [unverified_json(kind, data, source=source) for kind, data, source in rows if isinstance(data, dict)]


def run_snapshot_upgrade(run) -> RunSnapshot:
    """A run recorded before the snapshot contract (schema 1: the untyped dict and the JSON
    columns) as a ``RunSnapshot``; raises ``SnapshotError`` naming what it cannot read.

    Migration 0009 converts stored runs with it, and runs assembled outside a settlement
    (``bench_statements``, the tests' factories) are recorded through it. Values older
    runs never recorded are filled as the readers before the contract did (``_legacy_rules``);
    the status and the cooperative's coverage rule are evaluated now, the scenarios computed.
    """
    old = run.snapshot or {}
    cluster = Cluster.objects.select_related("dso").get(pk=run.cluster_id)
    if old.get("schema") == 2:
        return _snapshot_upgrade_2(old, run=run, cluster=cluster)
    if old.get("schema") == 3:
        return _snapshot_upgrade_3(old)
    if old.get("schema") == 4:
        return _snapshot_upgrade_4(old)
    if old.get("schema") == 5:
        return _snapshot_upgrade_5(old)
    recorded = old.get("cluster") or {}
    # runs of schema 1 predate the estimated PPE-hours: not recorded
    totals = decode(
        SnapshotTotals,
        {"estimated": None} | _LEVEL_BEFORE_RULE | run.totals | _level_of(run.totals)
        if isinstance(run.totals, dict) else run.totals,
        "totals",
    )
    storage = decode(SnapshotStorage, run.storage, "storage")
    rules = decode(SnapshotRules, _legacy_rules(old, run), "")
    return RunSnapshot(
        cluster=SnapshotCluster(
            name=recorded.get("name") or cluster.name,
            slug=recorded.get("slug") or cluster.slug,
            kind=recorded.get("kind") or cluster.kind,
            dso=recorded.get("dso") or cluster.dso.name,
            coordinator_name=recorded.get("coordinator_name", cluster.coordinator_name),
            coordinator_address=recorded.get("coordinator_address", cluster.coordinator_address),
        ),
        status=run_cluster_status(
            cluster=cluster, period_start=run.period_start, period_end=run.period_end, evaluated="conversion"),
        rules=rules,
        members=decode(tuple[SnapshotMember, ...], _members_before_vat(old)["members"], "members"),
        memberships=decode(tuple[SnapshotMembership, ...], old.get("memberships") or [], "memberships"),
        ppes=decode(tuple[SnapshotPPE, ...], [
            _PPE_BEFORE_REGIME | p | {"renewable_share": str(p["renewable_share"])}
            if isinstance(p, dict) and "renewable_share" in p else p
            for p in old.get("ppes") or []
        ], "ppes"),
        totals=totals,
        cooperative=decode(
            CooperativeScenario, {"demand_wh": totals.drawn_wh, "unit_rate": "0.00"} | (run.cooperative or {}), "cooperative"
        ),
        cooperative_netting=None,
        storage=storage,
        monthly=decode(tuple[MonthEnergy, ...], run.monthly or [], "monthly"),
        scenarios=run_scenarios(
            rules=rules, totals=totals, price_spread=storage.price_spread,
            coverage_pct=cooperative_coverage_threshold(on=run.period_end),
        ),
    )


def _snapshot_upgrade_2(old: dict, *, run, cluster: Cluster) -> RunSnapshot:
    """Schema 2 → 3: the eligibility verdict, evaluated from the registry as it is now (``evaluated: conversion``)."""
    status = old.get("status")
    if not isinstance(status, dict):
        raise SnapshotError("status", "oczekiwano obiektu")
    with translation.override(DOCUMENT_LANGUAGE):
        eligibility = run_eligibility(
            cluster=cluster, period_start=run.period_start, period_end=run.period_end,
            area_ok=bool(status.get("area_ok")), area_errors=list(status.get("area_errors") or []),
            conditions=list(status.get("conditions") or []), evaluated="conversion",
        )
    return _snapshot_upgrade_3(old | {"schema": 3, "status": status | {"eligibility": encode(eligibility)}})


# Runs computed before the level rule counted the renewable energy only, hour by hour, and settled
# the cooperative hour by hour: their tier was set by the renewable level; the other was not recorded.
_LEVEL_BEFORE_RULE = {"level_numerator": "renewable", "all_sources_level_pct": None, "generation_shared_wh": None}


def _level_of(totals: dict) -> dict:
    return {"renewable_level_pct": totals.get("autoconsumption_pct")} if "renewable_level_pct" not in totals else {}


def _snapshot_upgrade_3(old: dict) -> RunSnapshot:
    """Schema 3 → 4: the level rule (the renewable level set the tier) and no netting record."""
    totals = old.get("totals")
    if not isinstance(totals, dict):
        raise SnapshotError("totals", "oczekiwano obiektu")
    return _snapshot_upgrade_4(
        old | {"schema": 4, "totals": _LEVEL_BEFORE_RULE | totals | _level_of(totals), "cooperative_netting": None}
    )


def _snapshot_upgrade_4(old: dict) -> RunSnapshot:
    """Schema 4 → 5: the rows the run used that were not verified (before the flag: all of them)."""
    return _snapshot_upgrade_5(old | {"schema": 5, "unverified": _unverified_before_flags(old)})


# Runs computed before the evaluation period was rule data evaluated the level per run: the run's own period.
LEVEL_PERIOD_BEFORE_RULE = "month"
# Runs computed before the VAT rate was rule data used 23 % (the only rate the documents named),
# and their members deducted VAT as their legal form says (``members.models.vat_deduction_default``).
VAT_BEFORE_RULE = "23.00"


def _rule_before(old: dict) -> dict:
    """The rule's evaluation period (before it was rule data: per run, ``month``) and VAT rate (23 %)."""
    rule = old.get("rule")
    if not isinstance(rule, dict):
        raise SnapshotError("rule", "oczekiwano obiektu")
    return old | {"rule": {"evaluation_period": LEVEL_PERIOD_BEFORE_RULE, "vat_rate_pct": VAT_BEFORE_RULE} | rule}


def _members_before_vat(old: dict) -> dict:
    """Each member's VAT deduction: the default of the legal form the snapshot recorded."""
    members = [
        {"deducts_vat": vat_deduction_default(str(m.get("legal_form") or ""))} | m if isinstance(m, dict) else m
        for m in old.get("members") or []
    ]
    return old | {"members": members}


def _zones_before(rules: dict) -> dict:
    """Rules recorded before tariff time zones: every rate priced all hours (zone ""), no zone hours used."""
    rates = [{"zone": ""} | r if isinstance(r, dict) else r for r in rules.get("rates") or []]
    return rules | {"rates": rates, "zone_hours": []}


# Runs computed before the billing regime was recorded settled every PPE on its raw series.
_PPE_BEFORE_REGIME = {"billing_regime": "ordinary", "series": "raw"}


def _regimes_before(old: dict) -> dict:
    """Each PPE's billing regime and settled series (before they were recorded: ordinary, raw)."""
    ppes = old.get("ppes")
    if not isinstance(ppes, list):
        raise SnapshotError("ppes", "oczekiwano listy")
    return old | {"ppes": [_PPE_BEFORE_REGIME | p if isinstance(p, dict) else p for p in ppes]}


# Schema 5 → 6, one step per subject the schema added; each fills what runs before it never recorded.
_SCHEMA_6_STEPS = (_rule_before, _members_before_vat, _zones_before, _regimes_before)


def _snapshot_upgrade_5(old: dict) -> RunSnapshot:
    """Schema 5 → 6: the rule's evaluation period (``month``) and VAT rate (23 %), the members' VAT deduction
    (their legal form's default), tariff zones (zone "" on every rate, no zone hours), each PPE's billing
    regime and settled series (ordinary, raw)."""
    from .snapshot import SCHEMA, snapshot_from_json

    for step in _SCHEMA_6_STEPS:
        old = step(old)
    return snapshot_from_json(old | {"schema": SCHEMA})


def run_snapshot_upgrade_store(run) -> RunSnapshot:
    """``run_snapshot_upgrade`` written to the run: its ``snapshot`` and, in the contract's encoding, ``cooperative``."""
    snapshot = run_snapshot_upgrade(run)
    run.snapshot = snapshot_to_json(snapshot)
    run.cooperative = encode(snapshot.cooperative)
    run.save(update_fields=["snapshot", "cooperative"])
    return snapshot


DIFF_FIELDS = ("drawn_wh", "shared_wh", "fed_in_wh", "discount", "exemptions_total", "total")


def run_diff(*, run: SettlementRun, totals: dict, lines: list[SettlementLine]) -> dict:
    """Changes against the latest finished earlier version of the same cluster and period."""
    previous = run_previous(run=run)
    if previous is None:
        return {}
    changed = {k: [previous.totals.get(k), v] for k, v in totals.items() if previous.totals.get(k) != v}
    old_lines = {line.member_ref: line for line in previous.lines.all()}
    new_lines = {line.member_ref: line for line in lines}
    members = []
    for ref in sorted(old_lines.keys() | new_lines.keys()):
        old, new = old_lines.get(ref), new_lines.get(ref)
        for field in DIFF_FIELDS:
            a = getattr(old, field) if old else None
            b = getattr(new, field) if new else None
            if a != b:
                members.append({"ref": ref, "field": field, "old": _plain(a), "new": _plain(b)})
    return {"previous_version": previous.version, "totals": changed, "members": members}


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def run_previous(*, run: SettlementRun) -> SettlementRun | None:
    """The latest finished earlier version of the same cluster and period (what ``run_diff`` compared with)."""
    return (
        SettlementRun.objects.filter(
            cluster_id=run.cluster_id, period_start=run.period_start, period_end=run.period_end,
            status=JobStatus.DONE, version__lt=run.version,
        )
        .order_by("-version")
        .first()
    )


METER_KEYS = ("drawn_wh", "fed_in_wh", "renewable_fed_in_wh", "missing_hours")
RATE_FIELDS = ("variable_rate", "quality_rate")
FEE_FIELDS = ("rate", "effective_rate", "price", "obligation_pct", "mode")
RULE_FIELDS = ("cooperative_coefficient", "completeness_gate_pct", "storage_price_spread", "exemption_end_date", "vat_rate_pct")


def _rates_by_target(snapshot: dict) -> dict[tuple[str | None, str | None], dict[str, list[str]]]:
    """Each (DSO, tariff group) of the snapshot's rates → field → values used (in order of use)."""
    out: dict[tuple[str | None, str | None], dict[str, list[str]]] = {}
    for rate in sorted(snapshot.get("rates") or [], key=lambda r: str(r.get("used_from") or r.get("valid_from") or "")):
        target = out.setdefault((rate.get("dso"), rate.get("tariff_group")), {f: [] for f in RATE_FIELDS})
        for field in RATE_FIELDS:
            if rate.get(field) is not None and rate[field] not in target[field]:
                target[field].append(rate[field])
    return out


def _fees_by_code(snapshot: dict) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {}
    for fee in snapshot.get("fees") or []:
        target = out.setdefault(str(fee.get("code")), {f: [] for f in FEE_FIELDS})
        for field in FEE_FIELDS:
            if fee.get(field) is not None and fee[field] not in target[field]:
                target[field].append(fee[field])
    return out


def _memberships(snapshot: dict) -> dict[str, set[tuple]]:
    out: dict[str, set[tuple]] = {}
    for ms in snapshot.get("memberships") or []:
        out.setdefault(ms.get("ppe"), set()).add((ms.get("member"), ms.get("valid_from"), ms.get("valid_to")))
    return out


def run_diff_causes(*, run: SettlementRun, previous: SettlementRun) -> dict:
    """What differs between the inputs of two versions, the likely causes of their different results.

    ``rates``: [{dso, tariff_group, field, old: [values], new: [values]}] (zł/MWh), ``fees``: [{code, field, old, new}],
    ``tiers``/``rule``: changed fields, ``meter``: [{key, old, new}] totals of meter data (Wh; hours for missing_hours),
    ``members_added``/``members_removed``: [names], ``ppes_added``/``ppes_removed``: [codes], ``ppes_moved``: [codes
    whose membership periods differ], ``settings``: [{key, old, new}] (allocation, keys, completeness override),
    ``outdated``: the reasons recorded on ``previous`` after it was computed.
    """
    old_snap, new_snap = previous.snapshot or {}, run.snapshot or {}
    old_rates, new_rates = _rates_by_target(old_snap), _rates_by_target(new_snap)
    rates = [
        {"dso": target[0], "tariff_group": target[1], "field": field,
         "old": old_rates.get(target, {}).get(field, []), "new": new_rates.get(target, {}).get(field, [])}
        for target in sorted(old_rates.keys() | new_rates.keys(), key=lambda t: (t[0] or "", t[1] or ""))
        for field in RATE_FIELDS
        if old_rates.get(target, {}).get(field, []) != new_rates.get(target, {}).get(field, [])
    ]
    old_fees, new_fees = _fees_by_code(old_snap), _fees_by_code(new_snap)
    fees = [
        {"code": code, "field": field, "old": old_fees.get(code, {}).get(field, []), "new": new_fees.get(code, {}).get(field, [])}
        for code in sorted(old_fees.keys() | new_fees.keys())
        for field in FEE_FIELDS
        if old_fees.get(code, {}).get(field, []) != new_fees.get(code, {}).get(field, [])
    ]
    old_tiers, new_tiers = (
        [[t.get("threshold_pct"), t.get("discount_pct")] for t in snap.get("tiers") or []] for snap in (old_snap, new_snap)
    )
    tiers = [] if old_tiers == new_tiers else [{"old": old_tiers, "new": new_tiers}]
    old_rule, new_rule = old_snap.get("rule") or {}, new_snap.get("rule") or {}
    rule = [{"key": k, "old": old_rule.get(k), "new": new_rule.get(k)} for k in RULE_FIELDS if old_rule.get(k) != new_rule.get(k)]
    old_totals, new_totals = previous.totals or {}, run.totals or {}
    meter = [
        {"key": k, "old": old_totals.get(k), "new": new_totals.get(k)}
        for k in METER_KEYS if old_totals.get(k) != new_totals.get(k)
    ]
    old_members = {m.get("ref"): m.get("name") for m in old_snap.get("members") or []}
    new_members = {m.get("ref"): m.get("name") for m in new_snap.get("members") or []}
    old_ppes = {p.get("code") for p in old_snap.get("ppes") or []}
    new_ppes = {p.get("code") for p in new_snap.get("ppes") or []}
    old_ms, new_ms = _memberships(old_snap), _memberships(new_snap)
    settings_changed = [
        {"key": key, "old": a, "new": b}
        for key, a, b in (
            ("allocation", previous.allocation, run.allocation),
            ("allocation_keys", old_snap.get("allocation_keys"), new_snap.get("allocation_keys")),
            ("override_completeness", previous.override_completeness, run.override_completeness),
        )
        if a != b
    ]
    return {
        "rates": rates, "fees": fees, "tiers": tiers, "rule": rule, "meter": meter,
        "members_added": sorted(new_members[r] or r for r in new_members.keys() - old_members.keys()),
        "members_removed": sorted(old_members[r] or r for r in old_members.keys() - new_members.keys()),
        "ppes_added": sorted(new_ppes - old_ppes),
        "ppes_removed": sorted(old_ppes - new_ppes),
        "ppes_moved": sorted(code for code in old_ppes & new_ppes if old_ms.get(code) != new_ms.get(code)),
        "settings": settings_changed,
        "outdated": list(previous.outdated_reasons.all()),
    }
