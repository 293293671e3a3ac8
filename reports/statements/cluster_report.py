"""The cluster report: the coordinator's presentation tables filled with a settlement.

Tables 1–3 (cluster tiers), 5–6 (energy cooperative), 8 (cluster vs cooperative)
and the storage comparison are computed by ``reports.engine`` from the run's
demand and the rates in its snapshot, never typed in; the run's own totals sit
beside them. The statutory conditions and the area status are evaluated when
the report is rendered and recorded in the PDF (the stored file is the snapshot).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from members.models import ClusterKind, ConditionCode
from reports.engine import (
    Fee,
    Tier,
    cooperative_scenario,
    storage_comparison,
    tier_scenarios,
)
from reports.models import FEE_ORDER, ClusterReport, FeeCode, SettlementRun
from reports.settlement.selectors import run_rule
from reports.statements.pdf import RenderedPDF, monthly_chart_html, pdf_render
from reports.statements.services import (
    FEE_LABELS,
    pdf_store,
    run_created,
    run_period_label,
    snapshot_cluster,
    tariff_notes,
)

# Fee exempt in a cluster unless the snapshot says otherwise; the capacity fee is
# exempt only in an energy cooperative (art. 38c vs art. 38e Prawa energetycznego).
CLUSTER_ONLY_EXCLUDED = {FeeCode.CAPACITY}


def _dec(value: Any, default: str = "0") -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(default)


def snapshot_rate(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The distribution rate the tables use: the general row (any DSO, any group) if recorded."""
    rates = snapshot.get("rates") or []
    if not rates:
        raise ValidationError(_("Rozliczenie nie zawiera stawek dystrybucyjnych: nie można sporządzić raportu."))
    general = [r for r in rates if not r.get("dso") and not r.get("tariff_group")]
    # The row in force at the end of the period (a tariff may change inside it).
    return max(general or rates, key=_last_used)


def _last_used(row: dict[str, Any]) -> tuple[str, str]:
    return (str(row.get("used_to") or row.get("valid_to") or "9999"), str(row.get("valid_from") or ""))


def snapshot_fees(snapshot: dict[str, Any]) -> list[Fee]:
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(snapshot.get("fees") or [], key=_last_used):
        latest[row.get("code")] = row  # one row per fee: the one in force at the period's end
    fees = []
    for row in latest.values():
        code = row.get("code")
        rate = row.get("effective_rate", row.get("rate"))
        if not code or rate in (None, ""):
            continue
        in_cluster = row.get("applies_to_cluster", code not in CLUSTER_ONLY_EXCLUDED)
        in_coop = row.get("applies_to_cooperative", True)
        fees.append(Fee(code=code, rate=_dec(rate), cluster=bool(in_cluster), cooperative=bool(in_coop)))
    order = [str(c) for c in FEE_ORDER]
    return sorted(fees, key=lambda f: order.index(f.code) if f.code in order else len(order))


def snapshot_tiers(snapshot: dict[str, Any]) -> list[Tier]:
    return [Tier(threshold_pct=_dec(t["threshold_pct"]), discount_pct=_dec(t["discount_pct"])) for t in snapshot.get("tiers") or []]


def cooperative_coverage_threshold(*, on: Any) -> Decimal | None:
    """Table 5's "required coverage" (70 %): the cooperative's dated rule."""
    from members.services.conditions import rules_in_force

    for rule in rules_in_force(kind=ClusterKind.COOPERATIVE, on=on):
        if rule.code == ConditionCode.DEMAND_COVERAGE:
            return rule.threshold
    return None


def cluster_status_snapshot(*, run: SettlementRun) -> dict[str, Any] | None:
    """Conditions and area as of the period's end (members.services.conditions)."""
    from members.services.conditions import cluster_status

    return cluster_status(cluster=run.cluster, on=run.period_end)


def cluster_report_data(*, run: SettlementRun) -> dict[str, Any]:
    snapshot = run.snapshot or {}
    totals = run.totals or {}
    demand_wh = int(totals.get("drawn_wh") or 0)
    rate = snapshot_rate(snapshot)
    variable, quality = _dec(rate.get("variable_rate")), _dec(rate.get("quality_rate"))
    fees = snapshot_fees(snapshot)
    tiers = snapshot_tiers(snapshot)
    rule = run_rule(snapshot=snapshot, on=run.period_end)
    coefficient = _dec(rule.get("cooperative_coefficient"))
    scenarios = tier_scenarios(demand_wh=demand_wh, tiers=tiers, variable_rate=variable, quality_rate=quality, fees=fees)
    coop = cooperative_scenario(
        demand_wh=demand_wh, coefficient=coefficient, variable_rate=variable, quality_rate=quality, fees=fees
    )
    actual_tier = totals.get("tier") or {}
    actual_threshold = _dec(actual_tier.get("threshold_pct"), "-1")
    actual = next((s for s in scenarios if s.threshold_pct == actual_threshold), None)
    price_spread = (run.storage or {}).get("price_spread")
    # The seed compares storage for a cluster at its achieved level (70 % there);
    # without a tier reached, the lowest tier is the nearest meaningful case.
    storage_base = actual or (scenarios[0] if scenarios else None)
    storage = (
        storage_comparison(cluster=storage_base, cooperative=coop, price_spread=_dec(price_spread))
        if storage_base is not None and price_spread not in (None, "")
        else None
    )
    cluster_fees = [f for f in fees if f.cluster]
    coop_fees = [f for f in fees if f.cooperative]
    lines = list(run.lines.order_by("member_name"))
    return {
        "run": run,
        "number": f"{run.cluster.slug.upper()}/{run_period_label(run=run)}/RAPORT-v{run.version}",
        "version": run.version,
        "created": run_created(run=run),
        "issued_on": run_created(run=run).date(),
        "cluster": snapshot_cluster(run=run),
        "totals": totals,
        "exemption_rows": [
            {"label": FEE_LABELS.get(code, code), "amount": _dec(value)}
            for code, value in sorted(
                (totals.get("exemptions") or {}).items(),
                key=lambda kv: [str(c) for c in FEE_ORDER].index(kv[0]) if kv[0] in FEE_ORDER else 99,
            )
        ],
        "demand_wh": demand_wh,
        "variable_rate": variable,
        "quality_rate": quality,
        "unit_rate": variable + quality,
        "rate_note": rate.get("source_note") or "",
        "cluster_fees": [{"code": f.code, "label": FEE_LABELS.get(f.code, f.code), "rate": f.rate} for f in cluster_fees],
        "coop_fees": [{"code": f.code, "label": FEE_LABELS.get(f.code, f.code), "rate": f.rate} for f in coop_fees],
        "cluster_fees_unit_total": sum((f.rate for f in cluster_fees), Decimal(0)),
        "coop_fees_unit_total": sum((f.rate for f in coop_fees), Decimal(0)),
        "scenarios": scenarios,
        "actual_threshold": actual.threshold_pct if actual else None,
        "coop": coop,
        "coop_coverage_pct": cooperative_coverage_threshold(on=run.period_end),
        "coop_actual": run.cooperative or {},
        "storage": storage,
        "storage_level": storage_base.threshold_pct if storage_base else None,
        "coop_loss_pct": (1 - coefficient) * 100,
        "exemption_end": dt.date.fromisoformat(str(rule["exemption_end_date"])) if rule.get("exemption_end_date") else None,
        "storage_run": run.storage or {},
        "status": cluster_status_snapshot(run=run),
        "chart": monthly_chart_html(
            months=run.monthly or [],
            series=[("drawn_wh", "Pobór członków", "#adb5bd"), ("fed_in_wh", "Energia wprowadzona", "#9ec5fe"),
                    ("shared_wh", "Energia współdzielona", "#198754")],
            height=170,
        ),
        "lines": lines,
        "tariff_notes": tariff_notes(snapshot),
    }


def cluster_report_pdf(*, run: SettlementRun) -> RenderedPDF:
    data = cluster_report_data(run=run)
    name = f"raport-{run.cluster.slug.upper()}-{run_period_label(run=run).replace('/', '-')}-v{run.version}.pdf"
    return pdf_render(template="cluster_report.html", context=data, name=name, created=data["created"])


def cluster_report_render(*, report: ClusterReport) -> ClusterReport:
    pdf = cluster_report_pdf(run=report.run)
    pdf_store(report, pdf, pdf.name)
    return report
