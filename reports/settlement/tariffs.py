"""Dated tariff rows that settlements used are immutable; a new value starts on a date.

A row (distribution rate, exempt fee, discount tier, settlement rule, zone hours) used by any
settlement run cannot be edited or deleted: its figures are what published
statements say. A change of value is made by ``tariff_row_new_value``: the old row
ends the day before, a new row with the new value starts on that day, in one
transaction, and the runs whose period reaches that day are reported (they are
now outdated).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okeportal.messages import msg, msg_polish
from reports.models import (
    DiscountTier,
    DistributionRate,
    ExemptFee,
    RateUse,
    RunOutdatedReason,
    SettlementRule,
    SettlementRun,
    TariffZoneHours,
)

KIND_OF: dict[type[models.Model], str] = {
    DistributionRate: RateUse.Kind.RATE,
    ExemptFee: RateUse.Kind.FEE,
    DiscountTier: RateUse.Kind.TIER,
    SettlementRule: RateUse.Kind.RULE,
    TariffZoneHours: RateUse.Kind.ZONE,
}
DatedRow = DistributionRate | ExemptFee | DiscountTier | SettlementRule | TariffZoneHours


def snapshot_row_ids(snapshot: dict) -> dict[str, set[int]]:
    """The ids of the dated rows a run's snapshot names, by kind."""
    ids: dict[str, set[int]] = {kind: set() for kind in RateUse.Kind.values}
    ids[RateUse.Kind.RATE].update(r["id"] for r in snapshot.get("rates", []) if r.get("id") is not None)
    ids[RateUse.Kind.FEE].update(f["id"] for f in snapshot.get("fees", []) if f.get("id") is not None)
    ids[RateUse.Kind.TIER].update(t["id"] for t in snapshot.get("tiers", []) if t.get("id") is not None)
    ids[RateUse.Kind.ZONE].update(z["id"] for z in snapshot.get("zone_hours", []) if z.get("id") is not None)
    rule = snapshot.get("rule") or {}
    if rule.get("id") is not None:
        ids[RateUse.Kind.RULE].add(rule["id"])
    return ids


def rate_uses_record(*, run: SettlementRun) -> int:
    """Record which rows a finished run used (idempotent); returns the number of rows named."""
    uses = [RateUse(run=run, kind=kind, row_id=row_id) for kind, row_ids in snapshot_row_ids(run.snapshot or {}).items() for row_id in row_ids]
    RateUse.objects.bulk_create(uses, ignore_conflicts=True)
    return len(uses)


def tariff_row_runs(*, row: DatedRow) -> models.QuerySet[SettlementRun]:
    """The settlement runs that used this row, newest first."""
    run_ids = RateUse.objects.filter(kind=KIND_OF[type(row)], row_id=row.pk).values("run_id")
    return SettlementRun.objects.filter(pk__in=run_ids).select_related("cluster").order_by("-period_start", "-version")


def tariff_row_is_used(*, row: DatedRow) -> bool:
    return row.pk is not None and RateUse.objects.filter(kind=KIND_OF[type(row)], row_id=row.pk).exists()


def _runs_label(runs: list[SettlementRun]) -> str:
    shown = ", ".join(f"{r.cluster.slug} {r.period_start:%Y-%m-%d}–{r.period_end:%Y-%m-%d} v{r.version}" for r in runs[:5])
    return shown + (_(" i inne (%(n)s)") % {"n": len(runs) - 5} if len(runs) > 5 else "")


def tariff_row_guard_unused(*, row: DatedRow) -> None:
    """Refuse a change to a row that settlements used, naming them and the way to change a value."""
    if not tariff_row_is_used(row=row):
        return
    runs = list(tariff_row_runs(row=row))
    raise ValidationError(
        _(
            "Wiersz „%(row)s” został użyty w rozliczeniach (%(n)s: %(runs)s): nie można go zmienić ani usunąć, bo "
            "opublikowane zestawienia podają jego wartości. Użyj „Nowa wartość od dnia”: wiersz zakończy się dzień "
            "wcześniej, a od tego dnia obowiązywać będzie nowy."
        )
        % {"row": row, "n": len(runs), "runs": _runs_label(runs)},
        code="used",
    )


@transaction.atomic
def tariff_row_new_value(*, row: DatedRow, valid_from: dt.date, values: dict[str, Any]) -> tuple[DatedRow, list[SettlementRun]]:
    """End ``row`` the day before ``valid_from`` and create its successor with ``values``.

    Returns the new row and the runs that used the old row for days from ``valid_from``
    on: their figures no longer follow the rates in force and they must be recomputed.
    """
    model = type(row)
    row = model.objects.select_for_update().get(pk=row.pk)
    if valid_from <= row.valid_from:
        raise ValidationError(
            _("Nowa wartość musi obowiązywać od dnia późniejszego niż początek obecnego wiersza (%(start)s).")
            % {"start": row.valid_from.strftime("%d.%m.%Y")},
            code="before-start",
        )
    if row.valid_to is not None and valid_from > row.valid_to + dt.timedelta(days=1):
        raise ValidationError(
            _("Obecny wiersz kończy się %(end)s: nowy wiersz od %(start)s dodaj zwyczajnie, bez zamykania tego.")
            % {"end": row.valid_to.strftime("%d.%m.%Y"), "start": valid_from.strftime("%d.%m.%Y")},
            code="after-end",
        )
    fields = {f.name: getattr(row, f.name) for f in model._meta.concrete_fields if f.name not in ("id", "valid_from", "valid_to")}
    # The old row's source does not vouch for a new value: it names its own (the forms require one).
    fields |= {"source": "", "verified": False}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError(_("Nieznane pola: %(f)s.") % {"f": ", ".join(sorted(unknown))}, code="fields")
    successor = model(**{**fields, **values}, valid_from=valid_from, valid_to=row.valid_to)
    row.valid_to = valid_from - dt.timedelta(days=1)
    row.save(update_fields=["valid_to"])
    successor.full_clean()
    successor.save()
    detail = msg(gettext_noop("%(row)s: nowa wartość od %(start)s"), row=str(row), start=valid_from)
    return successor, _runs_outdate(row=row, start=valid_from, detail=detail)


def _runs_outdate(*, row: DatedRow, start: dt.date, detail: Any) -> list[SettlementRun]:
    """Record that the runs which used ``row`` for days from ``start`` on no longer follow the rates."""
    affected = [r for r in tariff_row_runs(row=row) if r.period_end >= start]
    RunOutdatedReason.objects.bulk_create(
        RunOutdatedReason(run=run, code=RunOutdatedReason.Code.RATE, detail=msg_polish(detail)[:300],
                          detail_data=detail.as_json())
        for run in affected
    )
    return affected


@transaction.atomic
def tariff_row_end(*, row: DatedRow, valid_to: dt.date) -> list[SettlementRun]:
    """End an open-ended row on ``valid_to`` (the one change a used row allows) and return the runs
    that used it for later days: they are now outdated. The caller adds the row that follows."""
    row = type(row).objects.select_for_update().get(pk=row.pk)
    if row.valid_to is not None or valid_to < row.valid_from:
        raise ValidationError(
            _("Wiersz „%(row)s” nie jest otwarty albo zaczyna się po %(end)s: nie można go zakończyć tego dnia.")
            % {"row": row, "end": valid_to.strftime("%d.%m.%Y")},
            code="end",
        )
    row.valid_to = valid_to
    row.save(update_fields=["valid_to"])
    start = valid_to + dt.timedelta(days=1)
    detail = msg(gettext_noop("%(row)s: nowa wartość od %(start)s"), row=str(row), start=start)
    return _runs_outdate(row=row, start=start, detail=detail)
