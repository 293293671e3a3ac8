"""Meter-data imports: upload → queued ``ReadingImport`` → task → parse, validate, save.

A file is validated whole and saved all-or-nothing; every problem is kept as
``{line, field, message}`` in ``ReadingImport.errors``. Re-importing intervals
replaces them (``meter_blocks_upsert``). Formats: docs/formats-readings.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from pathlib import PurePath

import numpy as np
from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Cluster, MeteringPoint, PPEMembership
from okeportal.jobs import job_claim, job_enqueue
from reports.models import JobStatus, ReadingImport
from reports.services.meterstore import Block, MeterStoreError, meter_blocks_upsert, warsaw_offsets
from reports.services.parsers import ParseResult, RowError, Series, parse_generic, parse_tauron
from reports.services.parsers.common import MAX_ERRORS

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc
PARSE_SHARE = 60  # progress: parsing 0–60 %, saving 60–100 %
_PPE_IN_NAME = re.compile(r"590\d{15}")


def reading_import_create(
    *,
    cluster: Cluster,
    file: File,
    name: str,
    format: str,
    ppe: MeteringPoint | None = None,
    user=None,
    enqueue: bool = True,
) -> ReadingImport:
    """Store the uploaded file and queue the import task once the row is committed.

    When the broker refuses the task the import is FAILED with "Kolejka zadań
    jest niedostępna" (``okeportal.jobs.job_send_failed``); the file stays, so
    the staff can retry it.
    """
    if ppe is not None and ppe.cluster_id != cluster.id:
        raise ValueError("PPE of another cluster")
    with transaction.atomic():
        reading_import = ReadingImport(
            cluster=cluster, original_name=name[:255], format=format, ppe=ppe, created_by=user
        )
        reading_import.file.save(PurePath(name).name, file, save=False)
        reading_import.save()
        if enqueue:
            job_enqueue(job=reading_import)
    return reading_import


def reading_import_claim(*, import_id: int) -> bool:
    """Move a queued import to RUNNING (stamping ``started_at``); False if someone else already has it."""
    return job_claim(job_model=ReadingImport, pk=import_id)


class _Progress:
    """Writes ``ReadingImport.progress``; while the save transaction is open it uses a
    second connection on PostgreSQL so the page sees the bar move (SQLite has one
    writer, so there the bar jumps from 60 to 100 at commit)."""

    def __init__(self, import_id: int, echo: Callable[[int], None] | None) -> None:
        self.import_id, self.echo, self.last, self.side = import_id, echo, -1, None
        self.in_save = False

    def __call__(self, percent: float) -> None:
        value = max(0, min(100, int(percent)))
        if value == self.last:
            return
        self.last = value
        if self.echo is not None:
            self.echo(value)
        if not self.in_save:
            ReadingImport.objects.filter(id=self.import_id).update(progress=value)
        elif connection.vendor == "postgresql":
            if self.side is None:
                self.side = connections.create_connection(DEFAULT_DB_ALIAS)
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ReadingImport._meta.db_table} SET progress = %s WHERE id = %s", [value, self.import_id]
                )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def reading_import_process(*, import_id: int, on_progress: Callable[[int], None] | None = None) -> ReadingImport:
    """Run a claimed import; any unexpected failure marks it FAILED with the reason."""
    progress = _Progress(import_id, on_progress)
    try:
        return reading_import_run(reading_import=ReadingImport.objects.get(id=import_id), progress=progress)
    except Exception as exc:
        logger.exception("reading import %s failed", import_id)
        ReadingImport.objects.filter(id=import_id).update(
            status=JobStatus.FAILED, message=(_("Błąd wewnętrzny: %(err)s") % {"err": exc})[:300],
            finished_at=timezone.now(),
        )
        return ReadingImport.objects.get(id=import_id)
    finally:
        progress.close()


def _finish(reading_import: ReadingImport, *, status: str, message: str, **fields) -> ReadingImport:
    for name, value in fields.items():
        setattr(reading_import, name, value)
    reading_import.status = status
    reading_import.message = message[:300]
    reading_import.finished_at = timezone.now()
    if status == JobStatus.DONE:
        reading_import.progress = 100
    reading_import.save()
    return reading_import


def _fail(reading_import: ReadingImport, parsed: ParseResult, errors: list[RowError]) -> ReadingImport:
    count = max(parsed.error_count, len(errors))
    message = _("Plik odrzucony: %(n)d błędów, nic nie zapisano.") % {"n": count}
    if count > MAX_ERRORS:
        message += " " + _("Pokazano pierwsze %(n)d.") % {"n": MAX_ERRORS}
    return _finish(
        reading_import, status=JobStatus.FAILED, message=message, errors=[e.as_dict() for e in errors[:MAX_ERRORS]],
        summary={"rows": parsed.rows, "error_count": count},
    )


def _resolve_ppes(reading_import: ReadingImport, parsed: ParseResult) -> tuple[dict[str, MeteringPoint], list[RowError]]:
    cluster = reading_import.cluster
    errors: list[RowError] = []
    if reading_import.format == ReadingImport.Format.TAURON:
        ppe = reading_import.ppe
        if ppe is None:
            codes = _PPE_IN_NAME.findall(reading_import.original_name)
            ppe = MeteringPoint.objects.filter(cluster=cluster, code__in=codes).first() if codes else None
            if ppe is None:
                known = MeteringPoint.objects.filter(code__in=codes).exists() if codes else False
                errors.append(RowError(None, "PPE", _(
                    "Plik eLicznik nie zawiera kodu PPE: wybierz PPE w formularzu (opcja --ppe) albo umieść kod PPE "
                    "w nazwie pliku."
                ) if not known else _("PPE %(code)s z nazwy pliku należy do innego klastra.") % {"code": codes[0]}))
                return {}, errors
        for series in parsed.series:
            series.ppe_code = ppe.code
        return {ppe.code: ppe}, errors
    codes = [s.ppe_code for s in parsed.series]
    found = {p.code: p for p in MeteringPoint.objects.filter(code__in=codes).select_related("cluster")}
    result = {}
    for series in parsed.series:
        ppe = found.get(series.ppe_code)
        line = int(series.lines.min())
        if ppe is None:
            errors.append(RowError(line, "ppe_code", _("Nieznany PPE %(code)s — nie ma go w rejestrze.") % {
                "code": series.ppe_code}))
        elif ppe.cluster_id != cluster.id:
            errors.append(RowError(line, "ppe_code", _(
                "PPE %(code)s należy do innego klastra niż %(cluster)s.") % {"code": ppe.code, "cluster": cluster.name}))
        else:
            result[ppe.code] = ppe
    return result, errors


def _local_dates(starts: np.ndarray) -> np.ndarray:
    """Local (Europe/Warsaw) calendar date of each UTC start, as datetime64[D]."""
    return ((starts + warsaw_offsets(starts)) // 86400).astype("datetime64[D]")


def _outside_membership(ppe: MeteringPoint, series: Series, memberships: list[PPEMembership]) -> list[dict]:
    local = _local_dates(series.starts)
    inside = np.zeros(len(local), dtype=bool)
    for m in memberships:
        hi = np.datetime64(m.valid_to) if m.valid_to else np.datetime64("9999-12-31")
        inside |= (local >= np.datetime64(m.valid_from)) & (local <= hi)
    outside = np.flatnonzero(~inside)
    if not len(outside):
        return []
    runs = np.split(outside, np.flatnonzero(np.diff(outside) != 1) + 1)
    step = series.resolution_min * 60
    return [
        {
            "ppe": ppe.code,
            "from": dt.datetime.fromtimestamp(int(series.starts[r[0]]), UTC).isoformat(),
            "to": dt.datetime.fromtimestamp(int(series.starts[r[-1]]) + step, UTC).isoformat(),
            "intervals": len(r),
            "line": int(series.lines[r[0]]),
        }
        for r in runs
    ]


def _block(ppe_id: int, series: Series) -> Block:
    step = series.resolution_min * 60
    t0 = int(series.starts[0])
    pos = (series.starts - t0) // step
    n = int(pos[-1]) + 1
    imp, exp = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    qual = np.zeros(n, dtype=np.uint8)  # Quality.MISSING: gaps never overwrite stored data
    imp[pos], exp[pos], qual[pos] = series.import_wh, series.export_wh, series.quality
    return Block(ppe_id=ppe_id, start_utc=dt.datetime.fromtimestamp(t0, UTC), resolution_min=series.resolution_min,
                 import_wh=imp, export_wh=exp, quality=qual)


def reading_import_run(*, reading_import: ReadingImport, progress: Callable[[float], None] | None = None) -> ReadingImport:
    """Parse, validate and save one import (status must already be RUNNING)."""
    began = time.perf_counter()
    report = progress or (lambda percent: None)
    with reading_import.file.open("rb") as handle:
        data = handle.read()
    report(2)
    on_parse = lambda share: report(2 + share * (PARSE_SHARE - 2))  # noqa: E731
    if reading_import.format == ReadingImport.Format.TAURON:
        parsed = parse_tauron(data, on_progress=on_parse)
    else:
        import io

        parsed = parse_generic(io.BytesIO(data), on_progress=on_parse)
    del data
    if parsed.error_count:
        return _fail(reading_import, parsed, parsed.errors)
    ppes, errors = _resolve_ppes(reading_import, parsed)
    if errors:
        return _fail(reading_import, parsed, errors)

    memberships: dict[int, list[PPEMembership]] = {}
    for m in PPEMembership.objects.filter(ppe__in=list(ppes.values())):
        memberships.setdefault(m.ppe_id, []).append(m)
    outside: list[dict] = []
    blocks = []
    for series in parsed.series:
        ppe = ppes[series.ppe_code]
        outside += _outside_membership(ppe, series, memberships.get(ppe.id, []))
        blocks.append(_block(ppe.id, series))
    report(PARSE_SHARE)
    parse_seconds = time.perf_counter() - began

    if isinstance(progress, _Progress):
        progress.in_save = True
    try:
        with transaction.atomic():
            days = meter_blocks_upsert(
                blocks=blocks, on_progress=lambda share: report(PARSE_SHARE + share * (99 - PARSE_SHARE))
            )
    except MeterStoreError as exc:
        return _fail(reading_import, parsed, [RowError(None, _("dane"), str(exc))])
    finally:
        if isinstance(progress, _Progress):
            progress.in_save = False
    seconds = time.perf_counter() - began
    report(100)
    readings = sum(len(s.starts) for s in parsed.series)
    first = min(int(s.starts[0]) for s in parsed.series)
    last = max(int(s.starts[-1]) + s.resolution_min * 60 for s in parsed.series)
    summary = {
        "rows": parsed.rows,
        "readings": readings,
        "ppes": len(parsed.series),
        "days_written": days,
        "resolution_min": sorted({s.resolution_min for s in parsed.series}),
        "from": dt.datetime.fromtimestamp(first, UTC).isoformat(),
        "to": dt.datetime.fromtimestamp(last, UTC).isoformat(),
        "import_kwh": round(sum(int(s.import_wh.sum()) for s in parsed.series) / 1000, 3),
        "export_kwh": round(sum(int(s.export_wh.sum()) for s in parsed.series) / 1000, 3),
        "outside_membership_intervals": sum(o["intervals"] for o in outside),
        "parse_seconds": round(parse_seconds, 2),
        "seconds": round(seconds, 2),
        "readings_per_second": int(readings / seconds) if seconds else None,
    }
    message = _("Zapisano %(n)d odczytów z %(p)d PPE.") % {"n": readings, "p": len(parsed.series)}
    if outside:
        message += " " + _("%(n)d okresów poza przynależnością PPE do klastra (nie liczą się w rozliczeniu).") % {
            "n": summary["outside_membership_intervals"]}
    return _finish(reading_import, status=JobStatus.DONE, message=message, errors=[], outside_membership=outside[:MAX_ERRORS],
                   summary=summary)
