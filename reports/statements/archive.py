"""A settlement's statements as one ZIP, built in a temporary file (never in memory).

Each member's PDF is copied from the configured storage in blocks; the entry is
named ``<number with / replaced by ->_<member name slug>.pdf``, e.g.
``OKE-2026-03-0007-v1_piekarnia-orzeska.pdf``. PDFs are already compressed,
so entries are stored, not deflated.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from members.services.exports import name_slug
from reports.models import SettlementRun, Statement, StatementDownload
from reports.statements.services import statement_filename

COPY_BLOCK = 1024 * 1024
MISSING_LIST_NAME = "BRAKUJACE.txt"
RENDERED = (Statement.Status.READY, Statement.Status.PUBLISHED)


@dataclass
class StatementArchive:
    file: IO[bytes]  # positioned at its start; removed when closed
    filename: str
    count: int
    missing: list[str]  # numbers of statements whose file was not found in storage
    statement_ids: list[int]  # the statements in the archive


def statement_archive_entry(*, statement: Statement) -> str:
    """``OKE-2026-03-0007-v1_piekarnia-orzeska.pdf`` (the member's name as the statement has it)."""
    member = name_slug(statement.line.member_name)
    return statement.number.replace("/", "-") + (f"_{member}" if member else "") + ".pdf"


def statements_rendered(*, run: SettlementRun) -> QuerySet[Statement]:
    """The run's statements that have a PDF (ready for review or published), by number."""
    return (
        run.statements.filter(status__in=RENDERED)
        .exclude(file="")
        .select_related("line")
        .only("id", "number", "file", "status", "line__member_name")
        .order_by("number")
    )


def statements_archive_build(*, run: SettlementRun) -> StatementArchive:
    """Every rendered statement of ``run`` in one ZIP (a temporary file the caller closes)."""
    handle = tempfile.TemporaryFile()  # returned to the caller, who closes it
    included: list[int] = []
    missing: list[str] = []
    try:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for statement in statements_rendered(run=run).iterator(chunk_size=500):
                try:
                    source = statement.file.open("rb")
                except FileNotFoundError:
                    missing.append(statement.number)
                    continue
                with source, archive.open(statement_archive_entry(statement=statement), "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, COPY_BLOCK)
                included.append(statement.pk)
            if missing:
                # Said inside the archive too, so a file passed on does not look complete.
                note = _("Nie znaleziono plików PDF tych zestawień (wygeneruj je ponownie):") + "\n" + "\n".join(missing) + "\n"
                archive.writestr(MISSING_LIST_NAME, note.encode("utf-8"))
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    name = statement_filename(run=run).removesuffix(".pdf").replace("zestawienie-", "zestawienia-", 1) + ".zip"
    return StatementArchive(file=handle, filename=name, count=len(included), missing=missing, statement_ids=included)


def statements_archive_record(*, archive: StatementArchive, user: Any, ip: str | None, user_agent: str) -> None:
    """Log the archive's download once per statement in it, as a single download is logged."""
    StatementDownload.objects.bulk_create(
        [StatementDownload(statement_id=pk, user=user, ip=ip or None, user_agent=(user_agent or "")[:300])
         for pk in archive.statement_ids],
        batch_size=500,
    )
