"""Settlement runs: request (a new version, queued) and compute (one transaction)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import Cluster
from okeportal.jobs import (
    JobCancelledError,
    JobTimeLimitError,
    job_checkpoint,
    job_enqueue,
    job_failure_reason,
    time_limit_message,
)
from okeportal.messages import Msg, msg, msg_data, msg_polish, msgs_from_error
from reports.engine import STATIC, settle
from reports.engine.results import RateSegment
from reports.models import AllocationMethod, JobStatus, SettlementLine, SettlementRun
from reports.settlement.tariffs import rate_uses_record

from .completeness import CompletenessCounter
from .gather import allocation_keys, engine_input, engine_segments, engine_tiers, settlement_gather
from .keys import allocation_keys_period_check
from .results import (
    benefit_start,
    cooperative_carried_in,
    run_cluster_status,
    run_cooperative_netting,
    run_diff,
    run_estimated,
    run_snapshot,
    run_storage,
    run_totals,
)
from .snapshot import encode, snapshot_to_json

logger = logging.getLogger(__name__)
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def settlement_request(
    *,
    cluster: Cluster,
    period_start: dt.date,
    period_end: dt.date,
    period_kind: str = SettlementRun.PeriodKind.MONTH,
    allocation: str = AllocationMethod.PRO_RATA,
    override_completeness: bool = False,
    user=None,
    dispatch: bool = True,
) -> SettlementRun:
    """Create the next version of the cluster's settlement for the period (QUEUED).

    The task is sent after commit (``okeportal.jobs.job_enqueue``): when the
    broker refuses it the run is FAILED with "Kolejka zadań jest niedostępna"
    (check ``job_send_failed``) and can be retried. ``dispatch=False`` lets a
    caller (the ``settle`` command) run it in-process instead.
    """
    if period_end < period_start:
        raise ValidationError(_("Koniec okresu jest wcześniejszy niż jego początek."))
    if allocation not in AllocationMethod.values:
        raise ValidationError(_("Nieznana metoda podziału: %(allocation)s.") % {"allocation": allocation})
    if allocation == AllocationMethod.STATIC:  # the set in force at the period's start, unchanged throughout
        allocation_keys_period_check(cluster=cluster, period_start=period_start, period_end=period_end)
    busy = ValidationError(_("Rozliczenie tego klastra za ten okres jest już w kolejce lub w toku."))
    try:
        with transaction.atomic():
            # Serialises version numbering per cluster (PostgreSQL row lock; SQLite locks the file).
            Cluster.objects.select_for_update().filter(pk=cluster.pk).exists()
            runs = SettlementRun.objects.filter(cluster=cluster, period_start=period_start, period_end=period_end)
            if runs.filter(status__in=ACTIVE).exists():
                raise busy
            version = (runs.aggregate(v=Max("version"))["v"] or 0) + 1
            run = SettlementRun.objects.create(
                cluster=cluster,
                period_kind=period_kind,
                period_start=period_start,
                period_end=period_end,
                version=version,
                allocation=allocation,
                override_completeness=override_completeness,
                # A period that has not ended yet is settled provisionally (the request form asks to confirm).
                provisional=period_end >= timezone.localdate(),
                created_by=user if getattr(user, "is_authenticated", False) else None,
                message="W kolejce",
                message_data=msg(gettext_noop("W kolejce")).as_json(),
            )
    except IntegrityError as exc:
        # The partial unique constraint (one active run per period) caught a concurrent request.
        raise busy from exc
    if dispatch:
        job_enqueue(job=run)
    return run


def settlement_retry(*, job: SettlementRun, user=None) -> SettlementRun:
    """A failed or cancelled run becomes a new queued attempt (the next version) with the same parameters.

    The one-active-run rule applies: refused while another run of the period is queued or running.
    """
    return settlement_request(
        cluster=job.cluster, period_start=job.period_start, period_end=job.period_end, period_kind=job.period_kind,
        allocation=job.allocation, override_completeness=job.override_completeness, user=user,
    )


def settlement_execute(*, run_id: int) -> SettlementRun:
    """Compute a claimed (RUNNING) run and record how it ended: done, failed with the reason, or cancelled."""
    try:
        return settlement_compute(run=SettlementRun.objects.get(pk=run_id))
    except JobCancelledError:
        logger.info("settlement run %s cancelled; nothing published", run_id)
    except JobTimeLimitError as exc:
        settlement_fail(run_id=run_id, reason=time_limit_message(int(exc.args[0])))
    except ValidationError as exc:
        settlement_fail(run_id=run_id, reason=msgs_from_error(exc))
    except Exception as exc:
        logger.exception("settlement run %s failed", run_id)
        settlement_fail(run_id=run_id, reason=job_failure_reason(
            kind="settlement", exc=exc, default=msg(gettext_noop("Błąd obliczeń: %(err)s"), err=str(exc))))
    return SettlementRun.objects.get(pk=run_id)


def _progress(run: SettlementRun, pct: int, message: Msg) -> None:
    """Between steps: stop if the run was cancelled or is past its soft time limit, else report progress."""
    delay = float(getattr(settings, "OKE_TEST_SETTLEMENT_STEP_DELAY", 0) or 0)
    if delay and settings.DEBUG:  # test-only: lets a test kill the worker mid-run
        time.sleep(delay)
    job_checkpoint(job=run)
    SettlementRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING).update(
        progress=pct, message=msg_polish(message), message_data=message.as_json())


def settlement_compute(*, run: SettlementRun, price_spread: Decimal | None = None) -> SettlementRun:
    """Gather, check completeness, settle, and publish the result in one transaction.

    The run must be RUNNING (claimed by the task). Raises ``ValidationError`` for
    data the settlement cannot use (the task records it), ``JobCancelledError`` /
    ``JobTimeLimitError`` between steps; nothing is written before the final
    transaction, so either stops cleanly. Incomplete data below the gate is not
    an exception: the run is marked FAILED with ``missing``.
    """
    _progress(run, 5, msg(gettext_noop("Wczytywanie danych pomiarowych")))
    g = settlement_gather(cluster=run.cluster, start=run.period_start, end=run.period_end)
    if not g.ppes:
        raise ValidationError(gettext_noop("W tym okresie klaster nie ma członków z przypisanymi PPE."))
    keys = allocation_keys(cluster=run.cluster, members=g.members, on=run.period_start) if run.allocation == STATIC else None
    missing_keys = keys is not None and not keys.any()
    tiers = engine_tiers(g)
    # The cluster's standing when the run is computed, with the eligibility verdict for the period:
    # the report shows it, never the live registry. Days before the support starts carry no benefit;
    # an ineligible run is computed as if eligible (a comparison; publishing it needs a written reason).
    status = run_cluster_status(
        cluster=run.cluster, period_start=run.period_start, period_end=run.period_end,
        support_earliest=g.plan.rule.support_earliest,
    )
    verdict = status.eligibility
    first_day = benefit_start(verdict.benefit_from, verdict.support_from, run.period_start, run.period_end)
    # The cooperative comparison carries the surplus the previous period's run left unused.
    carried_from, carried_in = cooperative_carried_in(cluster=run.cluster, period_start=run.period_start)
    _progress(run, 20, msg(gettext_noop("Dopasowanie godzinowe")))
    # The meter data are read once, in PPE chunks, while the engine consumes them;
    # the completeness gate is counted on the same chunks and applied before anything is published.
    counter = CompletenessCounter(
        hours=g.hours, membership=g.membership, ppe_codes=[p.code for p in g.ppes], member_refs=[m.ref for m in g.members]
    )
    result = None
    if not missing_keys:
        result = settle(
            data=engine_input(g, on_chunk=lambda part: counter.add(part.present, part.balanced)),
            tiers=tiers,
            segments=segments_from(engine_segments(g), day=(first_day - run.period_start).days),
            allocation=run.allocation,
            keys=keys,
            coefficient=g.plan.rule.cooperative_coefficient,
            level_numerator=g.plan.rule.level_numerator,
            netting_period=g.plan.rule.cooperative_netting_period,
            carried_in=carried_in,
            carry_months=g.plan.rule.cooperative_carry_months,
        )
    else:
        for part in g.meter_chunks():
            counter.add(part.present, part.balanced)
    done = counter.result()
    gate = g.plan.rule.completeness_gate_pct
    if done.pct < gate and not run.override_completeness:
        message = msg(gettext_noop(
            "Niekompletne dane pomiarowe: %(pct)s %% godzin członkowskich PPE ma odczyty, wymagane %(gate)s %%. "
            "Brakujące godziny: %(hours)s, w PPE: %(ppes)s — zaimportuj brakujące dane "
            "albo uruchom rozliczenie z pominięciem wymogu kompletności."
        ), pct=done.pct, gate=gate, hours=done.missing_hours, ppes=len(done.missing))
        text = msg_polish(message)
        SettlementRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=text, error_data=message.as_json(), message=text[:500],
            message_data=message.as_json(), missing=done.missing, finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    if result is None:
        raise ValidationError(gettext_noop("Podział według kluczy wymaga kluczy podziału członków (AllocationKey)."))
    _progress(run, 80, msg(gettext_noop("Symulacja magazynów")))
    # The spread is dated rule data (SettlementRule); a caller may pass a scenario value instead.
    if price_spread is None:
        price_spread = g.plan.rule.storage_price_spread
    storage = run_storage(result=result, gathered=g, tiers=tiers, price_spread=price_spread)
    totals = run_totals(
        result=result, completeness_pct=done.pct, missing_hours=done.missing_hours,
        override_completeness=run.override_completeness, estimated=run_estimated(result=result, gathered=g),
    )
    snapshot = run_snapshot(
        run=run, gathered=g, result=result, totals=totals, storage=storage, status=status, price_spread=price_spread,
        cooperative_netting=run_cooperative_netting(
            result=result, netting_period=g.plan.rule.cooperative_netting_period,
            carry_months=g.plan.rule.cooperative_carry_months, carried_from_run=carried_from, carried_in=carried_in,
        ),
    )
    _progress(run, 90, msg(gettext_noop("Zapisywanie wyniku")))
    return _publish(run=run, g=g, result=result, snapshot=snapshot, missing=done.missing)


def segments_from(segments: list[RateSegment], *, day: int) -> list[RateSegment]:
    """The rate segments with the days before ``day`` (index into the period) settled without a benefit:
    a segment that spans ``day`` is split there."""
    if day <= 0:
        return segments
    out = []
    for seg in segments:
        if seg.day_end <= day:
            out.append(dataclasses.replace(seg, benefit=False))
        elif seg.day_start < day:
            out.append(dataclasses.replace(seg, day_end=day, benefit=False))
            out.append(dataclasses.replace(seg, day_start=day))
        else:
            out.append(seg)
    return out


@transaction.atomic
def _publish(*, run, g, result, snapshot, missing) -> SettlementRun:
    run = SettlementRun.objects.select_for_update().get(pk=run.pk)
    if run.status != JobStatus.RUNNING:
        # someone else finished or failed it meanwhile: a published result never changes
        return run
    SettlementLine.objects.filter(run=run).delete()  # a retried task never duplicates lines
    lines = []
    for m in result.members:
        member = g.members[m.member]
        lines.append(
            SettlementLine(
                run=run,
                member=member,
                member_ref=member.ref,
                member_name=member.name,
                member_address=member.address,
                member_identifiers={k: v for k, v in (("nip", member.nip), ("regon", member.regon), ("krs", member.krs)) if v},
                drawn_wh=m.drawn_wh,
                shared_wh=m.shared_wh,
                fed_in_wh=m.fed_in_wh,
                discount=m.discount,
                exemptions=encode(m.exemptions),
                exemptions_total=m.exemptions_total,
                total=m.total,
                cost_without_cluster=m.cost_without_cluster,
                ppes=[
                    {"code": g.ppes[p.ppe].code, "drawn_wh": p.drawn_wh, "shared_wh": p.shared_wh,
                     "fed_in_wh": p.fed_in_wh, "renewable_fed_in_wh": p.renewable_fed_in_wh}
                    for p in m.ppes
                ],
                monthly=m.monthly,
            )
        )
    SettlementLine.objects.bulk_create(lines)
    # The snapshot is what statements and the report read; the columns beside it are the
    # settlement pages' copies of its parts, in the same encoding (reports.settlement.snapshot).
    run.snapshot = snapshot_to_json(snapshot)
    run.totals = encode(snapshot.totals)
    run.hourly_profile = result.hourly_profile
    run.monthly = result.monthly
    run.cooperative = encode(snapshot.cooperative)
    run.storage = encode(snapshot.storage)
    run.missing = missing
    run.diff = run_diff(run=run, totals=run.totals, lines=lines)
    run.status = JobStatus.DONE
    run.progress = 100
    run.message = "Zakończono"
    run.message_data = msg(gettext_noop("Zakończono")).as_json()
    run.error = ""
    run.error_data = None
    run.finished_at = timezone.now()
    run.save()
    rate_uses_record(run=run)  # the rows it used are locked from now on (reports.settlement.tariffs)
    return run


def settlement_fail(*, run_id: int, reason: Msg | list[Msg] | str) -> None:
    """Mark a run FAILED with the reason (never a run that already finished).

    The reason is kept as codes (``error_data`` / ``message_data``, shown in the reader's
    language) and as its Polish text (``error`` / ``message``)."""
    data, text = msg_data(reason), msg_polish(reason)
    SettlementRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
        status=JobStatus.FAILED, error=text, error_data=data, message=text[:500], message_data=data,
        finished_at=timezone.now(),
    )
