"""The PDF templates are parsed as XHTML against ua.css (reports.statements.pdf.PdfHTML): guard both."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from reports.statements import pdf

TEMPLATES = ["statement.html", "cluster_report.html", "_header.html"]


def _tags(source: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", source)}


# Inline elements (display: inline is the initial value) and SVG shapes, which the
# SVG renderer draws without the UA stylesheet, need no rule in ua.css.
NO_UA_RULE = {"span", "rect", "line"}


def test_every_element_of_the_pdf_templates_has_its_ua_rules():
    ua = re.sub(r"/\*.*?\*/", "", (pdf.PDF_TEMPLATE_DIR / "ua.css").read_text(encoding="utf-8"), flags=re.S)
    selectors = " ".join(re.findall(r"([^{};]+)\{", ua))
    ua_tags = set(re.findall(r"(?<![\w.#@:-])([a-z][a-z0-9]*)\b", selectors))
    used = {"div", "span", "br"}  # monthly_chart_html's labels
    for name in TEMPLATES:
        used |= _tags((pdf.PDF_TEMPLATE_DIR / name).read_text(encoding="utf-8"))
    missing = sorted(used - ua_tags - NO_UA_RULE)
    assert missing == [], f"add these elements' rules from weasyprint/css/html5_ua.css to ua.css: {missing}"


def test_pdf_html_parses_well_formed_markup_without_the_html5_fallback(caplog):
    html = '<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8"/></head><body><p>Zażółć<br/>gęślą</p></body></html>'
    with caplog.at_level("WARNING", logger="reports.statements.pdf"):
        document = pdf.pdf_html(html)
    assert document.etree_element.tag == "html"
    assert not caplog.records


def test_pdf_html_falls_back_to_html5_parsing_for_markup_that_is_not_xml(caplog):
    html = "<!doctype html><html><body><p>bez zamknięcia<br>&nbsp;</body></html>"
    with pytest.raises(ET.ParseError):
        ET.fromstring(html)
    with caplog.at_level("WARNING", logger="reports.statements.pdf"):
        document = pdf.pdf_html(html)
    assert "not well-formed" in caplog.text
    pages = document.render(font_config=pdf.font_config()).pages
    assert len(pages) == 1
