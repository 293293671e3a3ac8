"""Registry import: members, PPEs, generators and storage from CSV / ZIP / XLSX.

The whole set is validated first (identifiers, codes, references, dates,
duplicates, and the area rule on the resulting set of PPEs) and saved in one
transaction, or not at all. Re-importing the same files updates members by
``ref``, PPEs by ``code`` and installations by (PPE, name); nothing that is
missing from the files is deleted. Formats: docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from members.models import Cluster, RegistryImport
from members.services.area import PPECandidate, area_check
from members.services.imports.checks import Checker, Plan
from members.services.imports.save import plan_save
from members.services.imports.sources import KNOWN_FILES, NamedFile, Problem, sources_read

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


def _area_problems(*, cluster: Cluster, plan: Plan, file: str) -> list[Problem]:
    """The area rule on the set the import would leave (art. 38a Prawa energetycznego)."""
    from django.utils import timezone

    today = timezone.localdate()
    candidates: list[PPECandidate] = []
    leaving: list[int] = []
    lines: dict[str, int] = {}
    for row in plan.ppes:
        lines[row.key] = row.line
        if row.valid_to is not None and row.valid_to < today:
            if row.existing is not None:
                leaving.append(row.existing.pk)
            continue
        v = row.values
        candidates.append(
            PPECandidate(
                code=row.key,
                gmina=v["gmina"],
                dso=v["dso"],
                voltage_level=v["voltage_level"],
                ppe_id=row.existing.pk if row.existing is not None else None,
            )
        )
    result = area_check(cluster=cluster, candidates=candidates, exclude_ppe_ids=leaving, on=today)
    problems = []
    for message in result.errors:
        line = next((n for code, n in lines.items() if code in message), None)
        problems.append(Problem(file, line, "gmina_terc", message))
    return problems


def _source_name(source: Path | str | NamedFile) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return Path(getattr(source, "name", "") or "upload").name


def registry_import(
    *, cluster: Cluster, source: Path | str | NamedFile, user: Any = None, record: bool = True
) -> ImportReport:
    """Validate everything, then save all-or-nothing; records a ``RegistryImport`` row."""
    read = sources_read(source)
    problems = list(read.problems)
    if not read.tables and not problems:
        problems.append(
            Problem(
                _source_name(source),
                None,
                "",
                _("Nie znaleziono żadnego z plików: %(f)s.") % {"f": ", ".join(f"{k}.csv" for k in KNOWN_FILES)},
            )
        )
    checker = Checker(cluster=cluster, tables=read.tables)
    plan = checker.run()
    problems.extend(checker.problems)
    if plan.ppes:
        file = read.tables["metering_points"].file
        problems.extend(_area_problems(cluster=cluster, plan=plan, file=file))

    report = ImportReport(ok=not problems, ignored=read.ignored)
    report.errors = [RegistryImportError(p.file, p.row, p.column, p.message) for p in _ordered(problems)]
    if report.ok:
        with transaction.atomic():
            counts = plan_save(cluster=cluster, plan=plan)
        report.created = {k: counts["created"][k] for k in KINDS}
        report.updated = {k: counts["updated"][k] for k in KINDS}
        report.unchanged = {k: counts["unchanged"][k] for k in KINDS}
    if record:
        entry = RegistryImport.objects.create(
            cluster=cluster,
            file_name=_source_name(source)[:255],
            status=RegistryImport.Status.DONE if report.ok else RegistryImport.Status.FAILED,
            errors=[{**asdict(e), "text": str(e)} for e in report.errors],
            summary={"created": report.created, "updated": report.updated, "unchanged": report.unchanged, "ignored": report.ignored},
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        report.registry_import_id = entry.pk
    return report


def _ordered(problems: Sequence[Problem]) -> list[Problem]:
    order = {f: i for i, f in enumerate(KNOWN_FILES)}

    def key(p: Problem) -> tuple[int, str, int]:
        stem = Path(p.file.split("[")[-1].rstrip("]")).stem if "[" in p.file else Path(p.file).stem
        return (order.get(stem, -1), p.file, p.row or 0)

    return sorted(problems, key=key)
