"""Member benefit statements: numbering, data, rendering, publishing, reads.

A statement is built only from its SettlementLine and the run's snapshot
(pretix's build_invoice): editing a member, a PPE or a tariff afterwards never
changes an issued PDF. A new settlement version gets its own statements, whose
numbers carry the version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import Member
from okeportal.formatting import plnum
from okeportal.jobs import job_limits, queue_unavailable_msg, task_named, task_send
from okeportal.messages import Msg, msg, msg_data, msg_polish
from reports.engine import Tier, per_mwh
from reports.engine.money import pct_of
from reports.models import (
    FEE_ORDER,
    AnnualStatement,
    ClusterReport,
    FeeCode,
    JobStatus,
    SettlementLine,
    SettlementRun,
    Statement,
)
from reports.settlement.periods import level_period_provisional
from reports.settlement.snapshot import RunSnapshot, SnapshotCluster, line_exemptions, run_snapshot_read
from reports.statements.corrections import correction_data, correction_number, statement_predecessor
from reports.statements.member_terms import member_rate_notes, member_rate_rows, member_vat
from reports.statements.pdf import CHART_SERIES, RenderedPDF, monthly_chart_html, pdf_render, pdf_store

FEE_LABELS = dict(FeeCode.choices)
FEE_POSITION = {str(code): i for i, code in enumerate(FEE_ORDER)}
IDENTIFIER_LABELS = {"nip": "NIP", "regon": "REGON", "krs": "KRS", "pesel": "PESEL"}


# --- numbers and names ---------------------------------------------------------


def run_period_label(*, run: SettlementRun) -> str:
    """``2026/03`` (month), ``2026/Q1``, ``2026/R`` (year) or ``20260301-20260315``."""
    start, end = run.period_start, run.period_end
    if run.period_kind == SettlementRun.PeriodKind.MONTH:
        return f"{start:%Y/%m}"
    if run.period_kind == SettlementRun.PeriodKind.QUARTER:
        return f"{start:%Y}/Q{(start.month - 1) // 3 + 1}"
    if run.period_kind == SettlementRun.PeriodKind.YEAR:
        return f"{start:%Y}/R"
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def statement_number(*, run: SettlementRun, member: Member) -> str:
    """``OKE/2026/03/0007-v2``: cluster, period, member id, settlement version."""
    return f"{run.cluster.slug.upper()}/{run_period_label(run=run)}/{member.pk:04d}-v{run.version}"


def statement_filename(*, run: SettlementRun, statement: Statement | None = None) -> str:
    """The name a browser saves.

    A member's statement carries its number and the member (as the statement
    names it): ``zestawienie-OKE-2026-03-0007-v1-piekarnia-orzeska.pdf``, so a
    month's files never share a name. Without ``statement``, the run's own
    name: ``zestawienie-OKE-2026-03-v1.pdf``.
    """
    if statement is not None:
        from members.services.exports import name_slug

        member = name_slug(statement.line.member_name)
        return f"zestawienie-{statement.number.replace('/', '-')}" + (f"-{member}" if member else "") + ".pdf"
    period = run_period_label(run=run).replace("/", "-")
    return f"zestawienie-{run.cluster.slug.upper()}-{period}-v{run.version}.pdf"


def _storage_name(number: str) -> str:
    return number.replace("/", "-") + ".pdf"


# --- reads ---------------------------------------------------------------------


def statements_for_member(*, member: Member) -> QuerySet[Statement]:
    """What a member may see: its own published statements, newest period first."""
    return (
        Statement.objects.filter(member=member, status=Statement.Status.PUBLISHED, published_at__isnull=False)
        .select_related("run", "line", "corrects__line")
        .order_by("-run__period_start", "-run__version")
    )


def settlements_for_member(*, member: Member) -> list[dict[str, Any]]:
    """The member's published settlements, newest period first: its own line and
    statement each, an older version of a period marked ``superseded``."""
    statements = list(statements_for_member(member=member))
    newest: dict[tuple[dt.date, dt.date], int] = {}
    for statement in statements:
        key = (statement.run.period_start, statement.run.period_end)
        newest[key] = max(newest.get(key, 0), statement.run.version)
    return [
        {"line": s.line, "run": s.run, "statement": s,
         "superseded": s.run.version < newest[(s.run.period_start, s.run.period_end)],
         "corrects": s.corrects, "difference": (s.line.total - s.corrects.line.total) if s.corrects is not None else None}
        for s in statements
    ]


def statements_for_run(*, run: SettlementRun) -> QuerySet[Statement]:
    return run.statements.select_related("member", "member__user", "line").order_by("line__member_name")


# --- generation ----------------------------------------------------------------

# The batch task (reports.statements.tasks), queued by name: this module never imports its tasks.
STATEMENTS_RENDER_TASK = "reports.statements_render"


@transaction.atomic
def statements_prepare(*, run: SettlementRun) -> int:
    """Create the missing statement rows (PENDING) and the cluster report row; safe to repeat."""
    if run.status != JobStatus.DONE:
        raise ValidationError(_("Zestawienia można przygotować tylko dla zakończonego rozliczenia."))
    have = set(run.statements.values_list("line_id", flat=True))
    lines = run.lines.select_related("member").exclude(pk__in=have)
    rows = []
    for line in lines:
        # A member whose statement of an earlier version was published gets a correction of it.
        previous = statement_predecessor(run=run, member=line.member) if run.version > 1 else None
        number = correction_number(predecessor=previous) if previous else statement_number(run=run, member=line.member)
        rows.append(Statement(run=run, line=line, member=line.member, number=number, corrects=previous))
    created = Statement.objects.bulk_create(rows)
    ClusterReport.objects.get_or_create(run=run)
    return len(created)


@transaction.atomic
def statements_generate(*, run: SettlementRun, user: Any = None) -> int:
    """The coordinator's "Generuj": (re)render every unpublished statement and the report.

    Published statements are final; a correction is a new settlement version.
    Returns how many statements will be rendered.
    """
    run = SettlementRun.objects.select_for_update().get(pk=run.pk)
    if run.statements_published_at is not None:
        raise ValidationError(_("Zestawienia tej wersji rozliczenia są już opublikowane; popraw je nową wersją rozliczenia."))
    statements_prepare(run=run)
    now = timezone.now()
    pending = run.statements.exclude(status=Statement.Status.PUBLISHED)
    count = pending.update(status=Statement.Status.PENDING, rendered_at=None, error="", error_data=None, queued_at=now)
    ClusterReport.objects.filter(run=run).update(
        status=Statement.Status.PENDING, rendered_at=None, error="", error_data=None, queued_at=now)
    run_id = run.pk
    transaction.on_commit(
        lambda: task_send(task=task_named(STATEMENTS_RENDER_TASK), args=[run_id],
                          on_refused=lambda: statements_fail_pending(run_id=run_id, reason=queue_unavailable_msg()))
    )
    return count


# --- state: the batch as a job (cancel, the reaper, a refused send) ----------------


def statements_fail_pending(*, run_id: int, reason: Msg | str, rendering: bool | None = None) -> int:
    """Mark the run's PENDING statements and report FAILED with the reason (a later "Generuj" renders them again).

    ``rendering`` limits it to rows being rendered (True) or still waiting (False).
    """
    rows = 0
    for model in (Statement, ClusterReport):
        qs = model.objects.filter(run_id=run_id, status=Statement.Status.PENDING)
        if rendering is not None:
            qs = qs.filter(rendered_at__isnull=not rendering)
        rows += qs.update(status=Statement.Status.FAILED, error=msg_polish(reason), error_data=msg_data(reason))
    return rows


def statements_send_failed(*, run: SettlementRun) -> bool:
    """True when the last "Generuj" of the run never reached the broker."""
    refused = msg_polish(queue_unavailable_msg())  # the text column keeps the Polish copy
    return run.statements.filter(status=Statement.Status.FAILED, error=refused).exists() or (
        ClusterReport.objects.filter(run=run, status=Statement.Status.FAILED, error=refused).exists()
    )


def statements_cancel(*, run: SettlementRun, user: Any = None) -> int:
    """Stop the run's statement rendering: every PENDING statement and the report become FAILED ("anulowano").

    A worker rendering one of them finds it no longer PENDING and discards its PDF
    (``pdf_store`` is conditional). Raises ``ValidationError`` when nothing is pending.
    """
    who = getattr(user, "get_username", lambda: "")()
    reason = msg(gettext_noop("Anulowano przez %(user)s."), user=who) if who else msg(gettext_noop("Anulowano."))
    count = statements_fail_pending(run_id=run.pk, reason=reason)
    if not count:
        raise ValidationError(_("Nic do anulowania: żadne zestawienie tego rozliczenia nie jest w przygotowaniu."))
    return count


def statements_reap(*, now: dt.datetime) -> int:
    """Reaper step: fail statements stuck in rendering past the hard limit, or never picked up.

    A PENDING row with ``rendered_at`` set was claimed by a worker; if it is still
    PENDING after the hard limit + margin that worker is gone. One with
    ``rendered_at`` empty and ``queued_at`` older than ``OKE_JOB_QUEUED_TIMEOUT``
    lost its message. Both become FAILED with the reason, so "Generuj" renders
    them again and publishing is no longer refused forever.
    """
    hard = job_limits(kind="statements")[1]
    margin = int(getattr(settings, "OKE_JOB_REAPER_MARGIN", 60))
    queued_timeout = int(getattr(settings, "OKE_JOB_QUEUED_TIMEOUT", 600))
    stuck = msg(gettext_noop("Przerwano renderowanie: brak wyniku w limicie czasu (%(seconds)d s); proces roboczy "
                             "został prawdopodobnie zatrzymany. Wygeneruj zestawienia ponownie."), seconds=hard)
    lost = msg(gettext_noop("Zestawienie nie zostało podjęte przez proces roboczy w ciągu %(seconds)d s; "
                            "wygeneruj zestawienia ponownie."), seconds=queued_timeout)
    rows = 0
    for model in (Statement, ClusterReport, AnnualStatement):  # the annual statements render the same way
        pending = model.objects.filter(status=Statement.Status.PENDING)
        rows += pending.filter(rendered_at__lt=now - dt.timedelta(seconds=hard + margin)).update(
            status=Statement.Status.FAILED, error=msg_polish(stuck), error_data=stuck.as_json()
        )
        rows += pending.filter(rendered_at__isnull=True, queued_at__lt=now - dt.timedelta(seconds=queued_timeout)).update(
            status=Statement.Status.FAILED, error=msg_polish(lost), error_data=lost.as_json()
        )
    return rows


def statement_render(*, statement: Statement) -> Statement:
    """Steps 1–3: gather the data, render the PDF, store it in ``statement.file``."""
    pdf = statement_pdf(statement=statement)
    pdf_store(statement, pdf, _storage_name(statement.number))
    return statement


def statement_pdf(*, statement: Statement) -> RenderedPDF:
    data = statement_data(statement=statement)
    return pdf_render(template="statement.html", context=data, name=data["filename"], created=data["created"])


# --- data (step 1): only the line and the run's snapshot ----------------------------


def run_created(*, run: SettlementRun) -> dt.datetime:
    """The document date: when the settlement finished (fixed, so re-renders match)."""
    return run.finished_at or run.created_at


def snapshot_cluster(*, run: SettlementRun) -> SnapshotCluster:
    """Cluster and coordinator as the run recorded them."""
    return run_snapshot_read(run).cluster


def snapshot_fee_rates(snapshot: RunSnapshot) -> dict[str, Decimal]:
    """Fee code → the rate (zł/MWh) in force at the period's end (a fee that changed inside it has several rows)."""
    return {fee.code: fee.effective_rate for fee in snapshot.rules.fees_in_force()}


def tariff_notes(snapshot: RunSnapshot, *, zone_hours: bool = True) -> list[str]:
    """Human-readable rates and rules the run used, for the footnote (a member's statement leaves out
    the zone hours, which the coordinator's report lists: the statement stays one page)."""
    notes = []
    for rate in snapshot.rules.rates:
        scope = " / ".join(x for x in [rate.dso or "", rate.tariff_group or ""] if x) or _("wszystkie PPE")
        if rate.zone:
            scope = _("%(scope)s, strefa %(zone)s") % {"scope": scope, "zone": rate.zone}
        notes.append(
            _("stawka zmienna sieciowa %(var)s zł/MWh i jakościowa %(qual)s zł/MWh (%(scope)s, od %(since)s)")
            % {"var": plnum(rate.variable_rate), "qual": plnum(rate.quality_rate), "scope": scope,
               "since": _date_pl(rate.valid_from)}
        )
    if zone_hours:
        notes.extend(zone_hours_notes(snapshot))
    if snapshot.rules.tiers:
        notes.append(
            _("progi upustu: %(tiers)s")
            % {"tiers": ", ".join(f"≥ {plnum(t.threshold_pct, 0)} % → {plnum(t.discount_pct, 0)} %" for t in snapshot.rules.tiers)}
        )
    return notes


def zone_hours_notes(snapshot: RunSnapshot) -> list[str]:
    """The zone hours the run used, one note per group and zone: its hours on each kind of day
    (kinds with the same hours named together; all four alike: "każdy dzień")."""
    from reports.models import DayKind

    by_zone: dict[tuple[str, str, str], dict[tuple[str, int, int], list[str]]] = {}
    for z in sorted(snapshot.rules.zone_hours, key=lambda z: (z.tariff_group, z.zone, z.hour_from)):
        days = by_zone.setdefault((z.dso or "", z.tariff_group, z.zone), {})
        days.setdefault((z.day_kind, z.month_from, z.month_to), []).append(f"{z.hour_from}–{z.hour_to}")
    order = list(DayKind.values)
    every = {DayKind.WORKDAY, DayKind.SATURDAY, DayKind.SUNDAY, DayKind.HOLIDAY}
    notes = []
    for (dso, group, zone), days in by_zone.items():
        same: dict[tuple[str, int, int], list[str]] = {}  # (hours, months) → kinds
        for (kind, m1, m2), hours in days.items():
            same.setdefault((", ".join(hours), m1, m2), []).append(kind)
        parts = []
        for (hour_ranges, m1, m2), kinds in same.items():
            if set(kinds) >= every or DayKind.ALL in kinds:
                label = str(DayKind.ALL.label)
            else:
                label = ", ".join(str(DayKind(k).label) for k in sorted(kinds, key=order.index))
            months = "" if (m1, m2) == (1, 12) else f" ({m1}–{m2})"
            parts.append(f"{label}{months} {hour_ranges}")
        notes.append(_("strefa %(zone)s %(scope)s: %(hours)s (czas lokalny)") % {
            "zone": zone, "scope": " / ".join(x for x in (dso, group) if x), "hours": "; ".join(parts)})
    return notes


def statement_tariff_notes(snapshot: RunSnapshot, *, line: SettlementLine, period_start: dt.date,
                           period_end: dt.date) -> list[str]:
    """The member's own rates (``member_rate_rows``: its PPEs' distribution rates only), then the fees
    exempted (the same for every PPE) and the tiers, for the statement's footnote."""
    rows = member_rate_rows(
        snapshot=snapshot, member_ref=line.member_ref, period_start=period_start, period_end=period_end,
        ppe_codes=[p.get("code") for p in line.ppes or [] if p.get("code")],
    )
    notes = member_rate_notes(rows)
    # The fees are the same for every PPE and their rates stand in the benefits table (at the period's
    # end); a fee whose rate changed inside the period is listed here with each rate it had.
    changed = [f for f in snapshot.rules.fees if sum(g.code == f.code for g in snapshot.rules.fees) > 1]
    if changed:
        notes.append(
            _("opłaty zwolnione (wszystkie PPE): %(fees)s zł/MWh")
            % {"fees": ", ".join(
                f"{FEE_LABELS.get(f.code, f.code)} {plnum(f.effective_rate, _rate_decimals(f.effective_rate))}"
                f" ({_date_pl(f.used_from)}–{_date_pl(f.used_to)})"
                for f in sorted(changed, key=lambda f: (FEE_POSITION.get(f.code, len(FEE_POSITION)), f.valid_from))
            )}
        )
    if snapshot.rules.tiers:
        notes.append(
            _("progi upustu: %(tiers)s")
            % {"tiers": ", ".join(f"≥ {plnum(t.threshold_pct, 0)} % → {plnum(t.discount_pct, 0)} %" for t in snapshot.rules.tiers)}
        )
    return notes


def tier_context(tier: Tier | None) -> dict[str, Decimal] | None:
    """A tier as the templates' ``tier_label`` filter takes it."""
    return asdict(tier) if tier is not None else None


def _date_pl(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _rate_decimals(rate: Decimal | None) -> int:
    """2 decimals unless the rate needs more (5 % × 47.03 = 2.3515 zł/MWh)."""
    if rate is None:
        return 2
    exponent = rate.normalize().as_tuple().exponent
    return min(5, max(2, -exponent if isinstance(exponent, int) else 2))


def _share_pct(part: Any, whole: Any) -> Decimal | None:
    return pct_of(part=int(part or 0), whole=int(whole)) if whole else None


_SERIES_PL = {"balanced": "dane po zbilansowaniu", "mixed": "częściowo dane po zbilansowaniu"}
_REGIME_PL = {"net_metering": "net-metering", "net_billing": "net-billing", "ordinary": "zwykły"}


def _balanced_own(snapshot: Any, line: SettlementLine) -> list[dict[str, str]]:
    own = {p.get("code") for p in line.ppes or []}
    return [{"code": p.code, "regime": _REGIME_PL.get(p.billing_regime, p.billing_regime), "series": _SERIES_PL[p.series]}
            for p in snapshot.ppes if p.code in own and p.series in _SERIES_PL]


def statement_data(*, statement: Statement) -> dict[str, Any]:
    line: SettlementLine = statement.line
    run: SettlementRun = statement.run
    snapshot = run_snapshot_read(run)
    fee_rates = snapshot_fee_rates(snapshot)
    shared_wh = int(line.shared_wh)
    exemptions = [
        {"code": code, "label": FEE_LABELS.get(code, code), "amount": amount,
         "rate": fee_rates.get(code), "rate_decimals": _rate_decimals(fee_rates.get(code)),
         "per_mwh": per_mwh(amount=amount, wh=shared_wh)}
        for code, amount in line_exemptions(line).items()
    ]
    saving_pct = (
        (line.total * 100 / line.cost_without_cluster).quantize(Decimal("0.1")) if line.cost_without_cluster else None
    )
    estimated = {p.code: p.hours for p in snapshot.totals.estimated.ppes} if snapshot.totals.estimated else {}
    identifiers = [
        (IDENTIFIER_LABELS.get(k, k.upper()), v) for k, v in (line.member_identifiers or {}).items() if v and k != "pesel"
    ]
    return {
        "statement": statement,
        "number": statement.number,
        "version": run.version,
        "filename": statement_filename(run=run),
        "created": run_created(run=run),
        "issued_on": timezone.localdate(run_created(run=run)),
        "cluster": snapshot.cluster,
        "run": run,
        "period_start": run.period_start,
        "period_end": run.period_end,
        "period_kind": run.get_period_kind_display(),
        "member": {"name": line.member_name, "ref": line.member_ref, "address": line.member_address, "identifiers": identifiers},
        "ppes": [{**p, "shared_pct": _share_pct(p.get("shared_wh"), p.get("drawn_wh"))} for p in line.ppes or []],
        # PPE-hours whose renewable share was estimated from installed capacity (None: not recorded)
        "estimated": snapshot.totals.estimated,
        "estimated_own": [{"code": p.get("code"), "hours": estimated[p.get("code")]}
                          for p in line.ppes or [] if estimated.get(p.get("code"))],
        # the member's prosumer PPEs, settled on the DSO's balanced values (runs before schema 6: none)
        "balanced_own": _balanced_own(snapshot, line),
        "line": line,
        "shared_pct": _share_pct(shared_wh, line.drawn_wh),
        "discount_per_mwh": per_mwh(amount=line.discount, wh=shared_wh),
        "exemptions": exemptions,
        "exemptions_per_mwh": per_mwh(amount=line.exemptions_total, wh=shared_wh),
        "total_per_mwh": per_mwh(amount=line.total, wh=shared_wh),
        "saving_pct": saving_pct,
        "autoconsumption_pct": snapshot.totals.autoconsumption_pct,
        # which level set the tier: "all_sources" (all member sources) or "renewable" (renewable only)
        "level_numerator": snapshot.totals.level_numerator,
        # over which period the level set the tier; "year": this run's figures are provisional (annual correction)
        "evaluation_period": snapshot.rules.rule.evaluation_period,
        "level_provisional": level_period_provisional(
            evaluation_period=snapshot.rules.rule.evaluation_period, period_start=run.period_start,
            period_end=run.period_end),
        "tier": tier_context(snapshot.totals.tier),
        "chart": monthly_chart_html(months=line.monthly or [], series=CHART_SERIES, height=130),
        # only the rates of the member's own PPEs (the cluster report lists every rate of the run)
        "tariff_notes": statement_tariff_notes(snapshot, line=line, period_start=run.period_start, period_end=run.period_end),
        # net amounts; the gross total for a member that does not deduct VAT (money.py, point 7)
        "vat": member_vat(snapshot=snapshot, member_ref=line.member_ref, net=line.total),
        "exemption_end": _date_pl(snapshot.rules.rule.exemption_end_date),
        "allocation": run.get_allocation_display(),
        "correction": correction_data(statement=statement),
        # the verdict recorded by the run; an ineligible run's statements print the coordinator's override
        "eligibility": snapshot.status.eligibility,
    }


# --- publishing ----------------------------------------------------------------


OVERRIDE_REASON_MIN = 10


@transaction.atomic
def statements_publish(*, run: SettlementRun, user: Any, override_reason: str = "") -> int:
    """Publish every statement of a run and e-mail members a link to the portal.

    All or nothing: a run whose statements are not all rendered is refused. A run whose
    cluster was not eligible for support (the verdict in its snapshot) is refused unless
    ``override_reason`` gives the coordinator's written reason (at least
    ``OVERRIDE_REASON_MIN`` characters): the reason, the user and the time are recorded
    on the run and the statements and the cluster report are rendered again to print it.
    """
    run = SettlementRun.objects.select_for_update().get(pk=run.pk)
    statements = list(statements_for_run(run=run))
    if not statements:
        raise ValidationError(_("Brak zestawień do opublikowania: najpierw je wygeneruj."))
    not_ready = [s for s in statements if s.status not in (Statement.Status.READY, Statement.Status.PUBLISHED)]
    if not_ready:
        raise ValidationError(
            _("Nie wszystkie zestawienia są gotowe (%(count)d w przygotowaniu lub z błędem): poczekaj na koniec "
              "generowania albo anuluj je i wygeneruj ponownie.") % {"count": len(not_ready)}
        )
    stale = [
        s for s in statements
        if s.status == Statement.Status.READY and run.version > 1
        and (getattr(statement_predecessor(run=run, member=s.member), "pk", None) != s.corrects_id)
    ]
    if stale:
        raise ValidationError(
            _("Od przygotowania zestawień opublikowano inną wersję tego okresu (liczba członków: %(n)d): anuluj zestawienia "
              "i wygeneruj je ponownie, aby korekty odnosiły się do ostatnio opublikowanych.") % {"n": len(stale)}
        )
    now = timezone.now()
    if statements_override_needed(run=run):
        _eligibility_override(run=run, user=user, reason=override_reason, now=now,
                              statements=[s for s in statements if s.status == Statement.Status.READY])
    ids = [s.pk for s in statements if s.status == Statement.Status.READY]
    Statement.objects.filter(pk__in=ids).update(status=Statement.Status.PUBLISHED, published_at=now)
    run.statements_published_at = run.statements_published_at or now
    run.save(update_fields=["statements_published_at"])
    recipients = [(s.member, s.number) for s in statements if s.pk in ids]
    transaction.on_commit(lambda: statements_published_notify(run=run, recipients=recipients))
    return len(ids)


def statements_override_needed(*, run: SettlementRun) -> bool:
    """The run's cluster was not eligible for support and no coordinator has overridden it yet."""
    return not run_snapshot_read(run).status.eligibility.eligible and run.eligibility_override_at is None


def _eligibility_override(*, run: SettlementRun, user: Any, reason: str, now: dt.datetime,
                          statements: list[Statement]) -> None:
    reason = " ".join((reason or "").split())
    if len(reason) < OVERRIDE_REASON_MIN:
        reasons = " ".join(str(r) for r in run_snapshot_read(run).status.eligibility.reasons)
        raise ValidationError(
            _("Klaster nie spełnia warunków wsparcia w tym okresie: %(reasons)s Zestawienia można opublikować tylko "
              "z pisemnym uzasadnieniem koordynatora (pole „Powód publikacji”, co najmniej %(min)d znaków).")
            % {"reasons": reasons, "min": OVERRIDE_REASON_MIN}
        )
    run.eligibility_override_reason = reason
    run.eligibility_override_by = user if getattr(user, "is_authenticated", False) else None
    run.eligibility_override_at = now
    run.save(update_fields=["eligibility_override_reason", "eligibility_override_by", "eligibility_override_at"])
    # The statements already rendered did not carry the override: render them again with it before they
    # are published; the cluster report is rendered again by the statements' task.
    with translation.override("pl"):
        for statement in statements:
            statement.run = run
            statement_render(statement=statement)
    if ClusterReport.objects.filter(run=run).update(
            status=Statement.Status.PENDING, rendered_at=None, error="", error_data=None, queued_at=now):
        run_id = run.pk
        transaction.on_commit(
            lambda: task_send(task=task_named(STATEMENTS_RENDER_TASK), args=[run_id],
                              on_refused=lambda: statements_fail_pending(run_id=run_id, reason=queue_unavailable_msg()))
        )


def statements_published_notify(*, run: SettlementRun, recipients: list[tuple[Member, str]]) -> int:
    """One e-mail per member with an address: a link to the portal, never the PDF itself."""
    portal_url = settings.SITE_URL.rstrip("/") + reverse("portal:home")
    cluster = snapshot_cluster(run=run)
    messages = []
    for member, number in recipients:
        address = member.email or (member.user.email if member.user is not None else "")
        if not address:
            continue
        context = {"member": member, "number": number, "run": run, "cluster": cluster, "portal_url": portal_url}
        subject = render_to_string("emails/statement_published_subject.txt", context).strip()
        body = render_to_string("emails/statement_published.txt", context)
        messages.append(EmailMultiAlternatives(subject=subject, body=body, to=[address]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


def statement_download_record(*, statement: Statement, user: Any, ip: str | None, user_agent: str) -> None:
    """Every download is logged: who, from where, with what."""
    from reports.models import StatementDownload

    StatementDownload.objects.create(statement=statement, user=user, ip=ip or None, user_agent=(user_agent or "")[:300])
