"""Registry import: members, PPEs, generators and storage from CSV / ZIP / XLSX.

The whole set is validated first (identifiers, codes, references, dates,
duplicates, the one-cluster-per-PPE-code rule, and the area rule on the
resulting set of PPEs) and saved in one transaction, or not at all.
Re-importing the same files updates members by ``ref``, PPEs by ``code`` and
installations by (PPE, name); nothing that is missing from the files is
deleted. Formats and limits: docs/formats.md.

Two ways in, one core (``registry_import_run``):

- the upload page stores the file in a ``RegistryImport`` (``registry_import_create``)
  and a worker runs ``members.tasks.registry_import_task`` → ``registry_import_process``
  (the ``okeportal.jobs`` lifecycle: claim, checkpoints, cancel/retry, reaper);
- ``manage.py import_registry`` and tests call ``registry_import`` synchronously.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import Cluster, RegistryImport
from members.services.imports.checks import Checker, Plan
from members.services.imports.save import plan_save
from members.services.imports.sources import KNOWN_FILES, NamedFile, Problem, sources_read
from members.services.memberships import is_one_cluster_violation
from okeportal import jobs
from okeportal.jobs import JobStatus
from okeportal.messages import Msg, as_msg, msg, msg_polish, msg_str

KINDS = ("members", "metering_points", "memberships", "generators", "storage_units")


@dataclass(frozen=True)
class RegistryImportError:
    file: str
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(_("wiersz %(n)s") % {"n": self.row})
        if self.column:
            where.append(_("kolumna %(c)s") % {"c": self.column})
        return f"{', '.join(where)}: {self.message}"


# The name in docs/architecture.md; inside this package use RegistryImportError.
ImportError = RegistryImportError


@dataclass
class ImportReport:
    ok: bool
    errors: list[RegistryImportError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    registry_import_id: int | None = None

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def summary(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "ignored": self.ignored}


def _source_name(source: Path | str | NamedFile) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return Path(getattr(source, "name", "") or "upload").name


class _CancelledMeanwhileError(Exception):
    """Raised inside the save transaction to roll it back (the job was cancelled meanwhile)."""


def registry_import_run(
    *,
    cluster: Cluster,
    source: Path | str | NamedFile,
    name: str | None = None,
    progress: Callable[[int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    finish: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Read, validate, and save all-or-nothing. The caller records the outcome.

    ``progress(percent)`` is told how far it got; ``checkpoint()`` may raise to
    stop (cancel, time limit); ``finish(report)`` runs inside the save
    transaction after the rows are written, so what it records commits with
    them or not at all (it raises to roll everything back).
    """
    display = PurePosixPath(name).name if name else _source_name(source)
    step = progress or (lambda _percent: None)
    check = checkpoint or (lambda: None)
    read = sources_read(source, name=name)
    step(30)
    check()
    problems = list(read.problems)
    if not read.tables and not problems:
        problems.append(
            Problem(
                display,
                None,
                "",
                msg_str(gettext_noop("Nie znaleziono żadnego z plików: %(f)s."), f=", ".join(f"{k}.csv" for k in KNOWN_FILES)),
            )
        )
    plan = Plan()
    if read.tables:
        # Format and rule problems in one round: every file that could be read is
        # checked, the area rule included. When a file could not be read at all,
        # a reference into it is not reported as unknown (its content is not known).
        unreadable = () if read.complete else set(KNOWN_FILES) - set(read.tables)
        checker = Checker(cluster=cluster, tables=read.tables, unreadable=unreadable)
        plan = checker.run()
        problems.extend(checker.problems)
    step(60)
    check()

    report = ImportReport(ok=not problems, ignored=read.ignored)
    report.errors = [RegistryImportError(p.file, p.row, p.column, p.message) for p in _ordered(problems)]
    if report.ok:
        try:
            with transaction.atomic():
                counts = plan_save(cluster=cluster, plan=plan)
                report.created = {k: counts["created"][k] for k in KINDS}
                report.updated = {k: counts["updated"][k] for k in KINDS}
                report.unchanged = {k: counts["unchanged"][k] for k in KINDS}
                check()
                if finish is not None:
                    finish(report)
        except IntegrityError as exc:
            if not is_one_cluster_violation(exc):
                raise
            # Another cluster registered one of the codes between the check and the save.
            report = ImportReport(ok=False, ignored=read.ignored, errors=[
                RegistryImportError(display, None, "code", msg_str(gettext_noop(
                    "Jeden z PPE z pliku został w międzyczasie zarejestrowany w innym klastrze w tym samym okresie; "
                    "PPE może należeć tylko do jednego klastra naraz. Zaimportuj plik ponownie, aby zobaczyć który."
                )))
            ])
    if not report.ok and finish is not None:
        finish(report)
    step(100)
    return report


def _errors_stored(errors: Sequence[RegistryImportError]) -> list[dict[str, Any]]:
    """The first ``OKE_REGISTRY_MAX_ERRORS`` errors as stored on ``RegistryImport.errors``: file, row,
    column and the message as a code with parameters (shown in the reader's language)."""
    return [
        {"file": e.file, "row": e.row, "column": e.column, **as_msg(e.message).as_json()}
        for e in errors[: settings.OKE_REGISTRY_MAX_ERRORS]
    ]


def _outcome_fields(report: ImportReport) -> dict[str, Any]:
    outcome = registry_import_outcome_msg(ok=report.ok, error_count=report.error_count)
    return {
        "status": JobStatus.DONE if report.ok else JobStatus.FAILED,
        "errors": _errors_stored(report.errors),
        "error_count": report.error_count,
        "summary": report.summary(),
        "progress": 100,
        "finished_at": timezone.now(),
        "message": msg_polish(outcome)[:300],
        "message_data": outcome.as_json(),
    }


def registry_import_outcome_msg(*, ok: bool, error_count: int) -> Msg:
    if ok:
        return msg(gettext_noop("Zaimportowano rejestr."))
    # a Decimal: the count is shown with the reader's thousands separator
    return msg(gettext_noop("Odrzucono (błędy: %(n)s); niczego nie zapisano."), n=Decimal(error_count))


def registry_import(
    *, cluster: Cluster, source: Path | str | NamedFile, user: Any = None, record: bool = True
) -> ImportReport:
    """Synchronously: validate everything, save all-or-nothing, record a finished ``RegistryImport``."""
    report = registry_import_run(cluster=cluster, source=source)
    if record:
        entry = RegistryImport.objects.create(
            cluster=cluster,
            file_name=_source_name(source)[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
            started_at=timezone.now(),
            **_outcome_fields(report),
        )
        report.registry_import_id = entry.pk
    return report


# --- the background job ----------------------------------------------------------


def registry_import_create(*, cluster: Cluster, file: File | IO[bytes], name: str, user: Any = None) -> RegistryImport:
    """Store the uploaded file as a queued ``RegistryImport`` and send the task.

    The row is committed before the message is sent. If the broker refuses it
    the row is FAILED with ``okeportal.jobs.queue_unavailable_message()`` (check
    ``jobs.job_send_failed``) and can be retried; nothing is left ``queued``.
    """
    queued = msg(gettext_noop("W kolejce"))
    with transaction.atomic():
        entry = RegistryImport(
            cluster=cluster,
            file_name=PurePosixPath(name).name[:255],
            created_by=user if getattr(user, "is_authenticated", False) else None,
            message=msg_polish(queued),
            message_data=queued.as_json(),
        )
        entry.file.save(PurePosixPath(name).name, file if isinstance(file, File) else File(file), save=False)
        entry.save()
        jobs.job_enqueue(job=entry)
    return entry


def registry_import_claim(*, import_id: int) -> bool:
    """QUEUED → RUNNING for exactly one worker."""
    return jobs.job_claim(job_model=RegistryImport, pk=import_id, message=msg(gettext_noop("Sprawdzanie plików")))


def _set_progress(import_id: int, percent: int) -> None:
    RegistryImport.objects.filter(pk=import_id, status=JobStatus.RUNNING).update(progress=max(1, min(percent, 99)))


def registry_import_process(*, import_id: int) -> RegistryImport | None:
    """Run a claimed (RUNNING) import; records DONE or FAILED with the capped errors.

    A cancel noticed at a checkpoint (or when recording the outcome) rolls the
    save back and leaves the row CANCELLED; the soft time limit fails it with
    the reason.
    """
    entry = RegistryImport.objects.select_related("cluster__dso").filter(pk=import_id).first()
    if entry is None or entry.status != JobStatus.RUNNING:
        return entry
    stored_name = entry.file.name  # empty when no file is stored
    if not stored_name or not entry.file.storage.exists(stored_name):
        jobs.job_fail(
            job_model=RegistryImport, pk=import_id,
            reason=msg(gettext_noop("Plik %(name)s nie jest już przechowywany; prześlij go ponownie."), name=entry.file_name),
        )
        return _reload(import_id)

    def finish(report: ImportReport) -> None:
        # Conditional on RUNNING: a cancel that won the race rolls the save back.
        if RegistryImport.objects.filter(pk=import_id, status=JobStatus.RUNNING).update(**_outcome_fields(report)) != 1:
            raise _CancelledMeanwhileError

    try:
        source: Path | NamedFile
        try:
            source = Path(entry.file.path)
        except NotImplementedError:  # a storage without local paths: read the (size-limited) upload
            source = entry.file.open("rb")
        registry_import_run(
            cluster=entry.cluster,
            source=source,
            name=entry.file_name,
            progress=lambda percent: _set_progress(import_id, percent),
            checkpoint=lambda: jobs.job_checkpoint(job=entry),
            finish=finish,
        )
    except (jobs.JobCancelledError, _CancelledMeanwhileError):
        pass  # the row says CANCELLED; the transaction rolled back
    except jobs.JobTimeLimitError as exc:
        jobs.job_fail(job_model=RegistryImport, pk=import_id, reason=jobs.time_limit_message(exc.args[0]))
    return _reload(import_id)


def _reload(import_id: int) -> RegistryImport | None:
    return RegistryImport.objects.filter(pk=import_id).first()


def _ordered(problems: Sequence[Problem]) -> list[Problem]:
    order = {f: i for i, f in enumerate(KNOWN_FILES)}

    def key(p: Problem) -> tuple[int, str, int]:
        stem = Path(p.file.split("[")[-1].rstrip("]")).stem if "[" in p.file else Path(p.file).stem
        return (order.get(stem, -1), p.file, p.row or 0)

    return sorted(problems, key=key)
