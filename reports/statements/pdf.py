"""Render a PDF template to bytes (step 2 of 3: data → bytes → FileField).

One FontConfiguration and one parsed stylesheet per process: the DejaVu
@font-face rules are loaded into fontconfig once, not once per document.
Fonts come from ``static/fonts`` so the output is the same on every machine.

Our PDF templates are well-formed XHTML, so ``PdfHTML`` parses them with the C
XML parser (expat) instead of WeasyPrint's pure-Python HTML5 parser, and
cascades them against ``ua.css``, the part of WeasyPrint's HTML5 user-agent
stylesheet that applies to the elements the templates use. Both give the same
tree and the same computed styles, hence the same bytes, for about 17 % less
CPU time per statement (bench_statements). A document that is not well-formed
(a template bug) is logged and parsed the HTML5 way, so it still renders.

Output is deterministic: no PDF /ID, and the creation date comes from the
caller (the settlement run), never from the clock, so rendering the same data
twice gives the same bytes and the same sha256.
"""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import hashlib
import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone, translation

from reports.models import AnnualStatement, ClusterReport, Statement

PDF_TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates" / "reports" / "pdf"
FONTS_DIR = Path(settings.BASE_DIR) / "static" / "fonts"

log = logging.getLogger(__name__)

# Statements and cluster reports are Polish documents: their data and templates are
# built with this language active (the tasks and pdf_render override it).
PDF_LANGUAGE = "pl"

# Pango/fontconfig objects behind the shared FontConfiguration are not
# thread-safe; the Celery worker may run a thread pool, so renders take turns.
_render_lock = threading.Lock()


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while one document renders.

    WeasyPrint allocates tens of thousands of short-lived objects a document;
    with the collector on, they trigger many young-generation passes and, now
    and then, a full pass over the whole worker heap (~8 % of a statement's CPU
    time, bench_statements). Reference counting still frees most of it; the
    cycles left over are collected in one pass once the collector resumes.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class RenderedPDF:
    name: str
    content: bytes
    sha256: str
    pages: int


@cache
def font_config():  # -> weasyprint.text.fonts.FontConfiguration
    from weasyprint.text.fonts import FontConfiguration

    config = FontConfiguration()
    # Let it go while the interpreter is intact (its __del__ fails at shutdown).
    atexit.register(font_config.cache_clear)
    return config


@cache
def url_fetcher():  # -> weasyprint.urls.URLFetcher
    """One fetcher per process (each new one builds an SSL context: ~20 ms a document).

    Only local files (the fonts) and data: URIs: a PDF template never reaches the network.
    """
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("file", "data"))


# A template with its own stylesheet; the others share pdf.css. The statement is
# rendered once per member, so it has a small flat stylesheet of its own.
TEMPLATE_STYLESHEETS = {"statement.html": "statement.css", "annual_statement.html": "statement.css"}


@cache
def stylesheet(name: str = "pdf.css"):  # -> weasyprint.CSS
    """Parsed once per process and reused by every document (with the shared FontConfiguration)."""
    from weasyprint import CSS

    css = (PDF_TEMPLATE_DIR / name).read_text(encoding="utf-8")
    # url(...) in the @font-face rules resolve against static/fonts/.
    return CSS(string=css, base_url=FONTS_DIR.as_uri() + "/", font_config=font_config(), url_fetcher=url_fetcher())


def stylesheet_for(template: str):  # -> weasyprint.CSS
    return stylesheet(TEMPLATE_STYLESHEETS.get(template, "pdf.css"))


@cache
def ua_stylesheet():  # -> weasyprint.CSS
    from weasyprint import CSS

    return CSS(string=(PDF_TEMPLATE_DIR / "ua.css").read_text(encoding="utf-8"))


@cache
def _pdf_html_class() -> type:
    """``PdfHTML``: weasyprint.HTML over an expat-parsed tree with ``ua.css`` (built on first use)."""
    import cssselect2
    from weasyprint import HTML

    class PdfHTML(HTML):
        def __init__(self, *, string: str, base_url: str, url_fetcher: Any) -> None:
            try:
                root = ET.fromstring(string)
            except ET.ParseError as exc:
                log.warning("PDF template is not well-formed XHTML (%s); parsed as HTML5 instead", exc)
                super().__init__(string=string, base_url=base_url, url_fetcher=url_fetcher)
                return
            # What HTML.__init__ sets after its own parse (weasyprint 70, pinned in requirements.txt).
            self.base_url = base_url
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [ua_stylesheet()]

    return PdfHTML


def pdf_html(html: str):  # -> PdfHTML (a weasyprint.HTML)
    return _pdf_html_class()(string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=url_fetcher())


def pdf_options() -> dict[str, Any]:
    """write_pdf options; settings.OKE_PDF_OPTIONS overrides (bench_statements measures them)."""
    options: dict[str, Any] = {"pdf_identifier": False, "uncompressed_pdf": False}
    options.update(getattr(settings, "OKE_PDF_OPTIONS", {}))
    return options


def pdf_render(
    *, template: str, context: dict[str, Any], name: str, created: dt.datetime, options: dict[str, Any] | None = None
) -> RenderedPDF:
    """Render ``templates/reports/pdf/<template>`` with ``context`` to PDF bytes.

    ``created`` becomes the document's creation and modification date. Documents
    are Polish whatever language the caller has active (``PDF_LANGUAGE``).
    """
    stamp = timezone.localtime(created).replace(microsecond=0).isoformat()
    with translation.override(PDF_LANGUAGE):
        html = render_to_string(f"reports/pdf/{template}", {**context, "pdf_created": stamp})
    with _render_lock, _no_cyclic_gc():
        document = pdf_html(html).render(font_config=font_config(), stylesheets=[stylesheet_for(template)])
        content = document.write_pdf(**(options if options is not None else pdf_options()))
    return RenderedPDF(name=name, content=content, sha256=hashlib.sha256(content).hexdigest(), pages=len(document.pages))


# --- server-side charts (inline SVG; WeasyPrint draws it, no JavaScript) -------

MONTHS_PL = ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"]


def _nice_step(top: float) -> float:
    """A round gridline step giving 4–6 lines up to ``top``."""
    raw = top / 5 if top > 0 else 1
    magnitude = 10 ** int(f"{raw:e}".split("e")[1])
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _axis_label(value: float, unit_divisor: int) -> str:
    number = value / unit_divisor
    text = f"{number:,.0f}" if number >= 10 or number == int(number) else f"{number:,.1f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def monthly_chart_html(
    *, months: list[dict[str, Any]], series: list[tuple[str, str, str]], width: int = 686, height: int = 150
) -> str:
    """Grouped bars per month as inline SVG, ``series`` = [(key, label, colour)], values in Wh.

    Only shapes are SVG; every label is an absolutely positioned HTML span over
    it: WeasyPrint lays out SVG text letter by letter, which made the labels
    cost more than the whole rest of the statement. Sizes are CSS px (1/96 in);
    686 px is the A4 text width of the PDF stylesheet, so nothing is scaled.
    Returns trusted markup built here from numbers and fixed labels only.
    """
    if not months:
        return ""
    peak = max((int(m.get(key) or 0) for m in months for key, _l, _c in series), default=0)
    unit, divisor = ("MWh", 1_000_000) if peak >= 10_000_000 else ("kWh", 1_000)
    step = _nice_step(peak / divisor) * divisor if peak else divisor
    top = step * max(1, -(-peak // step)) if peak else step * 5
    left, right, upper, lower = 40, 4, 14, 30
    plot_w, plot_h = width - left - right, height - upper - lower
    slot = plot_w / len(months)
    bar = min(16.0, slot * 0.8 / len(series))
    shapes: list[str] = []
    labels: list[str] = []
    # WeasyPrint's cost is per box: the y axis is one block, a line per gridline
    # (line-height = gridline spacing), and the legend swatches are SVG shapes.
    lines = int(round(top / step)) + 1
    spacing = plot_h * step / top
    axis: list[str] = []
    for i in range(lines):
        value = step * i
        y = upper + plot_h - plot_h * value / top
        shapes.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dee2e6" stroke-width="0.6"/>')
        axis.insert(0, _axis_label(value, divisor))
    labels.append(f'<span class="cl-y" style="left:0px;top:-2px">{unit}</span>')
    labels.append(
        f'<div class="cl-y" style="left:0px;top:{upper - spacing / 2:.1f}px;line-height:{spacing:.1f}px">{"<br/>".join(axis)}</div>'
    )
    for index, month in enumerate(months):
        x0 = left + slot * index + (slot - bar * len(series)) / 2
        for offset, (key, _label, colour) in enumerate(series):
            h = plot_h * int(month.get(key) or 0) / top
            shapes.append(
                f'<rect x="{x0 + offset * bar:.1f}" y="{upper + plot_h - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
        text = str(month.get("month", ""))
        try:
            year, mon = text.split("-")[:2]
            text = f"{MONTHS_PL[int(mon) - 1]} {year[2:]}"
        except (ValueError, IndexError):
            pass
        labels.append(
            f'<span class="cl-x" style="left:{left + slot * index:.1f}px;top:{upper + plot_h + 2}px;width:{slot:.1f}px">{text}</span>'
        )
    shapes.append(f'<line x1="{left}" y1="{upper + plot_h}" x2="{width - right}" y2="{upper + plot_h}" stroke="#495057" stroke-width="0.8"/>')
    x = float(left)
    for _key, text, colour in series:
        shapes.append(f'<rect x="{x:.1f}" y="{height - 11}" width="8" height="8" fill="{colour}"/>')
        labels.append(f'<span class="cl-l" style="left:{x + 12:.1f}px;top:{height - 13}px">{text}</span>')
        x += 12 + 4.3 * len(text) + 16  # ~4.3 px a character at 7 pt DejaVu Sans Condensed
    svg = (
        f'<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        + "".join(shapes) + "</svg>"
    )
    return f'<div class="chart-box" style="height:{height}px">{svg}{"".join(labels)}</div>'


# --- storing (every document: statements, the cluster report, annual statements) ----------

# The monthly chart's series on the member's documents.
CHART_SERIES = [("drawn_wh", "Energia pobrana", "#adb5bd"), ("shared_wh", "Energia współdzielona w klastrze", "#198754")]


def pdf_store(record: Statement | ClusterReport | AnnualStatement, pdf: RenderedPDF, storage_name: str) -> None:
    # Replace, never pile up: the same name each time, the old file removed first.
    # The path holds cluster, run and the unique number, so whatever sits there is ours.
    if record.file:
        record.file.delete(save=False)
    target = record.file.field.generate_filename(record, storage_name)
    if record.file.storage.exists(target):
        record.file.storage.delete(target)
    record.file.save(storage_name, ContentFile(pdf.content), save=False)
    record.sha256 = pdf.sha256
    record.status = Statement.Status.READY
    record.error = ""
    record.error_data = None
    record.rendered_at = timezone.now()
    # Conditional: a batch cancelled (or reaped) while this PDF rendered stays FAILED, and the file goes.
    stored = type(record).objects.filter(pk=record.pk).exclude(status=Statement.Status.FAILED).update(
        file=record.file.name, sha256=record.sha256, status=record.status, error="", error_data=None,
        rendered_at=record.rendered_at
    )
    if not stored:
        record.file.delete(save=False)
        record.refresh_from_db()
