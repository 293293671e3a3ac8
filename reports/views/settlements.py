"""Settlement pages for coordinator staff: list + request, progress, results, one member."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from members.decorators import cluster_staff_required
from members.models import BillingRegime, Cluster
from okeportal.formatting import DASH, day, format_by_key, month, pct, period, plnum, tier_label, when, zl, zl_per_mwh
from okeportal.jobs import job_send_failed, queue_unavailable_message
from reports.forms import SettlementRequestForm, SettlementRerunForm
from reports.models import FEE_ORDER, AllocationMethod, FeeCode, JobStatus, SettlementLine, SettlementRun
from reports.settlement import settlement_request
from reports.settlement.archive import settlement_archive, settlement_unarchive
from reports.settlement.outdated import settlement_outdated_reasons
from reports.settlement.periods import run_level_provisional
from reports.settlement.results import run_diff_causes, run_previous
from reports.settlement.selectors import row_label
from reports.settlement.snapshot import RunSnapshot, run_snapshot_read
from reports.statements.member_terms import member_vat, vat_rate_decimals

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Rows per page of the detail's member table (and of a failed run's missing-data table).
DETAIL_PAGE_SIZE = 50
# Per-member changes listed against the previous version; the rest are counted.
DIFF_MEMBERS_SHOWN = 100
LINE_TABLE_FIELDS = (
    "id", "run_id", "member_ref", "member_name", "drawn_wh", "shared_wh", "discount", "exemptions", "exemptions_total", "total",
)
WH_PER_KWH = 1_000
WH_PER_MWH = 1_000_000
TOTALS_LABELS = {
    "drawn_wh": gettext_lazy("energia pobrana"), "shared_wh": gettext_lazy("energia współdzielona"),
    "fed_in_wh": gettext_lazy("energia wprowadzona"), "renewable_fed_in_wh": gettext_lazy("energia OZE wprowadzona"),
    "autoconsumption_pct": gettext_lazy("poziom autokonsumpcji"), "tier": gettext_lazy("próg upustu"),
    "discount": gettext_lazy("upust"), "exemptions_total": gettext_lazy("zwolnienia razem"),
    "total": gettext_lazy("korzyść razem"), "cost_without_cluster": gettext_lazy("opłaty od energii współdzielonej bez klastra"),
    "exemptions": gettext_lazy("zwolnienia"), "members": gettext_lazy("członkowie"), "ppes": gettext_lazy("PPE"), "hours": gettext_lazy("godziny"),
    "completeness_pct": gettext_lazy("kompletność danych pomiarowych"), "missing_hours": gettext_lazy("godziny bez danych pomiarowych"),
    "override_completeness": gettext_lazy("rozliczono mimo braków danych"),
    "estimated": gettext_lazy("godziny-PPE z udziałem OZE szacowanym z mocy zainstalowanej"),
}
# Keys of the run's inputs named in the causes of a version difference.
CAUSE_LABELS = {
    "variable_rate": gettext_lazy("stawka zmienna sieciowa"), "quality_rate": gettext_lazy("stawka jakościowa"),
    "rate": gettext_lazy("stawka"), "effective_rate": gettext_lazy("stawka efektywna"), "price": gettext_lazy("cena"),
    "obligation_pct": gettext_lazy("obowiązek"), "mode": gettext_lazy("sposób naliczania"),
    "cooperative_coefficient": gettext_lazy("współczynnik spółdzielni"),
    "completeness_gate_pct": gettext_lazy("próg kompletności danych"),
    "storage_price_spread": gettext_lazy("różnica cen dla magazynu"), "exemption_end_date": gettext_lazy("koniec zwolnień"),
    "allocation": gettext_lazy("podział korzyści"), "allocation_keys": gettext_lazy("klucze podziału"),
    "override_completeness": gettext_lazy("rozliczenie mimo braków danych"),
    "vat_rate_pct": gettext_lazy("stawka VAT"),
}
HOUR_KEYS = ("missing_hours", "hours", "estimated")
COUNT_KEYS = ("members", "ppes")


def _run_or_404(cluster: Cluster, run_id: int) -> SettlementRun:
    return get_object_or_404(SettlementRun.objects.select_related("created_by"), cluster=cluster, id=run_id)


def _fee_codes(*dicts: dict) -> list[str]:
    """Fee codes present in any of the exemption dicts, in the statutory order."""
    present = {code for d in dicts for code in (d or {})}
    known = [str(code) for code in FEE_ORDER if str(code) in present]
    return known + sorted(present - set(known))


def _fee_label(code: str) -> str:
    return str(FeeCode(code).label) if code in FeeCode.values else code


def _to_decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


@cluster_staff_required
@require_http_methods(["GET", "POST"])
def settlement_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    form = SettlementRequestForm(request.POST or None, cluster=cluster)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = settlement_request(
                cluster=cluster, period_start=data["period_start"], period_end=data["period_end"],
                period_kind=data["period_kind"], allocation=data["allocation"],
                override_completeness=data["override_completeness"], user=request.user,
            )
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            if job_send_failed(job=run):  # broker down: the run is FAILED with this reason, retry on its page
                messages.error(request, queue_unavailable_message())
                return redirect("reports:settlement-detail", cluster.slug, run.id)
            messages.success(request, _("Rozliczenie za %(start)s – %(end)s (wersja %(version)s) zostało zlecone.") % {
                "start": day(run.period_start), "end": day(run.period_end), "version": run.version,
            })
            return redirect("reports:settlement-detail", cluster.slug, run.id)
    show_archived = request.GET.get("archived") == "1"
    runs = (
        SettlementRun.objects.filter(cluster=cluster).select_related("created_by").prefetch_related("outdated_reasons")
        .order_by("-period_start", "-period_end", "-version")
    )
    archived_count = runs.filter(archived_at__isnull=False).count()
    if not show_archived:
        runs = runs.filter(archived_at__isnull=True)
    periods: list[dict[str, Any]] = []
    for run in runs:
        if not periods or (periods[-1]["start"], periods[-1]["end"]) != (run.period_start, run.period_end):
            periods.append({"start": run.period_start, "end": run.period_end, "kind": run.get_period_kind_display(), "runs": []})
        periods[-1]["runs"].append(run)
    return render(request, "reports/settlements/list.html", {
        "cluster": cluster, "nav": "settlements", "form": form, "periods": periods,
        "show_archived": show_archived, "archived_count": archived_count,
    })


@cluster_staff_required
@require_POST
def settlement_rerun(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    form = SettlementRerunForm(request.POST)
    form.is_valid()
    try:
        new_run = settlement_request(
            cluster=cluster, period_start=run.period_start, period_end=run.period_end, period_kind=run.period_kind,
            allocation=run.allocation, override_completeness=form.cleaned_data.get("override_completeness", False),
            user=request.user,
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("reports:settlement-detail", cluster.slug, run.id)
    if job_send_failed(job=new_run):
        messages.error(request, queue_unavailable_message())
    else:
        messages.success(request, _("Zlecono ponowne obliczenie (wersja %(version)s).") % {"version": new_run.version})
    return redirect("reports:settlement-detail", cluster.slug, new_run.id)


@cluster_staff_required
@require_POST
def settlement_archive_view(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    try:
        settlement_archive(run=run)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("reports:settlement-detail", cluster.slug, run.id)
    messages.success(request, _("Rozliczenie (wersja %(version)s) zostało zarchiwizowane; lista rozliczeń już go nie pokazuje.") % {
        "version": run.version})
    return redirect("reports:settlement-list", cluster.slug)


@cluster_staff_required
@require_POST
def settlement_unarchive_view(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    settlement_unarchive(run=run)
    messages.success(request, _("Rozliczenie (wersja %(version)s) znów jest na liście rozliczeń.") % {"version": run.version})
    return redirect("reports:settlement-detail", cluster.slug, run.id)


@cluster_staff_required
@require_GET
def settlement_progress(request: HttpRequest, cluster: Cluster, run_id: int) -> JsonResponse:
    run = get_object_or_404(
        SettlementRun.objects.only("id", "status", "progress", "message", "message_data", "error", "error_data"),
        cluster=cluster, id=run_id,
    )
    return JsonResponse({
        "id": run.id, "status": run.status, "status_display": run.get_status_display(), "progress": run.progress,
        "message": run.message_text, "error": run.error_text, "done": run.status not in ACTIVE,
        "url": reverse("reports:settlement-detail", args=[cluster.slug, run.id]),
    })


def _member_rows(lines: list[SettlementLine], page_lines: list[SettlementLine], codes: list[str],
                 snapshot: RunSnapshot | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The shown page's rows (with the gross total of a member that does not deduct VAT), and the totals
    over every member's line."""
    rows = [
        {"line": line, "exemptions": [line.exemptions.get(code) for code in codes],
         "vat": member_vat(snapshot=snapshot, member_ref=line.member_ref, net=line.total) if snapshot else None}
        for line in page_lines
    ]
    total = {
        "drawn_wh": sum(line.drawn_wh for line in lines),
        "shared_wh": sum(line.shared_wh for line in lines),
        "discount": sum((line.discount for line in lines), Decimal(0)),
        "exemptions": [sum((_to_decimal(line.exemptions.get(code)) for line in lines), Decimal(0)) for code in codes],
        "exemptions_total": sum((line.exemptions_total for line in lines), Decimal(0)),
        "total": sum((line.total for line in lines), Decimal(0)),
    }
    return rows, total


def _chart_data(run: SettlementRun) -> dict[str, Any]:
    hourly = sorted(run.hourly_profile or [], key=lambda h: h["hour"])
    monthly = run.monthly or []
    return {
        "hourly": {
            "labels": [f"{h['hour']}:00" for h in hourly],
            "drawn": [h["drawn_wh"] / WH_PER_KWH for h in hourly],
            "shared": [h["shared_wh"] / WH_PER_KWH for h in hourly],
            "fed_in": [h.get("fed_in_wh", 0) / WH_PER_KWH for h in hourly],
        },
        "monthly": {
            "labels": [month(m["month"]) for m in monthly],
            "drawn": [m["drawn_wh"] / WH_PER_MWH for m in monthly],
            "shared": [m["shared_wh"] / WH_PER_MWH for m in monthly],
        },
        "labels": {"drawn": _("pobór"), "shared": _("energia współdzielona"), "fed_in": _("wprowadzenie do sieci"),
                   "kwh": _("kWh (średnia doba)"), "mwh": "MWh"},
    }


def _comparison(run: SettlementRun) -> dict[str, Any] | None:
    """Cluster vs energy cooperative side by side (seed's Table 8) and the storage per-MWh view."""
    totals, coop = run.totals or {}, run.cooperative or {}
    if not coop:
        return None
    codes = _fee_codes(totals.get("exemptions", {}), coop.get("exemptions", {}))
    fees = [{
        "label": _fee_label(code),
        "cluster": totals.get("exemptions", {}).get(code),
        "cooperative": coop.get("exemptions", {}).get(code),
    } for code in codes]
    spread = (run.storage or {}).get("price_spread")
    per_mwh_rows = None
    if spread not in (None, ""):
        cluster_pref = _to_decimal(totals.get("per_mwh", {}).get("total"))
        coop_pref = _to_decimal(coop.get("per_mwh", {}).get("total"))
        per_mwh_rows = [
            {"name": _("Klaster energii"), "preferences": cluster_pref, "spread": _to_decimal(spread), "total": cluster_pref + _to_decimal(spread)},
            {"name": _("Spółdzielnia energetyczna"), "preferences": coop_pref, "spread": Decimal(0), "total": coop_pref},
        ]
    return {"fees": fees, "per_mwh_rows": per_mwh_rows}


def _diff_value(key: str, value: Any) -> str:
    """A totals/line value of a version difference in its unit: MWh, %, hours, counts, yes/no, else zł."""
    if isinstance(value, bool):
        return _("tak") if value else _("nie")
    if key in HOUR_KEYS:
        return DASH if value is None else f"{plnum(value, 0)}\u00a0h"
    if key in COUNT_KEYS:
        return plnum(value, 0)
    return format_by_key(key, value)


def _zeroish(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool | dict):
        return False
    try:
        return Decimal(str(value)) == 0
    except ArithmeticError:
        return False


def _cause_value(key: str, values: Any) -> str:
    """Rates and fees as recorded in a snapshot (a list when a period used several): zł/MWh, %, text."""
    items = values if isinstance(values, list) else [values]
    if not items or all(v is None for v in items):
        return DASH
    if key in ("variable_rate", "quality_rate", "storage_price_spread"):
        return ", ".join(zl_per_mwh(v) for v in items)
    if key.endswith("_pct"):
        return ", ".join(pct(v) for v in items)
    if key in ("rate", "effective_rate", "price"):
        return ", ".join(plnum(v, 4) for v in items)
    if key == "allocation":
        return ", ".join(str(AllocationMethod(v).label) if v in AllocationMethod.values else str(v) for v in items)
    if key == "allocation_keys":
        return ", ".join(
            "; ".join(f"{ref}: {pct(Decimal(share) * 100)}" for ref, share in sorted(v.items())) if v else DASH for v in items
        )
    if isinstance(items[0], bool):
        return ", ".join(_("tak") if v else _("nie") for v in items)
    return ", ".join(str(v) for v in items)


def _diff_causes(run: SettlementRun, previous: SettlementRun) -> list[dict[str, Any]]:
    """The inputs that differ between the versions, each {kind, label, old, new} (or {kind, label, items})."""
    causes = run_diff_causes(run=run, previous=previous)
    rows: list[dict[str, Any]] = []
    any_dso, any_group = _("każdy OSD"), _("każda grupa")
    for r in causes["rates"]:
        rows.append({"kind": _("stawki"), "label": f"{CAUSE_LABELS[r['field']]} ({r['dso'] or any_dso} / {r['tariff_group'] or any_group})",
                     "old": _cause_value(r["field"], r["old"]), "new": _cause_value(r["field"], r["new"])})
    for f in causes["fees"]:
        rows.append({"kind": _("opłaty"), "label": f"{_fee_label(f['code'])}: {CAUSE_LABELS.get(f['field'], f['field'])}",
                     "old": _cause_value(f["field"], f["old"]), "new": _cause_value(f["field"], f["new"])})
    for t in causes["tiers"]:
        rows.append({"kind": _("stawki"), "label": _("progi upustu"),
                     "old": "; ".join(tier_label({"threshold_pct": a, "discount_pct": b}) for a, b in t["old"]) or DASH,
                     "new": "; ".join(tier_label({"threshold_pct": a, "discount_pct": b}) for a, b in t["new"]) or DASH})
    for r in causes["rule"]:
        rows.append({"kind": _("zasady rozliczenia"), "label": CAUSE_LABELS.get(r["key"], r["key"]),
                     "old": _cause_value(r["key"], r["old"]), "new": _cause_value(r["key"], r["new"])})
    for m in causes["meter"]:
        rows.append({"kind": _("dane pomiarowe"), "label": TOTALS_LABELS.get(m["key"], m["key"]),
                     "old": _diff_value(m["key"], m["old"]), "new": _diff_value(m["key"], m["new"])})
    membership = (
        (causes["members_added"], _("przystąpili członkowie")), (causes["members_removed"], _("nie ma już członków")),
        (causes["ppes_added"], _("doszły PPE")), (causes["ppes_removed"], _("nie ma już PPE")),
        (causes["ppes_moved"], _("zmieniona przynależność PPE")),
    )
    for items, label in membership:
        if items:
            rows.append({"kind": _("członkostwo"), "label": label, "items": items})
    for c in causes["settings"]:
        rows.append({"kind": _("ustawienia rozliczenia"), "label": CAUSE_LABELS.get(c["key"], c["key"]),
                     "old": _cause_value(c["key"], c["old"]), "new": _cause_value(c["key"], c["new"])})
    for reason in causes["outdated"]:
        rows.append({"kind": _("zmiany po obliczeniu wersji %(v)s") % {"v": previous.version},
                     "label": reason.get_code_display(), "items": [reason.detail_text] if reason.detail_text else [],
                     "when": reason.created_at})
    return rows


def _diff_rows(run: SettlementRun, lines: list[SettlementLine]) -> dict[str, Any] | None:
    """The difference against the previous version for people: causes first, then changed totals and members;
    zero changes (nothing → 0) are left out and unchanged members only counted."""
    diff = run.diff or {}
    if run.version <= 1 or not diff:
        return None
    totals = []
    for key, (old, new) in (diff.get("totals") or {}).items():
        if key == "estimated":  # {hours, ppes}: the count of PPE-hours (None: not recorded)
            old, new = (old or {}).get("hours"), (new or {}).get("hours")
        if key in ("exemptions", "per_mwh"):  # {code: zł} on both sides: list the codes that changed
            old, new = old or {}, new or {}
            for sub in _fee_codes(old, new) if key == "exemptions" else sorted(old.keys() | new.keys()):
                if old.get(sub) != new.get(sub) and not (_zeroish(old.get(sub)) and _zeroish(new.get(sub))):
                    if key == "exemptions":
                        label, a, b = _fee_label(sub), zl(old.get(sub)), zl(new.get(sub))
                    else:
                        label = _("%(label)s na 1 MWh") % {"label": TOTALS_LABELS.get(sub, sub)}
                        a, b = zl_per_mwh(old.get(sub)), zl_per_mwh(new.get(sub))
                    totals.append({"label": label, "old": a, "new": b})
        elif not (_zeroish(old) and _zeroish(new)):
            totals.append({"label": TOTALS_LABELS.get(key, key), "old": _diff_value(key, old), "new": _diff_value(key, new)})
    names = {line.member_ref: line.member_name for line in lines}
    by_member: dict[str, list[dict[str, str]]] = {}
    for m in diff.get("members") or []:
        field = m.get("field", "")
        if _zeroish(m.get("old")) and _zeroish(m.get("new")):
            continue
        by_member.setdefault(m.get("ref"), []).append({
            "field": TOTALS_LABELS.get(field, field), "old": _diff_value(field, m.get("old")), "new": _diff_value(field, m.get("new")),
        })
    changed = [{"ref": ref, "name": names.get(ref, ""), "changes": changes} for ref, changes in sorted(by_member.items())]
    # The version the stored difference was computed against (the latest finished earlier one).
    previous = SettlementRun.objects.filter(
        cluster_id=run.cluster_id, period_start=run.period_start, period_end=run.period_end,
        version=diff.get("previous_version"),
    ).first() if diff.get("previous_version") else run_previous(run=run)
    return {
        "previous_version": diff.get("previous_version"),
        "causes": _diff_causes(run, previous) if previous is not None else [],
        "totals": totals,
        "members": changed[:DIFF_MEMBERS_SHOWN],
        "members_more": max(len(changed) - DIFF_MEMBERS_SHOWN, 0),
        "members_unchanged": len(names.keys() - by_member.keys()),
    }


def _local_hour(stamp: Any) -> str:
    """An ISO UTC hour from ``run.missing`` as local time, ``01.03.2025 01:00`` (English: ``2025-03-01 01:00``)."""
    try:
        moment = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return when(moment)


def _missing_rows(run: SettlementRun) -> list[dict[str, Any]]:
    """``run.missing`` ({ppe, member, hours, first, last, ranges, ranges_more}) as table rows."""
    rows = []
    for item in run.missing or []:
        if not isinstance(item, dict):
            rows.append({"ppe": str(item), "member": "", "count": None, "ranges": [], "more": 0})
            continue
        ranges = item.get("ranges") or ([[item["first"], item.get("last") or item["first"]]] if item.get("first") else [])
        rows.append({
            "ppe": item.get("ppe", ""),
            "member": item.get("member", ""),
            "count": item.get("hours"),
            "ranges": [
                _local_hour(a) if a == b else f"{_local_hour(a)} – {_local_hour(b)}" for a, b in ranges
            ],
            "more": item.get("ranges_more", 0),
            # hours of a prosumer PPE without its balanced series (runs before it: none)
            "balanced": item.get("balanced_hours", 0),
        })
    return rows


def _prosumer_rows(snapshot: RunSnapshot) -> list[dict[str, str]]:
    """PPEs the run settled on their balanced series (all period or part of it), from its snapshot."""
    labels = {value: str(label) for value, label in BillingRegime.choices}
    series = {"balanced": _("dane po zbilansowaniu"), "mixed": _("częściowo po zbilansowaniu (zmiana sposobu rozliczenia)")}
    return [
        {"code": p.code, "regime": labels.get(p.billing_regime, p.billing_regime), "series": series[p.series]}
        for p in snapshot.ppes if p.series in series
    ]


def _snapshot_rows(run: SettlementRun) -> dict[str, Any]:
    snapshot = run.snapshot or {}
    any_dso, any_group = _("każdy OSD"), _("każda grupa")
    rates = [{
        "who": " / ".join((r.get("dso_name") or r.get("dso") or any_dso, r.get("tariff_group") or any_group))
        + (" " + _("strefa %(zone)s") % {"zone": r["zone"]} if r.get("zone") else ""),
        "variable_rate": r.get("variable_rate"), "quality_rate": r.get("quality_rate"),
        "valid": period(r.get("valid_from"), r.get("valid_to")),
        "used": period(r["used_from"], r.get("used_to")) if r.get("used_from") else "",
    } for r in snapshot.get("rates", [])]
    fees = [{
        "label": _fee_label(str(f.get("code", ""))), "mode": f.get("mode"), "obligation_pct": f.get("obligation_pct"),
        "price": f.get("price"), "rate": f.get("effective_rate") if f.get("effective_rate") is not None else f.get("rate"),
        "cluster": f.get("applies_to_cluster", True), "cooperative": f.get("applies_to_cooperative", True),
    } for f in snapshot.get("fees", [])]
    zone_hours = [{
        "label": row_label("zone", z),
        "used": period(z["used_from"], z.get("used_to")) if z.get("used_from") else "",
    } for z in snapshot.get("zone_hours", [])]
    return {"snapshot_rates": rates, "snapshot_fees": fees, "snapshot_zone_hours": zone_hours}


@cluster_staff_required
@require_GET
def settlement_detail(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    context: dict[str, Any] = {
        "cluster": cluster, "nav": "settlements", "run": run, "active": run.status in ACTIVE,
        "other_versions": SettlementRun.objects.filter(
            cluster=cluster, period_start=run.period_start, period_end=run.period_end
        ).exclude(id=run.id).only("id", "version", "status").order_by("-version"),
        "outdated_reasons": settlement_outdated_reasons(run=run),
    }
    context["is_latest"] = not any(other.version > run.version for other in context["other_versions"])
    if run.status == JobStatus.FAILED:
        page_obj = Paginator(_missing_rows(run), DETAIL_PAGE_SIZE).get_page(request.GET.get("page"))
        context.update({"missing_rows": page_obj.object_list, "page_obj": page_obj})
    if run.status == JobStatus.DONE:
        totals = run.totals or {}
        snapshot = run_snapshot_read(run)
        # The member table shows one page; its footer and the cards stay totals over all members.
        # One query for every line's figures (the footer's totals), only the page is rendered.
        lines = list(run.lines.only(*LINE_TABLE_FIELDS).order_by("member_name", "id"))
        page_obj = Paginator(lines, DETAIL_PAGE_SIZE).get_page(request.GET.get("page"))
        codes = _fee_codes(totals.get("exemptions", {}), *(line.exemptions for line in lines))
        rows, line_total = _member_rows(lines, page_obj.object_list, codes, snapshot)
        context.update({
            "totals": totals,
            "fee_columns": [_fee_label(code) for code in codes],
            "exemption_cards": [(_fee_label(code), totals.get("exemptions", {}).get(code)) for code in codes],
            "rows": rows, "line_total": line_total, "page_obj": page_obj,
            "vat_rate_pct": snapshot.rules.rule.vat_rate_pct,
            "vat_rate_decimals": vat_rate_decimals(snapshot.rules.rule.vat_rate_pct),
            "chart_data": _chart_data(run),
            "comparison": _comparison(run),
            "diff": _diff_rows(run, lines),
            # the verdict the run recorded (never the live registry): reasons on top, an ineligible run as a comparison
            "eligibility": snapshot.status.eligibility,
            # over which period the rule evaluates the level: "year" makes a shorter run provisional
            "evaluation_period": snapshot.rules.rule.evaluation_period,
            "level_provisional": run_level_provisional(run),
            "prosumer_ppes": _prosumer_rows(snapshot),
            **_snapshot_rows(run),
        })
    return render(request, "reports/settlements/detail.html", context)


@cluster_staff_required
@require_GET
def settlement_member(request: HttpRequest, cluster: Cluster, run_id: int, line_id: int) -> HttpResponse:
    run = _run_or_404(cluster, run_id)
    line = get_object_or_404(SettlementLine, run=run, id=line_id)
    codes = _fee_codes(line.exemptions)
    monthly = sorted(line.monthly or [], key=lambda m: m["month"])
    return render(request, "reports/settlements/member.html", {
        "cluster": cluster, "nav": "settlements", "run": run, "line": line,
        "exemptions": [(_fee_label(code), line.exemptions.get(code)) for code in codes],
        "share_pct": (Decimal(line.shared_wh) * 100 / Decimal(line.drawn_wh)) if line.drawn_wh else None,
        "monthly": monthly,
        "chart_data": {
            "labels": [month(m["month"]) for m in monthly],
            "drawn": [m["drawn_wh"] / WH_PER_MWH for m in monthly],
            "shared": [m["shared_wh"] / WH_PER_MWH for m in monthly],
            "names": {"drawn": _("pobór"), "shared": _("energia współdzielona")},
        },
        "ppe_total": {k: sum(p.get(k, 0) for p in line.ppes or []) for k in ("drawn_wh", "shared_wh", "fed_in_wh")},
        "vat": member_vat(snapshot=run_snapshot_read(run), member_ref=line.member_ref, net=line.total),
    })


urlpatterns = [
    path("settlements/", settlement_list, name="settlement-list"),
    path("settlements/<int:run_id>/", settlement_detail, name="settlement-detail"),
    path("settlements/<int:run_id>/progress.json", settlement_progress, name="settlement-progress"),
    path("settlements/<int:run_id>/rerun/", settlement_rerun, name="settlement-rerun"),
    path("settlements/<int:run_id>/archive/", settlement_archive_view, name="settlement-archive"),
    path("settlements/<int:run_id>/unarchive/", settlement_unarchive_view, name="settlement-unarchive"),
    path("settlements/<int:run_id>/members/<int:line_id>/", settlement_member, name="settlement-member"),
]
