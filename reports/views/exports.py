"""XLSX / CSV downloads of the money tables and a settlement's statements as one ZIP.

Settlement lines (per member of a run), the version differences of a run,
completeness per PPE and day of the month the page shows, meter-import errors.
Cluster staff only, 404 across clusters (``cluster_staff_required``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from members.decorators import cluster_staff_required
from members.models import Cluster
from members.services.exports import Column, ExportFormat, Kind, Table, export_filename
from members.views.exports import export_format_or_404, table_response
from reports.metering.completeness import PPEDayCompleteness, completeness_by_day, completeness_rows_most
from reports.models import JobStatus, ReadingImport, SettlementLine, SettlementRun
from reports.statements.archive import statements_archive_build, statements_archive_record
from reports.statements.services import run_period_label
from reports.views.readings import _month
from reports.views.settlements import TOTALS_LABELS, _fee_codes, _fee_label

LINE_FIELDS = (
    "id", "run_id", "member_ref", "member_name", "drawn_wh", "shared_wh", "fed_in_wh", "discount", "exemptions",
    "exemptions_total", "total", "cost_without_cluster",
)
COUNT_KEYS = frozenset({"members", "ppes", "hours", "missing_hours"})
COMPLETENESS_COLUMNS = 13


def _kwh(wh: int | None) -> Decimal | None:
    """Energy in kWh, exact (3 decimal places are whole Wh)."""
    return None if wh is None else Decimal(int(wh)).scaleb(-3)


def _run_or_404(cluster: Cluster, run_id: int) -> SettlementRun:
    return get_object_or_404(SettlementRun.objects.select_related("cluster"), cluster=cluster, id=run_id)


def _run_what(run: SettlementRun, what: str) -> str:
    return f"{what}-{run_period_label(run=run).replace('/', '-')}-v{run.version}"


# --- tables ----------------------------------------------------------------------


def settlement_line_table(*, run: SettlementRun, rows: Iterable[SettlementLine]) -> Table:
    """One row per member of a finished run: energy in kWh, money in zł, each exemption a column."""
    codes = _fee_codes((run.totals or {}).get("exemptions", {}))

    def exemption(code: str) -> Column:
        return Column(f"{_fee_label(code)} [zł]", lambda line: (line.exemptions or {}).get(code), Kind.MONEY)

    return Table(title=_("Rozliczenie"), rows=rows, columns=[
        Column(_("Symbol"), lambda line: line.member_ref),
        Column(_("Członek"), lambda line: line.member_name),
        Column(_("Energia pobrana [kWh]"), lambda line: _kwh(line.drawn_wh), Kind.DECIMAL, 3),
        Column(_("Energia współdzielona [kWh]"), lambda line: _kwh(line.shared_wh), Kind.DECIMAL, 3),
        Column(_("Energia wprowadzona [kWh]"), lambda line: _kwh(line.fed_in_wh), Kind.DECIMAL, 3),
        Column(_("Upust [zł]"), lambda line: line.discount, Kind.MONEY),
        *(exemption(code) for code in codes),
        Column(_("Zwolnienia razem [zł]"), lambda line: line.exemptions_total, Kind.MONEY),
        Column(_("Korzyść razem [zł]"), lambda line: line.total, Kind.MONEY),
        Column(_("Opłaty od energii współdzielonej bez klastra [zł netto]"), lambda line: line.cost_without_cluster, Kind.MONEY),
    ])


def _diff_value(key: str, value: Any) -> tuple[str, Any]:
    """(unit, number) of a totals/line value by its key: ``*_wh`` kWh, ``*_pct`` %, counts, else zł."""
    if isinstance(value, dict):  # the discount tier: its discount
        return "%", value.get("discount_pct")
    if value is None or value == "":
        return "", None
    if key.endswith("_wh"):
        return "kWh", _kwh(value)
    if key.endswith("_pct"):
        return "%", value
    if key in COUNT_KEYS or isinstance(value, bool):
        return "", value
    return "zł", value


def diff_rows(*, run: SettlementRun) -> Iterator[dict[str, Any]]:
    """The run's changes against the previous version: cluster totals first, then every member's."""
    diff = run.diff or {}
    cluster_label = _("klaster")
    for key, pair in (diff.get("totals") or {}).items():
        old, new = pair
        if key in ("exemptions", "per_mwh"):  # {code: zł} on both sides: each code that changed
            old, new = old or {}, new or {}
            subs = _fee_codes(old, new) if key == "exemptions" else sorted(old.keys() | new.keys())
            for sub in subs:
                if old.get(sub) == new.get(sub):
                    continue
                if key == "exemptions":
                    label, unit = _fee_label(sub), "zł"
                else:
                    label, unit = _("%(label)s na 1 MWh") % {"label": TOTALS_LABELS.get(sub, sub)}, "zł/MWh"
                yield {"scope": cluster_label, "label": str(label), "unit": unit, "old": old.get(sub), "new": new.get(sub)}
            continue
        unit, a = _diff_value(key, old)
        unit_b, b = _diff_value(key, new)
        yield {"scope": cluster_label, "label": str(TOTALS_LABELS.get(key, key)), "unit": unit or unit_b, "old": a, "new": b}
    for change in diff.get("members") or []:
        key = change.get("field", "")
        unit, a = _diff_value(key, change.get("old"))
        unit_b, b = _diff_value(key, change.get("new"))
        yield {"scope": change.get("ref", ""), "label": str(TOTALS_LABELS.get(key, key)), "unit": unit or unit_b, "old": a, "new": b}


def _change(row: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(row["new"])) - Decimal(str(row["old"]))
    except (ArithmeticError, TypeError, ValueError):
        return None


def diff_table(*, run: SettlementRun) -> Table:
    previous = (run.diff or {}).get("previous_version")
    return Table(title=_("Różnice wersji"), rows=diff_rows(run=run), columns=[
        Column(_("Dotyczy (klaster lub symbol członka)"), lambda r: r["scope"]),
        Column(_("Pozycja"), lambda r: r["label"]),
        Column(_("Jednostka"), lambda r: r["unit"]),
        Column(_("Wersja %(v)s") % {"v": previous or "—"}, lambda r: r["old"], Kind.NUMBER),
        Column(_("Wersja %(v)s") % {"v": run.version}, lambda r: r["new"], Kind.NUMBER),
        Column(_("Zmiana"), _change, Kind.NUMBER),
    ])


def completeness_table(*, rows: Iterable[PPEDayCompleteness]) -> Table:
    """``COMPLETENESS_COLUMNS`` columns (the XLSX size check counts cells with it)."""
    return Table(title=_("Kompletność"), rows=rows, columns=[
        Column(_("Kod PPE"), lambda r: r.ppe_code),
        Column(_("Grupa taryfowa"), lambda r: r.tariff_group),
        Column(_("Symbol członka"), lambda r: r.member_ref),
        Column(_("Członek"), lambda r: r.member_name),
        Column(_("Dzień"), lambda r: r.day, Kind.DATE),
        Column(_("Godziny oczekiwane"), lambda r: r.expected, Kind.INT),
        Column(_("Godziny kompletne"), lambda r: r.present, Kind.INT),
        Column(_("Godziny brakujące"), lambda r: r.missing, Kind.INT),
        Column(_("Brak poboru [h]"), lambda r: r.missing_import, Kind.INT),
        Column(_("Brak oddania [h]"), lambda r: r.missing_export, Kind.INT),
        Column(_("Oddanie wymagane"), lambda r: _("tak") if r.export_required else _("nie")),
        Column(_("Godziny szacowane"), lambda r: r.estimated, Kind.INT),
        Column(_("Kompletność [%]"), lambda r: r.percent, Kind.DECIMAL, 1),
    ])


def reading_error_table(*, rows: Iterable[Any]) -> Table:
    """Rows: ``ReadingImport.error_rows`` (line, field and message in the active language)."""
    return Table(title=_("Błędy importu"), rows=rows, columns=[
        Column(_("Wiersz"), lambda e: e.get("line"), Kind.INT),
        Column(_("Pole"), lambda e: e.get("field")),
        Column(_("Błąd"), lambda e: e.get("message")),
    ])


# --- views -----------------------------------------------------------------------


@cluster_staff_required
@require_GET
def settlement_lines_export(request: HttpRequest, cluster: Cluster, run_id: int, fmt: str) -> HttpResponseBase:
    export_format = export_format_or_404(fmt)
    run = _run_or_404(cluster, run_id)
    if run.status != JobStatus.DONE:
        raise Http404(_("Rozliczenie %(id)s nie jest zakończone — nie ma jeszcze wyników do pobrania.") % {"id": run.pk})
    lines = run.lines.only(*LINE_FIELDS).order_by("member_name", "id").iterator(chunk_size=2_000)
    return table_response(
        table=settlement_line_table(run=run, rows=lines), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what=_run_what(run, "rozliczenie"), fmt=export_format),
    )


@cluster_staff_required
@require_GET
def settlement_diff_export(request: HttpRequest, cluster: Cluster, run_id: int, fmt: str) -> HttpResponseBase:
    export_format = export_format_or_404(fmt)
    run = _run_or_404(cluster, run_id)
    return table_response(
        table=diff_table(run=run), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what=_run_what(run, "roznice"), fmt=export_format),
    )


@cluster_staff_required
@require_GET
def completeness_export(request: HttpRequest, cluster: Cluster, fmt: str) -> HttpResponseBase:
    """The month of ``?month=RRRR-MM`` (the completeness page's parameter), per PPE and day."""
    export_format = export_format_or_404(fmt)
    chosen = _month(request.GET.get("month"))
    if chosen is None:
        today = timezone.localdate()
        chosen = (today.year, today.month)
    year, month = chosen
    if export_format == ExportFormat.XLSX:
        table_cells = completeness_rows_most(cluster=cluster, year=year, month=month) * COMPLETENESS_COLUMNS
        if table_cells > settings.OKE_EXPORT_XLSX_MAX_CELLS:
            messages.error(request, _(
                "Kompletność za %(month)s to do %(cells)s komórek, a arkusz XLSX może mieć najwyżej %(limit)s "
                "(OKE_EXPORT_XLSX_MAX_CELLS) — pobierz plik CSV."
            ) % {"month": f"{year}-{month:02d}", "cells": table_cells, "limit": settings.OKE_EXPORT_XLSX_MAX_CELLS})
            return redirect(reverse("reports:completeness", args=[cluster.slug]) + f"?month={year}-{month:02d}")
    return table_response(
        table=completeness_table(rows=completeness_by_day(cluster=cluster, year=year, month=month)), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what=f"kompletnosc-{year}-{month:02d}", fmt=export_format),
    )


@cluster_staff_required
@require_GET
def import_errors_export(request: HttpRequest, cluster: Cluster, pk: int, fmt: str) -> HttpResponseBase:
    export_format = export_format_or_404(fmt)
    reading_import = get_object_or_404(ReadingImport.objects.only("id", "errors"), cluster=cluster, pk=pk)
    rows = reading_import.error_rows  # rendered in the reader's language
    return table_response(
        table=reading_error_table(rows=rows), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what=f"bledy-importu-{reading_import.pk}", fmt=export_format),
    )


@cluster_staff_required
@require_GET
def statements_zip(request: HttpRequest, cluster: Cluster, run_id: int) -> HttpResponse | FileResponse:
    """Every rendered statement of the run in one ZIP; each statement's download is logged."""
    run = _run_or_404(cluster, run_id)
    archive = statements_archive_build(run=run)
    if not archive.count:
        archive.file.close()
        messages.error(request, _(
            "Rozliczenie %(id)s nie ma jeszcze gotowych zestawień PDF — przygotuj je, a potem pobierz archiwum ZIP."
        ) % {"id": run.pk})
        return redirect("reports:statement-list", cluster_slug=cluster.slug, run_id=run.pk)
    statements_archive_record(
        archive=archive, user=request.user, ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    if archive.missing:
        messages.warning(request, ngettext(
            "W archiwum brakuje %(n)d pliku PDF: %(numbers)s.", "W archiwum brakuje %(n)d plików PDF: %(numbers)s.",
            len(archive.missing)) % {
            "n": len(archive.missing), "numbers": ", ".join(archive.missing[:10])})
    response = FileResponse(archive.file, as_attachment=True, filename=archive.filename, content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("settlements/<int:run_id>/lines.<str:fmt>", settlement_lines_export, name="settlement-lines-export"),
    path("settlements/<int:run_id>/diff.<str:fmt>", settlement_diff_export, name="settlement-diff-export"),
    path("settlements/<int:run_id>/statements.zip", statements_zip, name="statements-zip"),
    path("readings/completeness/export.<str:fmt>", completeness_export, name="completeness-export"),
    path("readings/<int:pk>/errors.<str:fmt>", import_errors_export, name="import-errors-export"),
]
