"""The cluster report: the coordinator's presentation tables filled with a settlement.

Everything comes from the run's typed snapshot (``reports.settlement.snapshot``):
Tables 1–3 (cluster tiers), 5–6 (energy cooperative), 8 (cluster vs cooperative)
and the storage comparison were computed by ``reports.engine`` when the run was
(``SnapshotScenarios``), the run's own totals sit beside them, and the statutory
conditions and the area status are the ones recorded at run time (``ClusterStatus``).
Nothing here recomputes a figure or reads the live registry.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from reports.models import ClusterReport, SettlementLine, SettlementRun
from reports.settlement.snapshot import RunSnapshot, run_snapshot_read
from reports.statements.member_terms import MemberVat, member_vat, vat_rate_decimals
from reports.statements.pdf import RenderedPDF, monthly_chart_html, pdf_render, pdf_store
from reports.statements.services import (
    FEE_LABELS,
    run_created,
    run_period_label,
    tariff_notes,
)

MONTHLY_SERIES = [
    ("drawn_wh", "Pobór członków", "#adb5bd"),
    ("fed_in_wh", "Energia wprowadzona", "#9ec5fe"),
    ("shared_wh", "Energia współdzielona", "#198754"),
]


def _fee_label(code: str) -> str:
    return str(FEE_LABELS.get(code, code))


def _lines_with_vat(run: SettlementRun, snapshot: RunSnapshot) -> list[tuple[SettlementLine, MemberVat]]:
    """The run's lines by member name, each with its ``member_vat`` (the gross total of a member
    that does not deduct VAT)."""
    return [
        (line, member_vat(snapshot=snapshot, member_ref=line.member_ref, net=line.total))
        for line in run.lines.order_by("member_name")
    ]


def cluster_report_data(*, run: SettlementRun) -> dict[str, Any]:
    snapshot = run_snapshot_read(run)
    totals, scenarios = snapshot.totals, snapshot.scenarios
    coop = scenarios.cooperative
    cluster_fees = [f for f in scenarios.fees if f.cluster]
    coop_fees = [f for f in scenarios.fees if f.cooperative]
    unit_rate = scenarios.variable_rate + scenarios.quality_rate
    return {
        "run": run,
        "number": f"{run.cluster.slug.upper()}/{run_period_label(run=run)}/RAPORT-v{run.version}",
        "version": run.version,
        "created": run_created(run=run),
        "issued_on": run_created(run=run).date(),
        "cluster": snapshot.cluster,
        # plain mappings for the templates' filters (tier_label takes a mapping)
        "totals": asdict(totals),
        "exemption_rows": [{"label": _fee_label(code), "amount": amount} for code, amount in totals.exemptions.items()],
        "demand_wh": scenarios.demand_wh,
        "variable_rate": scenarios.variable_rate,
        "quality_rate": scenarios.quality_rate,
        "unit_rate": unit_rate,
        "rate_note": scenarios.rate_note,
        "cluster_fees": [{"code": f.code, "label": _fee_label(f.code), "rate": f.rate} for f in cluster_fees],
        "coop_fees": [{"code": f.code, "label": _fee_label(f.code), "rate": f.rate} for f in coop_fees],
        "cluster_fees_unit_total": sum((f.rate for f in cluster_fees), Decimal(0)),
        "coop_fees_unit_total": sum((f.rate for f in coop_fees), Decimal(0)),
        "scenarios": scenarios.tiers,
        "actual_threshold": scenarios.reached_threshold_pct,
        "coop": coop,
        "coop_coverage_pct": scenarios.coverage_pct,
        "coop_actual": snapshot.cooperative,
        "storage": scenarios.storage,
        "storage_level": scenarios.storage_level_pct,
        "coop_loss_pct": (1 - coop.coefficient) * 100,
        "exemption_end": snapshot.rules.rule.exemption_end_date,
        "storage_run": asdict(snapshot.storage),
        "status": snapshot.status,
        "chart": monthly_chart_html(months=[asdict(m) for m in snapshot.monthly], series=MONTHLY_SERIES, height=170),
        "lines": _lines_with_vat(run, snapshot),
        "vat_rate_pct": snapshot.rules.rule.vat_rate_pct,
        "vat_rate_decimals": vat_rate_decimals(snapshot.rules.rule.vat_rate_pct),
        "tariff_notes": tariff_notes(snapshot),
        # The report is the coordinator's copy (members get statements only): it names the rows nobody verified.
        "unverified": snapshot.rules.unverified,
    }


def cluster_report_pdf(*, run: SettlementRun) -> RenderedPDF:
    data = cluster_report_data(run=run)
    name = f"raport-{run.cluster.slug.upper()}-{run_period_label(run=run).replace('/', '-')}-v{run.version}.pdf"
    return pdf_render(template="cluster_report.html", context=data, name=name, created=data["created"])


def cluster_report_render(*, report: ClusterReport) -> ClusterReport:
    pdf = cluster_report_pdf(run=report.run)
    pdf_store(report, pdf, pdf.name)
    return report
