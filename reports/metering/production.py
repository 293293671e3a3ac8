"""Production data of generators: import, store, and the metered renewable share of a PPE's export.

A PPE with renewable and other generators behind one meter ("mixed") exports
energy of both kinds. Where production data exist for ALL its generators in an
hour and their total production is above 0, the renewable part of its export
in that hour is ``export × RES production / total production`` (domain rules,
"Renewable energy of a PPE with several generators"). In its other hours the
installed-capacity split is an estimate, and the settlement counts those
PPE-hours. A PPE whose generators are all renewable (or all not) needs no
production data: its share is exactly 1 (or 0). Storage units are not
generators: a PPE with storage only feeds in no renewable energy.

Imports are all-or-nothing like meter imports (``reports.metering.imports``):
any bad line (unknown PPE or one of another cluster, a generator not registered
on that PPE, negative production, production outside the PPE's membership)
fails the file with errors naming line and field, and nothing is saved.
Re-importing intervals replaces them; 15-minute data are summed to hours when
read (an hour counts only when all its quarters are present).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from members.models import Generator, MeteringPoint, PPEMembership
from members.services.datastamp import conditions_invalidate
from okeportal.jobs import JobCancelledError
from okeportal.messages import msg, msg_join, msg_plural, msg_polish, noop
from reports.engine.calendar import quarters_to_hours
from reports.metering.parsers import ProductionSeries, RowError, parse_production
from reports.metering.parsers.common import FILE_FIELD, MAX_ERRORS
from reports.metering.records import reading_import_finish
from reports.metering.signals import meter_data_changed_send
from reports.metering.store import local_dates
from reports.models import GeneratorDay, JobStatus, ReadingImport

UTC = dt.UTC
SLOTS_PER_DAY = {60: 24, 15: 96}


# --- the metered share ------------------------------------------------------------------


@dataclass(frozen=True)
class ShareAttribution:
    """The engine's sparse override of the renewable share (``HourlyInput.share_override``).

    ``override``: PPE row → (hour indices, RES production / total production) for
    the hours of the mixed PPEs with production data of all their generators and
    total production > 0; ``mixed``: rows of the PPEs with renewable and other
    generators (their other hours are estimated by installed capacity).
    """

    override: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    mixed: tuple[int, ...] = ()


def mixed_rows(ppes: Sequence[MeteringPoint]) -> list[int]:
    """Rows of PPEs with both renewable and other generators (prefetch ``generators``)."""
    rows = []
    for i, ppe in enumerate(ppes):
        kinds = {g.is_renewable for g in ppe.generators.all() if g.capacity_kw > 0}
        if kinds == {True, False}:
            rows.append(i)
    return rows


def generator_hourly(
    *, generator_ids: Sequence[int], start_utc: dt.datetime, n_hours: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Generator id → (production Wh per hour, present per hour) over ``n_hours`` from ``start_utc``.

    15-minute days are summed to hours; an hour is present only if all four quarters are.
    Only generators with stored days in the period are returned.
    """
    start = start_utc.astimezone(UTC)
    first_day = start.date()
    offset = start.hour
    n_days = (offset + n_hours + 23) // 24
    last_day = first_day + dt.timedelta(days=n_days - 1)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    rows = GeneratorDay.objects.filter(generator_id__in=list(generator_ids), day__gte=first_day, day__lte=last_day)
    for gen_id, day, res, raw_wh, raw_present in rows.values_list(
        "generator_id", "day", "resolution_min", "production_wh", "present"
    ).iterator():
        wh, present = np.frombuffer(bytes(raw_wh), dtype="<i8"), np.frombuffer(bytes(raw_present), dtype=np.uint8) > 0
        if res == 15:
            hourly_present = present.reshape(24, 4).all(axis=1)
            wh, present = np.where(hourly_present, quarters_to_hours(wh), 0), hourly_present
        if gen_id not in out:
            out[gen_id] = (np.zeros(n_days * 24, dtype=np.int64), np.zeros(n_days * 24, dtype=bool))
        at = (day - first_day).days * 24
        out[gen_id][0][at : at + 24] = wh
        out[gen_id][1][at : at + 24] = present
    return {g: (wh[offset : offset + n_hours], p[offset : offset + n_hours]) for g, (wh, p) in out.items()}


def production_attribution(*, ppes: Sequence[MeteringPoint], hours: np.ndarray) -> ShareAttribution:
    """The metered renewable shares of the mixed PPEs over ``hours`` (consecutive UTC hours, datetime64).

    Memory follows the mixed PPEs' metered hours, not all PPEs × hours.
    """
    rows = mixed_rows(ppes)
    if not rows or not len(hours):
        return ShareAttribution(mixed=tuple(rows))
    start = dt.datetime.fromtimestamp(int(hours[0].astype("datetime64[s]").astype(np.int64)), UTC)
    generators = {i: [g for g in ppes[i].generators.all() if g.capacity_kw > 0] for i in rows}
    series = generator_hourly(generator_ids=[g.pk for gs in generators.values() for g in gs], start_utc=start,
                              n_hours=len(hours))
    override: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, gens in generators.items():
        if any(g.pk not in series for g in gens):
            continue  # a generator without any production data in the period: all estimated
        complete = np.logical_and.reduce([series[g.pk][1] for g in gens])
        total = np.sum([series[g.pk][0] for g in gens], axis=0)
        renewable = np.sum([series[g.pk][0] for g in gens if g.is_renewable], axis=0)
        metered = np.flatnonzero(complete & (total > 0))
        if len(metered):
            override[i] = (metered.astype(np.int64), renewable[metered] / total[metered])
    return ShareAttribution(override=override, mixed=tuple(rows))


def renewable_split_wh(
    *, export_wh: np.ndarray, capacity_share: Decimal, metered: tuple[np.ndarray, np.ndarray] | None
) -> int:
    """Renewable Wh of one PPE's hourly export: metered shares where given, the capacity share elsewhere."""
    export_wh = np.asarray(export_wh, dtype=np.int64)
    if metered is None:
        return int((Decimal(int(export_wh.sum())) * capacity_share).to_integral_value())
    hours, shares = metered
    rest = np.ones(len(export_wh), dtype=bool)
    rest[hours] = False
    estimated = Decimal(int(export_wh[rest].sum())) * capacity_share
    return int((estimated + Decimal(repr(float((export_wh[hours] * shares).sum())))).to_integral_value())


# --- the import ----------------------------------------------------------------------------


def _membership_inside(memberships: Sequence[PPEMembership], local: np.ndarray) -> np.ndarray:
    """bool per local date: inside one of the PPE's memberships (the rule of
    ``reports.metering.selectors.membership_inside``, which reads this module's shares)."""
    inside = np.zeros(local.shape, dtype=bool)
    for m in memberships:
        hi = np.datetime64(m.valid_to) if m.valid_to else np.datetime64("9999-12-31")
        inside |= (local >= np.datetime64(m.valid_from)) & (local <= hi)
    return inside


@dataclass
class _Checked:
    generator: Generator
    series: ProductionSeries


def _resolve(reading_import: ReadingImport, series: list[ProductionSeries]) -> tuple[list[_Checked], list[RowError]]:
    """Each series' PPE in the import's cluster, its generator by name on that PPE, and its membership."""
    cluster = reading_import.cluster
    codes = {s.ppe_code for s in series}
    ppes = {p.code: p for p in MeteringPoint.objects.filter(cluster=cluster, code__in=codes)}
    generators: dict[tuple[int, str], list[Generator]] = {}
    for g in Generator.objects.filter(ppe__in=ppes.values()):
        generators.setdefault((g.ppe_id, g.name.strip().casefold()), []).append(g)
    memberships: dict[int, list[PPEMembership]] = {}
    for m in PPEMembership.objects.filter(ppe__in=ppes.values()).order_by("valid_from"):
        memberships.setdefault(m.ppe_id, []).append(m)
    errors: list[RowError] = []
    checked: list[_Checked] = []
    for s in series:
        line = int(s.lines[0])
        ppe = ppes.get(s.ppe_code)
        if ppe is None:
            # the same message whether or not another cluster has the code: nothing of it is revealed
            errors.append(RowError(line, "ppe_code", msg(gettext_noop(
                "Nieznany PPE %(code)s — nie ma go w rejestrze klastra %(cluster)s."), code=s.ppe_code, cluster=cluster.name)))
            continue
        found = generators.get((ppe.pk, s.generator.casefold()), [])
        if not found:
            registered = sorted(g.name for (pid, _), gs in generators.items() if pid == ppe.pk for g in gs)
            errors.append(RowError(line, "generator", msg(gettext_noop(
                "Jednostka wytwórcza „%(name)s” nie jest zarejestrowana na PPE %(code)s (jednostki tego PPE: %(names)s)."),
                name=s.generator, code=ppe.code, names=", ".join(registered) or "—")))
            continue
        if len(found) > 1:
            errors.append(RowError(line, "generator", msg(gettext_noop(
                "PPE %(code)s ma %(n)d jednostki wytwórcze o nazwie „%(name)s” — nadaj im w rejestrze różne nazwy."),
                code=ppe.code, n=len(found), name=s.generator)))
            continue
        outside = np.flatnonzero(~_membership_inside(memberships.get(ppe.pk, []), local_dates(s.starts)))
        if len(outside):
            i = int(outside[0])
            moment = dt.datetime.fromtimestamp(int(s.starts[i]), UTC).isoformat()
            errors.append(RowError(int(s.lines[i]), "start", msg(gettext_noop(
                "Produkcja jednostki %(name)s w okresie %(start)s, gdy PPE %(code)s nie należy do członka klastra "
                "(odczytów poza przynależnością: %(n)d)."), name=s.generator, start=moment, code=ppe.code, n=len(outside))))
            continue
        checked.append(_Checked(found[0], s))
    return checked, errors


def _days(series: ProductionSeries) -> dict[dt.date, tuple[np.ndarray, np.ndarray]]:
    """The series as UTC day slots: day → (Wh per slot, present per slot)."""
    spd = SLOTS_PER_DAY[series.resolution_min]
    step = series.resolution_min * 60
    day_no = series.starts // 86400
    slot = (series.starts % 86400) // step
    out: dict[dt.date, tuple[np.ndarray, np.ndarray]] = {}
    for d in np.unique(day_no).tolist():
        sel = day_no == d
        wh, present = np.zeros(spd, dtype=np.int64), np.zeros(spd, dtype=np.uint8)
        wh[slot[sel]], present[slot[sel]] = series.production_wh[sel], 1
        out[dt.date(1970, 1, 1) + dt.timedelta(days=d)] = (wh, present)
    return out


def _hourly(wh: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(wh) == 24:
        return wh, present
    whole = present.reshape(24, 4).all(axis=1)
    return np.where(whole, quarters_to_hours(wh), 0), whole.astype(np.uint8)


def _write(checked: list[_Checked]) -> int:
    """Merge the readings into the generators' day rows: the slots a file carries replace the stored ones."""
    written = 0
    for item in checked:
        days = _days(item.series)
        stored = {d.day: d for d in GeneratorDay.objects.select_for_update().filter(
            generator=item.generator, day__in=list(days))}
        new_rows, changed = [], []
        for day, (wh, present) in days.items():
            res = item.series.resolution_min
            old = stored.get(day)
            if old is not None:
                old_wh = np.frombuffer(bytes(old.production_wh), dtype="<i8")
                old_present = np.frombuffer(bytes(old.present), dtype=np.uint8)
                if old.resolution_min != res:  # one resolution per day: both as hours
                    old_wh, old_present = _hourly(old_wh, old_present)
                    wh, present, res = *_hourly(wh, present), 60
                wh = np.where(present > 0, wh, old_wh)
                present = np.maximum(present, old_present)
                old.resolution_min, old.production_wh, old.present = res, wh.tobytes(), present.tobytes()
                changed.append(old)
            else:
                new_rows.append(GeneratorDay(generator=item.generator, day=day, resolution_min=res,
                                             production_wh=wh.tobytes(), present=present.tobytes()))
        GeneratorDay.objects.bulk_create(new_rows)
        GeneratorDay.objects.bulk_update(changed, ["resolution_min", "production_wh", "present"])
        written += len(new_rows) + len(changed)
    return written




def production_import_run(
    *, reading_import: ReadingImport, progress: Callable[[float], None] | None = None
) -> ReadingImport:
    """Parse, check and save a production file, all or nothing (status must already be RUNNING)."""
    report = progress or (lambda percent: None)
    report(2)
    with reading_import.file.open("rb") as handle:
        parsed = parse_production(handle)  # type: ignore[arg-type]  # opened "rb": a binary stream; django-stubs types FieldFile IO[Any]
    report(50)
    errors, count = list(parsed.errors), parsed.error_count
    checked: list[_Checked] = []
    if not count:
        checked, errors = _resolve(reading_import, parsed.series)
        count = len(errors)
    if count:
        message = msg_plural(noop.ngettext("Plik odrzucony: %(n)d błąd, nic nie zapisano.",
                                           "Plik odrzucony: %(n)d błędów, nic nie zapisano."), n=count)
        if count > MAX_ERRORS:
            message = msg_join(message, msg(gettext_noop("Pokazano pierwsze %(n)d."), n=MAX_ERRORS))
        return reading_import_finish(reading_import, status=JobStatus.FAILED, message=message,
                       errors=[e.as_dict() for e in sorted(errors, key=lambda e: e.line or 0)[:MAX_ERRORS]],
                       summary={"rows": parsed.rows, "error_count": count})
    if not checked:
        message = msg(gettext_noop("Plik nie zawiera żadnych odczytów."))
        return reading_import_finish(reading_import, status=JobStatus.FAILED, message=message,
                       errors=[RowError(None, FILE_FIELD, message).as_dict()], summary={"rows": parsed.rows})
    with transaction.atomic():
        days = _write(checked)
        readings = sum(len(c.series.starts) for c in checked)
        first = min(int(c.series.starts[0]) for c in checked)
        last = max(int(c.series.starts[-1]) + c.series.resolution_min * 60 for c in checked)
        message = msg_plural(noop.ngettext(
            "Zapisano %(n)d odczyt produkcji %(g)d jednostek wytwórczych.",
            "Zapisano %(n)d odczytów produkcji %(g)d jednostek wytwórczych."), n=readings, g=len(checked))
        summary = {
            "rows": parsed.rows, "readings": readings, "generators": len(checked),
            "ppes": len({c.generator.ppe_id for c in checked}), "days_written": days,
            "resolution_min": sorted({c.series.resolution_min for c in checked}),
            "from": dt.datetime.fromtimestamp(first, UTC).isoformat(),
            "to": dt.datetime.fromtimestamp(last, UTC).isoformat(),
            "production_kwh": round(sum(int(c.series.production_wh.sum()) for c in checked) / 1000, 3),
        }
        # conditional: an import cancelled meanwhile stays cancelled and its data roll back
        updated = ReadingImport.objects.filter(id=reading_import.id, status=JobStatus.RUNNING).update(
            status=JobStatus.DONE, message=msg_polish(message)[:300], message_data=message.as_json(), errors=[],
            summary=summary, progress=100, finished_at=timezone.now(),
        )
        if updated != 1:
            raise JobCancelledError(reading_import.id)
        reading_import.refresh_from_db()
        conditions_invalidate(cluster_ids=[reading_import.cluster_id])
        local = local_dates(np.array([first, last - 1], dtype=np.int64))
        detail = msg(gettext_noop("plik produkcji %(name)s: %(g)d jednostek, %(first)s – %(last)s"),
                     name=reading_import.original_name, g=len(checked), first=local[0], last=local[1])
        meter_data_changed_send(cluster_id=reading_import.cluster_id, start=local[0].astype(dt.date),
                                end=local[1].astype(dt.date), detail=detail)
    report(100)
    return reading_import
