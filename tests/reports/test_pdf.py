"""PDF statements: the text a member reads carries the right figures; output is deterministic."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from reports.models import Statement
from reports.statements.services import statement_pdf, statements_prepare
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory, snapshot_from_tariff_rows

MWH = 1_000_000


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    # pypdf renders the non-breaking spaces of the Polish number format as U+00A0.
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


@pytest.fixture
def statement(cluster, alice) -> Statement:
    run = SettlementRunFactory(cluster=cluster, period_kind="month", period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31))
    SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak — Zażółć Gęślą Jaźń")
    statements_prepare(run=run)
    return run.statements.get()


def test_it_renders_a_statement_with_polish_figures(statement) -> None:
    pdf = statement_pdf(statement=statement)
    assert pdf.content.startswith(b"%PDF-")
    open("/tmp/statement.pdf", "wb").write(pdf.content)
    text = pdf_text(pdf.content)
    assert "Alicja Nowak — Zażółć Gęślą Jaźń" in text
    assert statement.number in text
    assert "20 977,13 zł" in text
    assert "14 196,56 zł" in text


# --- the cluster report reproduces the seed's tables ------------------------------


@pytest.fixture
def seed_run(cluster, alice, bob):
    run = SettlementRunFactory(cluster=cluster, snapshot=snapshot_from_tariff_rows())
    SettlementLineFactory(run=run, member=alice.member)
    SettlementLineFactory(run=run, member=bob.member, member_name="Bob Kowalski sp. z o.o.")
    return run


def test_it_reproduces_the_seed_tables_in_the_cluster_report(seed_run) -> None:
    from reports.statements.cluster_report import cluster_report_pdf

    pdf = cluster_report_pdf(run=seed_run)
    open("/tmp/report.pdf", "wb").write(pdf.content)
    text = pdf_text(pdf.content)
    # Table 3 / Table 8, cluster: 70–100 % as printed in the seed ...
    for figure in [
        "35 491,40 zł", "16 951,41 zł", "52 442,81 zł", "37,46 zł",
        "60 842,40 zł", "19 373,04 zł", "80 215,44 zł", "50,13 zł",
        "91 263,60 zł", "21 794,67 zł", "113 058,27 zł", "62,81 zł",
        "126 755,00 zł", "24 216,30 zł", "150 971,30 zł", "75,49 zł",
    ]:
        assert figure in text, figure
    # ... and the 60 % row corrected (the seed counted the quality rate twice).
    for figure in ["15 210,60 zł", "14 529,78 zł", "29 740,38 zł", "24,78 zł"]:
        assert figure in text, figure
    assert "16 662,00" not in text and "31 191,78" not in text
    # Table 2, unit figures: 10 % → 2,42 + 22,93 = 25,35 zł/MWh; exemptions 12,11 zł/MWh.
    for figure in ["1,21 zł", "11,47 zł", "12,68 zł", "2,42 zł", "22,93 zł", "25,35 zł", "6,05 zł", "57,33 zł",
                   "63,38 zł", "2,35 zł", "1,50 zł", "2,08 zł", "6,18 zł", "12,11 zł"]:
        assert figure in text, figure
    # Tables 6 and 8, cooperative; the storage comparison.
    for figure in ["29 052,00 zł", "275 160,00 zł", "304 212,00 zł", "74 529,78 zł", "378 741,78 zł",
                   "60 000,00 zł", "152,11 zł", "37,26 zł", "189,37 zł", "217,46 zł/MWh", "180,00 zł/MWh"]:
        assert figure in text, figure
    # The annex lists the members and their PPEs.
    assert "Alicja Nowak" in text and "Bob Kowalski sp. z o.o." in text
    assert seed_run.lines.first().ppes[0]["code"] in text


# --- the statement stays one page, deterministic, with its fonts embedded ---------


def test_a_statement_is_one_deterministic_page_with_embedded_fonts(statement) -> None:
    first, second = statement_pdf(statement=statement), statement_pdf(statement=statement)
    assert first.content == second.content and first.sha256 == second.sha256
    reader = PdfReader(io.BytesIO(first.content))
    assert len(reader.pages) == first.pages == 1
    fonts = {
        font.get_object()["/BaseFont"]
        for font in reader.pages[0]["/Resources"]["/Font"].values()
    }
    # One family in two weights, subset and embedded (statement.css).
    assert len(fonts) == 2
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
    text = pdf_text(first.content)
    for label in ["Energia pobrana", "Energia współdzielona w klastrze", "Podstawa prawna", "Strona 1 z 1"]:
        assert label in text, label


def test_the_chart_puts_one_label_per_gridline() -> None:
    from reports.statements.pdf import monthly_chart_html

    html = monthly_chart_html(
        months=[{"month": "2026-01", "drawn_wh": 3_000_000, "shared_wh": 2_000_000}],
        series=[("drawn_wh", "Pobrana", "#adb5bd"), ("shared_wh", "Współdzielona", "#198754")],
    )
    assert html.count("<line") == 5  # 4 gridlines + the axis: 0, 1 000, 2 000, 3 000 kWh
    assert "3\u00a0000<br/>2\u00a0000<br/>1\u00a0000<br/>0" in html
    assert "sty 26" in html and "Pobrana" in html and "Współdzielona" in html
