"""What a run records besides its lines: snapshot, storage scenarios, diff."""

from __future__ import annotations

from decimal import Decimal

from reports.engine import SettlementResult, StorageSpec, Tier, storage_simulate
from reports.models import AllocationKey, JobStatus, SettlementLine, SettlementRun

from .gather import Gathered

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
        keys = dict(AllocationKey.objects.filter(cluster=cluster).values_list("member__ref", "share"))
        snapshot["allocation_keys"] = {ref: str(v) for ref, v in keys.items()}
    return snapshot


DIFF_FIELDS = ("drawn_wh", "shared_wh", "fed_in_wh", "discount", "exemptions_total", "total")


def run_diff(*, run: SettlementRun, totals: dict, lines: list[SettlementLine]) -> dict:
    """Changes against the latest finished earlier version of the same cluster and period."""
    previous = (
        SettlementRun.objects.filter(
            cluster=run.cluster, period_start=run.period_start, period_end=run.period_end,
            status=JobStatus.DONE, version__lt=run.version,
        )
        .order_by("-version")
        .first()
    )
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
