"""XLSX / CSV downloads of the registry lists, with the list page's filters applied.

Each export runs the page's own FilterSet over the page's selector, so its rows
are exactly the page's (every page of them, in the page's order). Cluster
staff only, 404 across clusters (``cluster_staff_required``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from members.decorators import cluster_staff_required
from members.filters import MemberFilter, PPEFilter
from members.models import Cluster, Generator, PPEMembership, RegistryImport, StorageUnit
from members.polish import polish_order
from members.selectors import member_list as member_list_select
from members.selectors import ppe_list as ppe_list_select
from members.services.exports import (
    CONTENT_TYPES,
    Column,
    ExportFormat,
    Kind,
    Table,
    export_filename,
    table_csv_chunks,
    table_xlsx_file,
)
from okeportal.downloads import ChunkFile

# Rows fetched from the database at a time while an export streams.
EXPORT_CHUNK = 2_000


def export_format_or_404(fmt: str) -> ExportFormat:
    try:
        return ExportFormat(fmt)
    except ValueError as exc:
        raise Http404(_("Nieznany format eksportu „%(fmt)s” — dostępne: xlsx, csv.") % {"fmt": fmt[:10]}) from exc


def table_response(*, table: Table, fmt: ExportFormat, filename: str) -> HttpResponseBase:
    """The table as a download: CSV streamed line by line, XLSX from a temporary file."""
    body: IO[bytes] | ChunkFile
    if fmt == ExportFormat.CSV:
        body = ChunkFile(_in_language(translation.get_language(), table_csv_chunks(table=table)))
    else:
        # Dates day-first in Polish, ISO otherwise (the cell is a date either way).
        date_format = "dd.mm.yyyy" if (translation.get_language() or "pl").startswith("pl") else "yyyy-mm-dd"
        body = table_xlsx_file(table=table, date_format=date_format)
    response = FileResponse(body, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _in_language(language: str | None, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The rows are written after the view returns: keep the request's language for their labels."""
    with translation.override(language):
        yield from chunks


def _rows(qs: QuerySet[Any]) -> Iterable[Any]:
    return qs.iterator(chunk_size=EXPORT_CHUNK)


# --- tables ----------------------------------------------------------------------


def member_table(*, rows: Iterable[Any]) -> Table:
    """Rows of ``members.selectors.member_list`` (with ``ppe_count``, ``installed_kw``, ``storage_kw``)."""
    return Table(title=_("Członkowie"), rows=rows, columns=[
        Column(_("Symbol"), lambda m: m.ref),
        Column(_("Nazwa"), lambda m: m.name),
        Column(_("Forma prawna"), lambda m: m.get_legal_form_display()),
        Column("NIP", lambda m: m.nip),
        Column("REGON", lambda m: m.regon),
        Column("KRS", lambda m: m.krs),
        Column(_("Ulica i numer"), lambda m: m.street),
        Column(_("Kod pocztowy"), lambda m: m.postal_code),
        Column(_("Miejscowość"), lambda m: m.city),
        Column(_("E-mail"), lambda m: m.email),
        Column(_("Odlicza VAT"), lambda m: _("tak") if m.deducts_vat else _("nie")),
        Column(_("Liczba PPE"), lambda m: m.ppe_count, Kind.INT),
        Column(_("Moc zainstalowana [kW]"), lambda m: m.installed_kw, Kind.DECIMAL, 3),
        Column(_("Moc magazynów [kW]"), lambda m: m.storage_kw, Kind.DECIMAL, 3),
        Column(_("Data przystąpienia"), lambda m: m.joined_on, Kind.DATE),
        Column(_("Data wystąpienia"), lambda m: m.left_on, Kind.DATE),
    ])


def ppe_table(*, rows: Iterable[Any]) -> Table:
    """Rows of ``members.selectors.ppe_list`` (member on today, installed and storage kW)."""
    return Table(title=_("PPE"), rows=rows, columns=[
        Column(_("Kod PPE"), lambda p: p.code),
        Column(_("Kod historyczny"), lambda p: _("tak") if p.is_legacy_code else _("nie")),
        Column(_("Symbol członka"), lambda p: p.member_ref),
        Column(_("Członek"), lambda p: p.member_name),
        Column(_("Adres"), lambda p: p.address),
        Column(_("Gmina"), lambda p: p.gmina.name),
        Column(_("Powiat"), lambda p: p.gmina.powiat_name),
        Column(_("Kod TERC"), lambda p: p.gmina_id),
        Column(_("OSD"), lambda p: p.dso.name),
        Column(_("Napięcie"), lambda p: p.voltage_level),
        Column(_("Grupa taryfowa"), lambda p: p.tariff_group),
        Column(_("Moc umowna [kW]"), lambda p: p.contracted_kw, Kind.DECIMAL, 2),
        Column(_("Deklarowane roczne zużycie [kWh]"), lambda p: p.annual_demand_kwh, Kind.INT),
        Column(_("Moc wytwórcza [kW]"), lambda p: p.installed_kw, Kind.DECIMAL, 3),
        Column(_("Moc magazynów [kW]"), lambda p: p.storage_kw, Kind.DECIMAL, 3),
    ])


def generator_table(*, rows: Iterable[Any]) -> Table:
    return Table(title=_("Jednostki wytwórcze"), rows=rows, columns=[
        Column(_("Kod PPE"), lambda g: g.ppe.code),
        Column(_("Symbol członka"), lambda g: g.member_ref),
        Column(_("Członek"), lambda g: g.member_name),
        Column(_("Nazwa"), lambda g: g.name),
        Column(_("Źródło"), lambda g: g.get_source_display()),
        Column(_("OZE"), lambda g: _("tak") if g.is_renewable else _("nie")),
        Column(_("Moc elektryczna [kW]"), lambda g: g.capacity_kw, Kind.DECIMAL, 3),
        Column(_("Moc cieplna [kW]"), lambda g: g.thermal_kw, Kind.DECIMAL, 3),
        Column(_("Roczna wydajność biogazu [m³]"), lambda g: g.biogas_m3_per_year, Kind.DECIMAL, 1),
        Column(_("Data uruchomienia"), lambda g: g.commissioned_on, Kind.DATE),
    ])


def storage_table(*, rows: Iterable[Any]) -> Table:
    return Table(title=_("Magazyny energii"), rows=rows, columns=[
        Column(_("Kod PPE"), lambda s: s.ppe.code),
        Column(_("Symbol członka"), lambda s: s.member_ref),
        Column(_("Członek"), lambda s: s.member_name),
        Column(_("Nazwa"), lambda s: s.name),
        Column(_("Moc [kW]"), lambda s: s.power_kw, Kind.DECIMAL, 3),
        Column(_("Pojemność [kWh]"), lambda s: s.capacity_kwh, Kind.DECIMAL, 3),
        Column(_("Sprawność cyklu"), lambda s: s.efficiency, Kind.DECIMAL, 3),
    ])


def registry_error_table(*, rows: Iterable[dict[str, Any]]) -> Table:
    return Table(title=_("Błędy importu rejestru"), rows=rows, columns=[
        Column(_("Plik"), lambda e: e.get("file")),
        Column(_("Wiersz"), lambda e: e.get("row"), Kind.INT),
        Column(_("Kolumna"), lambda e: e.get("column")),
        Column(_("Błąd"), lambda e: e.get("message")),
    ])


# --- views -----------------------------------------------------------------------


def _ppe_filter(request: HttpRequest, cluster: Cluster) -> PPEFilter:
    return PPEFilter(request.GET or None, queryset=ppe_list_select(cluster=cluster), cluster=cluster)


def _with_member(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Installations with their PPE and the PPE's member today (as on the PPE list)."""
    today = timezone.localdate()
    current = (
        PPEMembership.objects.filter(ppe=OuterRef("ppe_id"), valid_from__lte=today)
        .exclude(valid_to__lt=today)
        .order_by("-valid_from")
    )
    return qs.select_related("ppe").annotate(
        member_ref=Subquery(current.values("member__ref")[:1]), member_name=Subquery(current.values("member__name")[:1])
    ).order_by("ppe__code", polish_order("name"), "pk")


@cluster_staff_required
@require_GET
def member_export(request: HttpRequest, cluster: Cluster, fmt: str) -> HttpResponseBase:
    export_format = export_format_or_404(fmt)
    members = MemberFilter(request.GET or None, queryset=member_list_select(cluster=cluster))
    return table_response(
        table=member_table(rows=_rows(members.qs)), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what="czlonkowie", fmt=export_format),
    )


@cluster_staff_required
@require_GET
def ppe_export(request: HttpRequest, cluster: Cluster, fmt: str) -> HttpResponseBase:
    export_format = export_format_or_404(fmt)
    return table_response(
        table=ppe_table(rows=_rows(_ppe_filter(request, cluster).qs)), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what="ppe", fmt=export_format),
    )


def _installation_export(
    request: HttpRequest, cluster: Cluster, fmt: str, *, model: type[Generator] | type[StorageUnit], what: str,
    table: Callable[..., Table],
) -> HttpResponseBase:
    """Installations behind the PPEs the PPE list shows with the same filters."""
    export_format = export_format_or_404(fmt)
    ppes = _ppe_filter(request, cluster).qs.values("pk")
    return table_response(
        table=table(rows=_rows(_with_member(model.objects.filter(ppe__in=ppes)))), fmt=export_format,
        filename=export_filename(cluster_slug=cluster.slug, what=what, fmt=export_format),
    )


@cluster_staff_required
@require_GET
def generator_export(request: HttpRequest, cluster: Cluster, fmt: str) -> HttpResponseBase:
    return _installation_export(request, cluster, fmt, model=Generator, what="jednostki-wytworcze", table=generator_table)


@cluster_staff_required
@require_GET
def storage_export(request: HttpRequest, cluster: Cluster, fmt: str) -> HttpResponseBase:
    return _installation_export(request, cluster, fmt, model=StorageUnit, what="magazyny-energii", table=storage_table)


@cluster_staff_required
@require_GET
def registry_import_errors_export(request: HttpRequest, cluster: Cluster, pk: int, fmt: str) -> HttpResponseBase:
    """The errors the import page lists (the first ``OKE_REGISTRY_MAX_ERRORS``; ``error_count`` is the total)."""
    export_format = export_format_or_404(fmt)
    entry = get_object_or_404(RegistryImport.objects.only("id", "errors"), cluster=cluster, pk=pk)
    return table_response(
        table=registry_error_table(rows=entry.error_rows), fmt=export_format,  # messages in the reader's language
        filename=export_filename(cluster_slug=cluster.slug, what=f"bledy-importu-rejestru-{entry.pk}", fmt=export_format),
    )
