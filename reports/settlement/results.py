"""What a run records besides its lines: snapshot, storage scenarios, diff."""

from __future__ import annotations

from decimal import Decimal

from reports.engine import SettlementResult, StorageSpec, Tier, storage_simulate
from reports.models import AllocationKey, JobStatus, SettlementLine, SettlementRun

from .gather import Gathered
from .keys import allocation_key_set_in_force

# Default hypothetical storage: sized from the generating capacity (the statutory
# condition asks ≥ 2 % of it), with 2 hours of capacity, 90 % round trip.
HYPOTHETICAL = ((Decimal("0.02"), "+2 % mocy wytwórczej, 2 h"), (Decimal("0.10"), "+10 % mocy wytwórczej, 2 h"))
DURATION_H = Decimal(2)
EFFICIENCY = Decimal("0.900")
KW = Decimal("0.001")


def storage_json(*, result: SettlementResult, gathered: Gathered, tiers: list[Tier], price_spread: Decimal) -> dict:
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
    return {
        "registered": {"power_kw": str(power.quantize(KW)), "capacity_kwh": str(capacity.quantize(KW)), "units": len(units)},
        "generating_kw": str(gathered.generating_kw.quantize(KW)),
        "price_spread": str(price_spread.quantize(Decimal("0.01"))),
        "scenarios": [s.as_json() for s in scenarios],
    }


def run_snapshot(*, run: SettlementRun, gathered: Gathered, price_spread: Decimal) -> dict:
    g = gathered
    cluster = run.cluster
    snapshot = g.plan.snapshot()
    snapshot.update(
        {
            "cluster": {
                "name": cluster.name,
                "slug": cluster.slug,
                "kind": cluster.kind,
                "dso": cluster.dso.name,
                "coordinator_name": cluster.coordinator_name,
                "coordinator_address": cluster.coordinator_address,
            },
            "members": [
                {
                    "ref": m.ref, "name": m.name, "legal_form": m.legal_form, "address": m.address,
                    "nip": m.nip, "regon": m.regon, "krs": m.krs, "joined_on": str(m.joined_on),
                    "left_on": str(m.left_on) if m.left_on else None,
                }
                for m in g.members
            ],
            "memberships": [
                {"ppe": ms.ppe.code, "member": ms.member.ref, "valid_from": str(ms.valid_from),
                 "valid_to": str(ms.valid_to) if ms.valid_to else None}
                for ms in g.memberships
            ],
            "ppes": [
                {"code": p.code, "dso": p.dso.name, "tariff_group": p.tariff_group, "voltage_level": p.voltage_level,
                 "renewable_share": round(float(share), 6)}
                for p, share in zip(g.ppes, g.renewable_share, strict=True)
            ],
            "allocation": run.allocation,
            "price_spread": str(price_spread),
        }
    )
    if run.allocation == "static":
        valid_from = allocation_key_set_in_force(cluster=cluster, on=run.period_start)
        keys = dict(
            AllocationKey.objects.filter(cluster=cluster, valid_from=valid_from).values_list("member__ref", "share")
        )
        snapshot["allocation_keys"] = {ref: str(v) for ref, v in keys.items()}
        snapshot["allocation_keys_valid_from"] = str(valid_from) if valid_from else None
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
RULE_FIELDS = ("cooperative_coefficient", "completeness_gate_pct", "storage_price_spread", "exemption_end_date")


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
