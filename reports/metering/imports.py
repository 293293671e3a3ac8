"""Meter-data imports: upload → queued ``ReadingImport`` → task → parse, validate, save.

The file is read as a stream in chunks (``parse_stream``) inside one
transaction that holds the meter-store lock, so memory stays bounded and the
save is still all-or-nothing: any error in any chunk rolls back every chunk
already written. Problems are kept as ``{line, msg, params}`` in
``ReadingImport.errors`` (the first ``MAX_ERRORS``, with the total count): codes
with parameters (``okeportal.messages``), shown in the reader's language, like
the outcome in ``ReadingImport.message_data``.
PPE codes resolve within the import's cluster only; each PPE's period is
checked before anything is allocated for it. Re-importing intervals replaces
them, direction by direction (``meter_blocks_upsert``). Formats:
docs/formats-readings.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.translation import gettext_noop

from members.models import Cluster, MeteringPoint, PPEMembership
from members.services.datastamp import conditions_invalidate
from okeportal.jobs import JobCancelledError, job_checkpoint, job_claim, job_enqueue, job_fail, job_failure_reason
from okeportal.messages import msg, msg_join, msg_plural, msg_polish, noop
from reports.metering import parsers
from reports.metering.parsers import ParseResult, RowError, Series
from reports.metering.parsers.common import DATA_FIELD, FILE_FIELD, MAX_ERRORS, max_file_days
from reports.metering.production import production_import_run
from reports.metering.records import reading_import_finish
from reports.metering.selectors import membership_inside
from reports.metering.signals import meter_data_changed_send
from reports.metering.store import Block, MeterStoreError, local_dates, meter_blocks_upsert, meter_store_lock
from reports.models import JobStatus, Quality, ReadingImport

logger = logging.getLogger(__name__)
UTC = dt.UTC
# Readings may lie this many days outside the PPE's membership (a file exported for whole months
# around a joining date); anything farther is refused before any array is built for it.
MEMBERSHIP_MARGIN_DAYS = 31
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
        self.import_id, self.echo, self.last = import_id, echo, -1
        self.side: BaseDatabaseWrapper | None = None
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
    """Run a claimed import; any unexpected failure marks it FAILED with the reason (a cancelled one stays so)."""
    progress = _Progress(import_id, on_progress)
    try:
        return reading_import_run(reading_import=ReadingImport.objects.get(id=import_id), progress=progress)
    except Exception as exc:
        if not isinstance(exc, JobCancelledError):
            logger.exception("reading import %s failed", import_id)
        job_fail(job_model=ReadingImport, pk=import_id, reason=job_failure_reason(kind="reading_import", exc=exc))
        return ReadingImport.objects.get(id=import_id)
    finally:
        progress.close()




class _RollbackError(Exception):
    """Leaves the import transaction without saving anything (the errors are kept in ``_Run``)."""


@dataclass
class _Run:
    """What one import has seen so far, across the parser's chunks."""

    reading_import: ReadingImport
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0
    readings: int = 0
    balanced_readings: int = 0  # intervals with balanced values ("po zbilansowaniu")
    days_written: int = 0
    import_wh: int = 0
    export_wh: int = 0
    first: int | None = None
    last: int | None = None
    resolutions: set[int] = field(default_factory=set)
    ppes: dict[str, MeteringPoint] = field(default_factory=dict)  # codes resolved in the import's cluster
    unknown: set[str] = field(default_factory=set)
    memberships: dict[int, list[PPEMembership]] = field(default_factory=dict)
    spans: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # code → first, last local day, line
    outside: list[dict] = field(default_factory=list)
    outside_intervals: int = 0
    parse_seconds: float = 0.0  # time spent inside the parser (reading, parsing, its checks)

    def add(self, errors: list[RowError], count: int | None = None) -> None:
        self.error_count += len(errors) if count is None else max(count, len(errors))
        self.errors.extend(errors[: max(MAX_ERRORS - len(self.errors), 0)])

    @property
    def time_field(self) -> str:
        return "Data" if self.reading_import.format == ReadingImport.Format.TAURON else "start"


def _fail(reading_import: ReadingImport, run: _Run) -> ReadingImport:
    count = max(run.error_count, len(run.errors))
    message = msg_plural(noop.ngettext("Plik odrzucony: %(n)d błąd, nic nie zapisano.",
                                       "Plik odrzucony: %(n)d błędów, nic nie zapisano."), n=count)
    if count > MAX_ERRORS:
        message = msg_join(message, msg(gettext_noop("Pokazano pierwsze %(n)d."), n=MAX_ERRORS))
    return reading_import_finish(
        reading_import, status=JobStatus.FAILED, message=message, errors=[e.as_dict() for e in run.errors[:MAX_ERRORS]],
        summary={"rows": run.rows, "error_count": count},
    )


def _resolve_ppes(run: _Run, parsed: ParseResult) -> list[RowError]:
    """Attach each series to a PPE of the import's cluster; codes are never looked up in other clusters.

    An unknown code gets the same message whether or not another cluster has
    it, so an import never reveals another cluster's registry.
    """
    reading_import = run.reading_import
    cluster = reading_import.cluster
    errors: list[RowError] = []
    if reading_import.format == ReadingImport.Format.TAURON:
        ppe = reading_import.ppe
        if ppe is None:
            codes = _PPE_IN_NAME.findall(reading_import.original_name)
            ppe = MeteringPoint.objects.filter(cluster=cluster, code__in=codes).order_by("code").first() if codes else None
            if ppe is None:
                errors.append(RowError(None, "PPE", msg(gettext_noop(
                    "Plik eLicznik nie zawiera kodu PPE: wybierz PPE w formularzu (opcja --ppe) albo umieść kod PPE "
                    "w nazwie pliku."
                )) if not codes else msg(gettext_noop(
                    "PPE %(code)s z nazwy pliku nie jest zarejestrowany w klastrze %(cluster)s."
                ), code=codes[0], cluster=cluster.name)))
                return errors
        elif ppe.cluster_id != cluster.id:
            return [RowError(None, "PPE", msg(gettext_noop("PPE %(code)s nie jest zarejestrowany w klastrze %(cluster)s."),
                                             code=ppe.code, cluster=cluster.name))]
        for series in parsed.series:
            series.ppe_code = ppe.code
        run.ppes[ppe.code] = ppe
        return errors
    wanted = {s.ppe_code for s in parsed.series if s.ppe_code is not None} - run.ppes.keys() - run.unknown
    if wanted:
        run.ppes.update((p.code, p) for p in MeteringPoint.objects.filter(cluster=cluster, code__in=wanted))
        run.unknown |= wanted - run.ppes.keys()
    for series in parsed.series:
        if series.ppe_code not in run.ppes:
            errors.append(RowError(int(series.lines.min()), "ppe_code", msg(gettext_noop(
                "Nieznany PPE %(code)s — nie ma go w rejestrze klastra %(cluster)s."),
                code=series.ppe_code, cluster=cluster.name)))
    return errors


def _check_period(run: _Run, series: Series, ppe: MeteringPoint, local: np.ndarray) -> list[RowError]:
    """The series' period, before any array is padded for it: at most ``max_file_days`` local days
    for the PPE over the whole file, and inside its membership ± ``MEMBERSHIP_MARGIN_DAYS``."""
    code = ppe.code
    lo, hi = int(local[0].astype(np.int64)), int(local[-1].astype(np.int64))
    first_line = int(series.lines[0])
    if code in run.spans:
        seen_lo, seen_hi, seen_line = run.spans[code]
        lo, hi = min(lo, seen_lo), max(hi, seen_hi)
        first_line = min(first_line, seen_line)
    run.spans[code] = (lo, hi, first_line)
    limit = max_file_days()
    errors = []
    if hi - lo + 1 > limit:
        errors.append(RowError(first_line, run.time_field, msg(gettext_noop(
            "Dane PPE %(code)s obejmują %(n)d dni (%(first)s – %(last)s); jeden plik może obejmować najwyżej %(max)d "
            "dni dla jednego PPE — podziel plik."),
            code=code, n=hi - lo + 1, first=np.datetime64(lo, "D"), last=np.datetime64(hi, "D"), max=limit)))
        return errors
    memberships = run.memberships.get(ppe.id, [])
    margin = np.timedelta64(MEMBERSHIP_MARGIN_DAYS, "D")
    if not memberships:
        errors.append(RowError(first_line, "ppe_code" if run.time_field == "start" else "PPE", msg(gettext_noop(
            "PPE %(code)s nie ma okresu przynależności do członka klastra — dodaj ją w rejestrze przed importem "
            "danych."), code=code)))
        return errors
    allowed_lo = min(np.datetime64(m.valid_from) for m in memberships) - margin
    open_ended = any(m.valid_to is None for m in memberships)
    allowed_hi = None if open_ended else max(np.datetime64(m.valid_to) for m in memberships) + margin
    bad = local < allowed_lo if allowed_hi is None else (local < allowed_lo) | (local > allowed_hi)
    if bad.any():
        i = int(np.argmax(bad))
        errors.append(RowError(int(series.lines[i]), run.time_field, msg(gettext_noop(
            "Odczyt PPE %(code)s z dnia %(day)s jest poza okresem przynależności PPE do klastra (%(lo)s – %(hi)s, "
            "z marginesem %(margin)d dni)."),
            code=code, day=local[i], lo=allowed_lo, hi=allowed_hi if allowed_hi is not None else "…",
            margin=MEMBERSHIP_MARGIN_DAYS)))
    return errors


def _outside_membership(ppe: MeteringPoint, series: Series, memberships: list[PPEMembership],
                        local: np.ndarray) -> list[dict]:
    outside = np.flatnonzero(~membership_inside(memberships, local))
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
    balanced: dict[str, np.ndarray | None] = {}
    if series.has_balanced:
        assert series.balanced_quality is not None
        b_qual = np.zeros(n, dtype=np.uint8)
        b_qual[pos] = series.balanced_quality
        balanced["balanced_quality"] = b_qual
        for name in ("import_balanced_wh", "export_balanced_wh"):
            values = getattr(series, name)
            if values is not None:
                spread = np.zeros(n, dtype=np.int64)
                spread[pos] = values
                balanced[name] = spread
    return Block(ppe_id=ppe_id, start_utc=dt.datetime.fromtimestamp(t0, UTC), resolution_min=series.resolution_min,
                 import_wh=imp, export_wh=exp, quality=qual, has_import=series.has_import, has_export=series.has_export,
                 **balanced)


def _parse_chunks(reading_import: ReadingImport, handle: BinaryIO, on_progress: Callable[[float], None]) -> Iterator[ParseResult]:
    """The uploaded file as the parser's chunks, read from the open stream (never whole into memory)."""
    parse_stream = getattr(parsers, "parse_stream", None)
    if parse_stream is not None:
        yield from parse_stream(reading_import.format, handle, on_progress=on_progress)
    elif reading_import.format == ReadingImport.Format.TAURON:
        yield parsers.parse_tauron(handle.read(), on_progress=on_progress)
    else:
        yield parsers.parse_generic(handle, on_progress=on_progress)


def _store_chunk(run: _Run, parsed: ParseResult) -> None:
    """Check one chunk and, while the import has no errors, write it (inside the import's transaction)."""
    run.rows += parsed.rows
    if parsed.error_count:
        run.add(parsed.errors, parsed.error_count)
    if not parsed.series:
        return
    errors = _resolve_ppes(run, parsed)
    known = [(run.ppes[s.ppe_code], s) for s in parsed.series if s.ppe_code is not None and s.ppe_code in run.ppes]
    new_ids = {ppe.id for ppe, _series in known} - run.memberships.keys()
    if new_ids:
        for ppe_id in new_ids:
            run.memberships[ppe_id] = []
        for m in PPEMembership.objects.filter(ppe_id__in=new_ids).order_by("valid_from"):
            run.memberships[m.ppe_id].append(m)
    checked = []
    for ppe, series in known:
        local = local_dates(series.starts)
        period_errors = _check_period(run, series, ppe, local)
        errors += period_errors
        if not period_errors:
            checked.append((ppe, series, local))
    if errors:
        run.add(sorted(errors, key=lambda e: (e.line or 0)))
    if run.error_count:
        return  # nothing more is written; the rest of the file is still read to count its errors
    blocks = []
    for ppe, series, local in checked:
        found = _outside_membership(ppe, series, run.memberships[ppe.id], local)
        run.outside_intervals += sum(o["intervals"] for o in found)
        run.outside.extend(found[: max(MAX_ERRORS - len(run.outside), 0)])
        blocks.append(_block(ppe.id, series))
        run.readings += len(series.starts)
        if series.has_balanced:
            assert series.balanced_quality is not None
            run.balanced_readings += int((series.balanced_quality != Quality.MISSING).sum())
        run.import_wh += int(series.import_wh.sum())
        run.export_wh += int(series.export_wh.sum())
        run.resolutions.add(series.resolution_min)
        start, end = int(series.starts[0]), int(series.starts[-1]) + series.resolution_min * 60
        run.first = start if run.first is None else min(run.first, start)
        run.last = end if run.last is None else max(run.last, end)
    try:
        run.days_written += meter_blocks_upsert(blocks=blocks)
    except MeterStoreError as exc:
        run.add([RowError(None, DATA_FIELD, str(exc))])  # the store's own text (Polish)


def reading_import_run(*, reading_import: ReadingImport, progress: Callable[[float], None] | None = None) -> ReadingImport:
    """Parse, check and save one import, all or nothing (status must already be RUNNING).

    One transaction: the meter-store lock is taken first, then the file is
    read as a stream chunk by chunk; each chunk's PPE codes are resolved in
    the import's cluster, each series' period is checked (``_check_period``)
    before anything is allocated for it, and its blocks are written. Any
    error in any chunk rolls everything back; the first ``MAX_ERRORS``
    errors and their total count are kept. Between chunks the job is checked
    for cancellation and its time limit (``okeportal.jobs.job_checkpoint``).
    """
    if reading_import.format == ReadingImport.Format.PRODUCTION:
        return production_import_run(reading_import=reading_import, progress=progress)
    began = time.perf_counter()
    report = progress or (lambda percent: None)
    run = _Run(reading_import)
    report(2)
    on_parse = lambda share: report(2 + share * (99 - 2))  # noqa: E731
    if isinstance(progress, _Progress):
        progress.in_save = True  # the transaction is open from the first chunk on
    try:
        with transaction.atomic():
            meter_store_lock()
            with reading_import.file.open("rb") as handle:
                chunks = _parse_chunks(reading_import, handle, on_parse)  # type: ignore[arg-type]  # opened "rb": a binary stream; django-stubs types FieldFile IO[Any]
                while True:
                    t0 = time.perf_counter()
                    parsed = next(chunks, None)
                    run.parse_seconds += time.perf_counter() - t0
                    if parsed is None:
                        break
                    _store_chunk(run, parsed)
                    if not run.error_count:
                        job_checkpoint(job=reading_import)
            if run.error_count:
                raise _RollbackError
            if not run.readings:
                run.add([RowError(None, FILE_FIELD, msg(gettext_noop("Plik nie zawiera żadnych odczytów.")))])
                raise _RollbackError
            report(100)
            done = _done(reading_import, run, seconds=time.perf_counter() - began)
            conditions_invalidate(cluster_ids=[reading_import.cluster_id])
            _outdate_settlements(reading_import, run)
            return done
    except _RollbackError:
        return _fail(reading_import, run)
    finally:
        if isinstance(progress, _Progress):
            progress.in_save = False


def _outdate_settlements(reading_import: ReadingImport, run: _Run) -> None:
    """Finished settlements of the local days the file carried no longer match the stored meter data."""
    assert run.first is not None and run.last is not None  # readings were written, so their span is known
    warsaw = ZoneInfo(settings.TIME_ZONE)
    first = dt.datetime.fromtimestamp(run.first, UTC).astimezone(warsaw).date()
    last = dt.datetime.fromtimestamp(run.last - 1, UTC).astimezone(warsaw).date()
    detail = msg(gettext_noop("plik %(name)s: %(p)d PPE, %(first)s – %(last)s"),
                 name=reading_import.original_name, p=len(run.spans), first=first, last=last)
    meter_data_changed_send(cluster_id=reading_import.cluster_id, start=first, end=last, detail=detail)


def _done(reading_import: ReadingImport, run: _Run, *, seconds: float) -> ReadingImport:
    """Mark the import DONE inside its transaction; a job cancelled meanwhile rolls the data back."""
    assert run.first is not None and run.last is not None  # readings were written, so their span is known
    summary = {
        "rows": run.rows,
        "readings": run.readings,
        "balanced_readings": run.balanced_readings,
        "ppes": len(run.spans),
        "days_written": run.days_written,
        "resolution_min": sorted(run.resolutions),
        "from": dt.datetime.fromtimestamp(run.first, UTC).isoformat(),
        "to": dt.datetime.fromtimestamp(run.last, UTC).isoformat(),
        "import_kwh": round(run.import_wh / 1000, 3),
        "export_kwh": round(run.export_wh / 1000, 3),
        "outside_membership_intervals": run.outside_intervals,
        "parse_seconds": round(run.parse_seconds, 2),
        "seconds": round(seconds, 2),
        "readings_per_second": int(run.readings / seconds) if seconds else None,
    }
    message = msg_plural(noop.ngettext("Zapisano %(n)d odczyt z %(p)d PPE.", "Zapisano %(n)d odczytów z %(p)d PPE."),
                         n=run.readings, p=len(run.spans))
    if run.outside_intervals:
        message = msg_join(message, msg_plural(noop.ngettext(
            "%(n)d okres poza przynależnością PPE do klastra (nie liczy się w rozliczeniu).",
            "%(n)d okresów poza przynależnością PPE do klastra (nie liczą się w rozliczeniu)."),
            n=run.outside_intervals))
    finished = timezone.now()
    updated = ReadingImport.objects.filter(id=reading_import.id, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, message=msg_polish(message)[:300], message_data=message.as_json(), errors=[],
        outside_membership=run.outside, summary=summary,
        progress=100, finished_at=finished,
    )
    if updated != 1:
        raise JobCancelledError(reading_import.id)
    reading_import.refresh_from_db()
    return reading_import
