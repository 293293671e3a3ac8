"""Annual summary statements: each member's year, period by period, and the year's totals.

Whatever the evaluation period, a member gets one annual statement per calendar year:
the figures of every period statement published for that year (the latest published
version of each period: a correction replaces the statement it corrects), and their sum.

When the rule in force on the year's last day evaluates the autoconsumption level over the
year (``SettlementRule.evaluation_period == "year"``), the period runs were provisional: the
level and the tier are those of the whole-year settlement run, and the annual statement
issues the correction, per member and per component, to the grosz:

    correction = the year's amount (the whole-year run's line) − Σ amounts of the period statements

Both sides are amounts already rounded to the grosz, so the correction is exact and the
components (discount, each exempt fee) add up to the total correction. With ``month``
the annual statement only sums the period statements; nothing is corrected.

The figures are computed once, when the coordinator issues the statements, and frozen in
``AnnualStatement.data``: later settlement versions never change an issued statement. A
new issue of the year (after a correction of a month, say) is a new version with its own
numbers; published statements are never altered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Cluster, Member
from okeportal.jobs import queue_unavailable_msg, task_named, task_send
from okeportal.messages import msg_data, msg_polish
from reports.engine.money import ZERO
from reports.models import (
    FEE_ORDER,
    AnnualStatement,
    AnnualStatementDownload,
    JobStatus,
    LevelPeriod,
    SettlementLine,
    SettlementRule,
    SettlementRun,
    Statement,
)
from reports.settlement.outdated import settlement_outdated_reasons
from reports.settlement.periods import level_period_provisional
from reports.settlement.snapshot import RunSnapshot, decode, encode, line_exemptions, run_snapshot_read
from reports.statements.pdf import CHART_SERIES, RenderedPDF, monthly_chart_html, pdf_render, pdf_store
from reports.statements.services import FEE_LABELS, OVERRIDE_REASON_MIN  # as on a run's statements

ANNUAL_RENDER_TASK = "reports.annual_statements_render"


# --- the frozen figures ----------------------------------------------------------------


@dataclass(frozen=True)
class AnnualPeriod:
    """One published period statement of the member in the year (its latest published version)."""

    period_start: dt.date
    period_end: dt.date
    number: str  # the statement's number (a correction's own number when one was published)
    version: int  # the settlement version it came from
    drawn_wh: int
    shared_wh: int
    discount: Decimal
    exemptions: dict[str, Decimal]  # fee code → zł
    exemptions_total: Decimal
    total: Decimal
    autoconsumption_pct: Decimal  # the level of that run (the cluster's)
    tier_discount_pct: Decimal | None
    provisional: bool  # the run evaluated the level over its own period while the rule says "year"


@dataclass(frozen=True)
class AnnualAmounts:
    discount: Decimal
    exemptions: dict[str, Decimal]
    exemptions_total: Decimal
    total: Decimal


@dataclass(frozen=True)
class AnnualCorrection:
    """The whole-year run's amounts, what the period statements showed, and the difference."""

    run_id: int
    run_version: int
    autoconsumption_pct: Decimal  # the cluster's level over the year
    level_numerator: str
    tier_discount_pct: Decimal | None
    tier_threshold_pct: Decimal | None
    drawn_wh: int
    shared_wh: int
    year: AnnualAmounts
    shown: AnnualAmounts
    correction: AnnualAmounts  # year − shown


@dataclass(frozen=True)
class AnnualFigures:
    year: int
    evaluation_period: str  # LevelPeriod value of the rule in force on the year's last day
    rule_id: int
    member_ref: str
    member_name: str
    member_address: str
    identifiers: dict[str, str]
    periods: tuple[AnnualPeriod, ...]
    uncovered_months: tuple[str, ...]  # "YYYY-MM" of the member's year without a published statement
    shown: AnnualAmounts  # Σ of the period statements
    drawn_wh: int
    shared_wh: int
    correction: AnnualCorrection | None  # evaluation over the year only
    eligibility_override_reason: str  # the whole-year run's, when it was published on a written reason


# --- sources -----------------------------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def annual_rule(*, year: int) -> SettlementRule:
    """The settlement rule in force on the year's last day: its evaluation period decides the annual statement."""
    last = year_bounds(year)[1]
    rule = SettlementRule.objects.in_force(last).order_by("-valid_from", "-pk").first()
    if rule is None:
        raise ValidationError(
            _("Brak zasad rozliczenia obowiązujących %(day)s: dodaj je w stawkach i zasadach, aby wystawić "
              "zestawienia roczne za %(year)d.") % {"day": last.strftime("%d.%m.%Y"), "year": year},
            code="no-rule",
        )
    return rule


def annual_run(*, cluster: Cluster, year: int) -> SettlementRun | None:
    """The latest finished settlement of the whole calendar year (not archived)."""
    start, end = year_bounds(year)
    return (
        SettlementRun.objects.filter(
            cluster=cluster, period_start=start, period_end=end, status=JobStatus.DONE, archived_at__isnull=True
        )
        .order_by("-version")
        .first()
    )


def _period_label(start: dt.date, end: dt.date) -> str:
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def annual_period_statements(*, cluster: Cluster, year: int) -> dict[int, list[Statement]]:
    """Member id → its published period statements of the year, the latest published version of
    each period, by period start. Refuses a statement whose period crosses the year's boundary and
    two periods of one member that overlap (a month and a quarter): the year would count days twice."""
    start, end = year_bounds(year)
    rows = (
        Statement.objects.filter(
            run__cluster=cluster, status=Statement.Status.PUBLISHED,
            run__period_start__lte=end, run__period_end__gte=start,
        )
        .exclude(run__period_start=start, run__period_end=end)
        .select_related("run", "line")
        .order_by("member_id", "run__period_start", "run__period_end", "-run__version")
    )
    latest: dict[tuple[int, dt.date, dt.date], Statement] = {}
    errors: list[str] = []
    for statement in rows:
        run = statement.run
        if run.period_start < start or run.period_end > end:
            errors.append(
                _("Zestawienie %(number)s obejmuje okres %(period)s, który wykracza poza rok %(year)d: zestawienie "
                  "roczne liczy tylko okresy w całości w roku.")
                % {"number": statement.number, "period": _period_label(run.period_start, run.period_end), "year": year}
            )
            continue
        latest.setdefault((statement.member_id, run.period_start, run.period_end), statement)
    by_member: dict[int, list[Statement]] = {}
    for (member_id, _start, _end), statement in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        previous = by_member.setdefault(member_id, [])
        if previous and previous[-1].run.period_end >= statement.run.period_start:
            other = previous[-1]
            errors.append(
                _("Członek %(member)s ma opublikowane zestawienia za nakładające się okresy: %(a)s (%(na)s) i %(b)s "
                  "(%(nb)s). Zestawienie roczne policzyłoby te dni dwa razy.")
                % {"member": statement.line.member_name,
                   "a": _period_label(other.run.period_start, other.run.period_end), "na": other.number,
                   "b": _period_label(statement.run.period_start, statement.run.period_end), "nb": statement.number}
            )
            continue
        previous.append(statement)
    if errors:
        raise ValidationError(errors, code="periods")
    return by_member


def _amounts(discount: Decimal, exemptions: dict[str, Decimal]) -> AnnualAmounts:
    ordered: dict[str, Decimal] = {str(code): exemptions[code] for code in FEE_ORDER if code in exemptions}
    ordered |= {code: value for code, value in exemptions.items() if code not in ordered}
    total_fees = sum(ordered.values(), ZERO)
    return AnnualAmounts(discount=discount, exemptions=ordered, exemptions_total=total_fees, total=discount + total_fees)


def _sum_amounts(parts: list[AnnualAmounts]) -> AnnualAmounts:
    fees: dict[str, Decimal] = {}
    for part in parts:
        for code, value in part.exemptions.items():
            fees[code] = fees.get(code, ZERO) + value
    return _amounts(sum((p.discount for p in parts), ZERO), fees)


def _difference(year: AnnualAmounts, shown: AnnualAmounts) -> AnnualAmounts:
    codes = list(dict.fromkeys([*year.exemptions, *shown.exemptions]))
    return _amounts(
        year.discount - shown.discount,
        {code: year.exemptions.get(code, ZERO) - shown.exemptions.get(code, ZERO) for code in codes},
    )


def _period(statement: Statement, *, snapshot: RunSnapshot, evaluation_period: str) -> AnnualPeriod:
    line, run = statement.line, statement.run
    amounts = _amounts(line.discount, line_exemptions(line))
    tier = snapshot.totals.tier
    return AnnualPeriod(
        period_start=run.period_start, period_end=run.period_end, number=statement.number, version=run.version,
        drawn_wh=int(line.drawn_wh), shared_wh=int(line.shared_wh), discount=amounts.discount,
        exemptions=amounts.exemptions, exemptions_total=amounts.exemptions_total, total=amounts.total,
        autoconsumption_pct=snapshot.totals.autoconsumption_pct,
        tier_discount_pct=tier.discount_pct if tier else None,
        provisional=level_period_provisional(
            evaluation_period=evaluation_period, period_start=run.period_start, period_end=run.period_end),
    )


def _uncovered_months(*, member: Member, year: int, periods: list[AnnualPeriod]) -> tuple[str, ...]:
    start, end = year_bounds(year)
    first = max(start, member.joined_on)
    last = min(end, member.left_on) if member.left_on else end
    covered = set()
    for p in periods:
        day = p.period_start
        while day <= p.period_end:
            covered.add(f"{day:%Y-%m}")
            day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    months = []
    month = first.replace(day=1)
    while month <= last:
        if f"{month:%Y-%m}" not in covered:
            months.append(f"{month:%Y-%m}")
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


@dataclass(frozen=True)
class AnnualSources:
    """What a year's annual statements are built from, checked (``annual_sources``)."""

    rule: SettlementRule
    run: SettlementRun | None  # the whole-year run (evaluation over the year only)
    statements: dict[int, list[Statement]]  # member id → its period statements (``annual_period_statements``)
    year_lines: dict[int, SettlementLine]  # member id → its line of the whole-year run


def annual_sources(*, cluster: Cluster, year: int) -> AnnualSources:
    """The rule, the period statements and the whole-year run of the year, read without decoding a snapshot.

    Raises ``ValidationError`` naming what is missing: a year not ended yet, no rule, overlapping or year-crossing
    period statements, no whole-year run (or one that is outdated) when the level is evaluated
    over the year, nothing published for the year at all.
    """
    if year_bounds(year)[1] >= timezone.localdate():
        raise ValidationError(
            _("Rok %(year)d jeszcze się nie zakończył: zestawienia roczne można wystawić od 1 stycznia %(next)d.")
            % {"year": year, "next": year + 1},
            code="year-not-ended",
        )
    rule = annual_rule(year=year)
    statements = annual_period_statements(cluster=cluster, year=year)
    run = None
    year_lines: dict[int, SettlementLine] = {}
    if rule.evaluation_period == LevelPeriod.YEAR:
        run = annual_run(cluster=cluster, year=year)
        start, end = year_bounds(year)
        if run is None:
            raise ValidationError(
                _("Zasady rozliczenia oceniają poziom autokonsumpcji za rok: najpierw rozlicz cały rok %(year)d "
                  "(okres %(start)s–%(end)s); zestawienia roczne biorą z tego rozliczenia korzyść za rok i korekty.")
                % {"year": year, "start": start.strftime("%d.%m.%Y"), "end": end.strftime("%d.%m.%Y")},
                code="no-annual-run",
            )
        if settlement_outdated_reasons(run=run):
            raise ValidationError(
                _("Rozliczenie roczne %(year)d (wersja %(v)d) jest nieaktualne: dane lub stawki zmieniły się po jego "
                  "obliczeniu. Przelicz rok, a potem wystaw zestawienia roczne.") % {"year": year, "v": run.version},
                code="annual-run-outdated",
            )
        year_lines = {line.member_id: line for line in run.lines.all()}
    if not statements and not year_lines:
        raise ValidationError(
            _("Za rok %(year)d nie opublikowano żadnych zestawień okresowych: nie ma czego podsumować.") % {"year": year},
            code="nothing",
        )
    return AnnualSources(rule=rule, run=run, statements=statements, year_lines=year_lines)


def annual_figures(
    *, cluster: Cluster, year: int, sources: AnnualSources | None = None
) -> tuple[SettlementRule, SettlementRun | None, dict[int, AnnualFigures]]:
    """The rule, the whole-year run (evaluation over the year) and each member's figures for the year
    (``annual_sources`` checks the year first, unless the caller passes what it read). Each run's
    snapshot is decoded once, whatever its members."""
    sources = sources or annual_sources(cluster=cluster, year=year)
    rule, run, statements, year_lines = sources.rule, sources.run, sources.statements, sources.year_lines
    period = rule.evaluation_period
    snapshots: dict[int, RunSnapshot] = {}

    def snapshot_of(of: SettlementRun) -> RunSnapshot:
        if of.pk not in snapshots:
            snapshots[of.pk] = run_snapshot_read(of)
        return snapshots[of.pk]

    member_ids = sorted(set(statements) | set(year_lines))
    members = Member.objects.in_bulk(member_ids)
    snapshot = snapshot_of(run) if run is not None else None
    out: dict[int, AnnualFigures] = {}
    for member_id in member_ids:
        member = members[member_id]
        periods = [_period(s, snapshot=snapshot_of(s.run), evaluation_period=period) for s in statements.get(member_id, [])]
        shown = _sum_amounts([_amounts(p.discount, p.exemptions) for p in periods])
        correction = None
        drawn = sum(p.drawn_wh for p in periods)
        shared = sum(p.shared_wh for p in periods)
        if run is not None and snapshot is not None:
            line = year_lines.get(member_id)
            year_amounts = _amounts(line.discount, line_exemptions(line)) if line else _amounts(ZERO, {})
            tier = snapshot.totals.tier
            correction = AnnualCorrection(
                run_id=run.pk, run_version=run.version,
                autoconsumption_pct=snapshot.totals.autoconsumption_pct,
                level_numerator=snapshot.totals.level_numerator,
                tier_discount_pct=tier.discount_pct if tier else None,
                tier_threshold_pct=tier.threshold_pct if tier else None,
                drawn_wh=int(line.drawn_wh) if line else 0, shared_wh=int(line.shared_wh) if line else 0,
                year=year_amounts, shown=shown, correction=_difference(year_amounts, shown),
            )
        identifiers = {"nip": member.nip, "regon": member.regon, "krs": member.krs}
        out[member_id] = AnnualFigures(
            year=year, evaluation_period=period, rule_id=rule.pk, member_ref=member.ref, member_name=member.name,
            member_address=member.address, identifiers={k: v for k, v in identifiers.items() if v},
            periods=tuple(periods), uncovered_months=_uncovered_months(member=member, year=year, periods=periods),
            shown=shown, drawn_wh=drawn, shared_wh=shared, correction=correction,
            eligibility_override_reason=run.eligibility_override_reason if run is not None else "",
        )
    return rule, run, out


def annual_override_needed(*, run: SettlementRun) -> bool:
    """The whole-year run's cluster was not eligible and no coordinator has given a written reason yet."""
    return run.eligibility_override_at is None and not run_snapshot_read(run).status.eligibility.eligible


def annual_data(statement: AnnualStatement) -> AnnualFigures:
    return decode(AnnualFigures, statement.data, "data")


# --- issue, render, publish --------------------------------------------------------------


def annual_number(*, cluster: Cluster, member: Member, year: int, version: int) -> str:
    """``OKE/2026/ROK/0007-v1``: cluster, year, member id, issue of the year."""
    return f"{cluster.slug.upper()}/{year}/ROK/{member.pk:04d}-v{version}"


def annual_statements_for_year(*, cluster: Cluster, year: int):
    return (
        AnnualStatement.objects.filter(cluster=cluster, year=year)
        .select_related("member", "annual_run")
        .order_by("-version", "member__name")
    )


def annual_years(*, cluster: Cluster) -> list[int]:
    """Years with a finished settlement or issued annual statements, newest first."""
    years = {d.year for d in SettlementRun.objects.filter(cluster=cluster, status=JobStatus.DONE).dates("period_start", "year")}
    years |= set(AnnualStatement.objects.filter(cluster=cluster).values_list("year", flat=True).distinct())
    return sorted(years, reverse=True)


@transaction.atomic
def annual_statements_issue(*, cluster: Cluster, year: int, user: Any = None, override_reason: str = "") -> int:
    """Compute each member's year and queue its PDF: a new version of the year's statements, or, while the
    latest version is not published, that version again with the current figures. Returns the count.

    A whole-year run whose cluster was not eligible (its snapshot's verdict) needs the coordinator's
    written reason, recorded on that run as for its own statements.
    """
    Cluster.objects.select_for_update().filter(pk=cluster.pk).exists()
    sources = annual_sources(cluster=cluster, year=year)
    run = sources.run
    if run is not None and annual_override_needed(run=run):
        reason = " ".join((override_reason or "").split())
        if len(reason) < OVERRIDE_REASON_MIN:
            reasons = " ".join(str(r) for r in run_snapshot_read(run).status.eligibility.reasons)
            raise ValidationError(
                _("Klaster nie spełniał warunków wsparcia w roku %(year)d: %(reasons)s Zestawienia roczne można wystawić "
                  "tylko z pisemnym uzasadnieniem koordynatora (co najmniej %(min)d znaków).")
                % {"year": year, "reasons": reasons, "min": OVERRIDE_REASON_MIN},
                code="ineligible",
            )
        run.eligibility_override_reason = reason
        run.eligibility_override_by = user if getattr(user, "is_authenticated", False) else None
        run.eligibility_override_at = timezone.now()
        run.save(update_fields=["eligibility_override_reason", "eligibility_override_by", "eligibility_override_at"])
    rule, run, figures = annual_figures(cluster=cluster, year=year, sources=sources)
    existing = AnnualStatement.objects.filter(cluster=cluster, year=year)
    latest = existing.aggregate(v=Max("version"))["v"] or 0
    if latest and not existing.filter(version=latest, status=Statement.Status.PUBLISHED).exists():
        version = latest
        for old in existing.filter(version=latest):
            if old.file:
                old.file.delete(save=False)
        existing.filter(version=latest).delete()
    else:
        version = latest + 1
    members = Member.objects.in_bulk(list(figures))
    now = timezone.now()
    rows = []
    for member_id, data in figures.items():
        member = members[member_id]
        rows.append(AnnualStatement(
            cluster=cluster, member=member, year=year, version=version,
            number=annual_number(cluster=cluster, member=member, year=year, version=version),
            annual_run=run, evaluation_period=rule.evaluation_period, data=encode(data),
            total=data.correction.year.total if data.correction else data.shown.total,
            shown_total=data.shown.total,
            correction=data.correction.correction.total if data.correction else None,
            created_by=user if getattr(user, "is_authenticated", False) else None, queued_at=now,
        ))
    AnnualStatement.objects.bulk_create(rows)
    cluster_id = cluster.pk
    transaction.on_commit(lambda: task_send(
        task=task_named(ANNUAL_RENDER_TASK), args=[cluster_id, year, version],
        on_refused=lambda: annual_statements_fail_pending(
            cluster_id=cluster_id, year=year, version=version, reason=queue_unavailable_msg()),
    ))
    return len(rows)


def annual_statements_fail_pending(*, cluster_id: int, year: int, version: int, reason: Any) -> int:
    return AnnualStatement.objects.filter(
        cluster_id=cluster_id, year=year, version=version, status=Statement.Status.PENDING
    ).update(status=Statement.Status.FAILED, error=msg_polish(reason), error_data=msg_data(reason))


def annual_statement_filename(statement: AnnualStatement) -> str:
    from members.services.exports import name_slug

    member = name_slug(statement.member.name)
    return f"zestawienie-roczne-{statement.number.replace('/', '-')}" + (f"-{member}" if member else "") + ".pdf"


def annual_statement_context(statement: AnnualStatement) -> dict[str, Any]:
    data = annual_data(statement)
    fee_rows = []
    if data.correction is not None:
        c = data.correction
        fee_rows = [
            {"label": FEE_LABELS.get(code, code), "year": c.year.exemptions.get(code, ZERO),
             "shown": c.shown.exemptions.get(code, ZERO), "correction": amount}
            for code, amount in c.correction.exemptions.items()
        ]
    months = []
    for p in data.periods:
        months.append({"month": f"{p.period_start:%Y-%m}", "drawn_wh": p.drawn_wh, "shared_wh": p.shared_wh})
    return {
        "statement": statement,
        "data": data,
        "fee_rows": fee_rows,
        "year_mode": data.evaluation_period == LevelPeriod.YEAR,
        "cluster": statement.cluster,
        "issued_on": timezone.localdate(statement.created_at or timezone.now()),
        "chart": monthly_chart_html(
            months=months,
            series=CHART_SERIES,
            height=100,
        ) if months else "",
    }


def annual_statement_pdf(statement: AnnualStatement) -> RenderedPDF:
    return pdf_render(
        template="annual_statement.html", context=annual_statement_context(statement),
        name=annual_statement_filename(statement), created=statement.created_at or timezone.now(),
    )


def annual_statement_render(*, statement: AnnualStatement) -> AnnualStatement:
    pdf_store(statement, annual_statement_pdf(statement), annual_statement_filename(statement))
    return statement


@transaction.atomic
def annual_statements_publish(*, cluster: Cluster, year: int, user: Any = None) -> int:
    """Publish the latest version of the year's annual statements; all rendered, or nothing."""
    rows = list(AnnualStatement.objects.select_for_update().filter(cluster=cluster, year=year).order_by("-version"))
    if not rows:
        raise ValidationError(_("Brak zestawień rocznych za %(year)d: najpierw je wystaw.") % {"year": year})
    version = rows[0].version
    current = [r for r in rows if r.version == version]
    not_ready = [r for r in current if r.status not in (Statement.Status.READY, Statement.Status.PUBLISHED)]
    if not_ready:
        raise ValidationError(
            _("Nie wszystkie zestawienia roczne są gotowe (%(count)d w przygotowaniu lub z błędem): poczekaj albo "
              "wystaw je ponownie.") % {"count": len(not_ready)}
        )
    ids = [r.pk for r in current if r.status == Statement.Status.READY]
    if not ids:
        raise ValidationError(_("Zestawienia roczne %(year)d (wersja %(v)d) są już opublikowane.") % {"year": year, "v": version})
    AnnualStatement.objects.filter(pk__in=ids).update(status=Statement.Status.PUBLISHED, published_at=timezone.now())
    return len(ids)


def annual_statements_for_member(*, member: Member):
    """What a member may see: its own published annual statements, newest year and version first."""
    return AnnualStatement.objects.filter(
        member=member, status=Statement.Status.PUBLISHED, published_at__isnull=False
    ).order_by("-year", "-version")


def annual_download_record(*, statement: AnnualStatement, user: Any, ip: str | None, user_agent: str) -> None:
    AnnualStatementDownload.objects.create(statement=statement, user=user, ip=ip or None, user_agent=(user_agent or "")[:300])
