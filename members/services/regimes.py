"""A PPE's billing regime (dated): ordinary, prosumer net-metering, prosumer net-billing.

Days no ``PPEBillingRegime`` row covers are ``ordinary`` (the documented default).
A new regime starts on a day: the row in force the day before ends then, so the
history stays a sequence of periods that never overlap. A change is sent as
``registry_changed`` (code ``billing_regime``) for the days it affects, so
finished settlements of those days are marked outdated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import PROSUMER_REGIMES, BillingRegime, MeteringPoint, PPEBillingRegime
from members.signals import registry_changed_send
from okeportal.messages import msg

# The regimes' names as source texts (the ``BillingRegime`` labels), for stored messages' ``*_label`` parameters.
REGIME_SOURCE = {
    BillingRegime.ORDINARY.value: gettext_noop("zwykły (bez rozliczenia prosumenckiego)"),
    BillingRegime.NET_METERING.value: gettext_noop("prosument – net-metering (opusty)"),
    BillingRegime.NET_BILLING.value: gettext_noop("prosument – net-billing"),
}


def ppe_regime_on(*, ppe: MeteringPoint, on: dt.date) -> str:
    """The regime in force on ``on`` (``ordinary`` where no row covers the day)."""
    row = ppe.billing_regimes.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)).first()
    return row.regime if row is not None else BillingRegime.ORDINARY


# A regime as a small number in ``regime_matrix``: its index here; 0 (ordinary) is the only non-prosumer one.
REGIME_ORDER: tuple[str, ...] = (
    BillingRegime.ORDINARY.value, BillingRegime.NET_METERING.value, BillingRegime.NET_BILLING.value,
)


def regime_matrix(*, ppe_ids: Sequence[int], days: Sequence[dt.date]) -> np.ndarray:
    """The regime per PPE and day of ``days`` as ``uint8[n_ppe, n_days]`` indices into ``REGIME_ORDER``:
    0 (ordinary) where no row covers the day, above 0 for the prosumer regimes. One query."""
    out = np.zeros((len(ppe_ids), len(days)), dtype=np.uint8)
    if not len(ppe_ids) or not len(days):
        return out
    row_of = {pk: i for i, pk in enumerate(ppe_ids)}
    first, last = min(days), max(days)
    rows = PPEBillingRegime.objects.filter(ppe_id__in=list(ppe_ids), valid_from__lte=last).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=first)
    ).values_list("ppe_id", "regime", "valid_from", "valid_to")
    stamps = np.asarray(days, dtype="datetime64[D]")
    for ppe_id, regime, start, end in rows:
        inside = (stamps >= np.datetime64(start)) & (stamps <= np.datetime64(end or last))
        out[row_of[ppe_id], inside] = REGIME_ORDER.index(regime)
    return out


PROSUMER_CODES = frozenset(str(r.value) for r in PROSUMER_REGIMES)


def is_prosumer(regime: str) -> bool:
    return regime in PROSUMER_CODES


@transaction.atomic
def ppe_regime_add(*, ppe: MeteringPoint, regime: str, valid_from: dt.date) -> PPEBillingRegime:
    """Put ``ppe`` under ``regime`` from ``valid_from`` on, until further notice.

    The row in force on ``valid_from`` ends the day before (a row starting that very day is
    replaced). Refused, naming the field: an unknown regime, the regime already in force that
    day, or a row starting later (change the history in the admin panel first).
    """
    if regime not in BillingRegime.values:
        raise ValidationError({"regime": _("Nieznany sposób rozliczenia „%(v)s”.") % {"v": regime}})
    later = ppe.billing_regimes.filter(valid_from__gt=valid_from).order_by("valid_from").first()
    if later is not None:
        raise ValidationError({"valid_from": _(
            "PPE %(code)s ma już sposób rozliczenia od %(start)s (%(regime)s); nowy musi zacząć się później "
            "(wcześniejsze okresy popraw w panelu administracyjnym)."
        ) % {"code": ppe.code, "start": later.valid_from, "regime": later.get_regime_display()}})
    current = ppe.billing_regimes.filter(valid_from__lte=valid_from).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from)
    ).first()
    in_force = current.regime if current is not None else BillingRegime.ORDINARY
    if in_force == regime:
        raise ValidationError({"regime": _(
            "PPE %(code)s jest rozliczany jako „%(regime)s” już w dniu %(on)s — wybierz inny sposób rozliczenia albo inny dzień."
        ) % {"code": ppe.code, "regime": BillingRegime(regime).label, "on": valid_from}})
    if current is not None:
        if current.valid_from == valid_from:
            current.delete()
        else:
            current.valid_to = valid_from - dt.timedelta(days=1)
            current.full_clean()
            current.save(update_fields=["valid_to"])
    row = PPEBillingRegime(ppe=ppe, regime=regime, valid_from=valid_from, valid_to=None)
    row.full_clean()
    row.save()
    # the new row is open-ended: every day from valid_from on may change
    regime_changed_send(ppe=ppe, start=valid_from, end=None, old=in_force, new=regime)
    return row


def regime_changed_send(*, ppe: MeteringPoint, start: dt.date | None, end: dt.date | None, old: str, new: str) -> None:
    """Tell the settlement side that ``ppe``'s regime changed for ``[start, end]``."""
    registry_changed_send(
        cluster_id=ppe.cluster_id, start=start, end=end, code="billing_regime",
        detail=msg(gettext_noop("PPE %(code)s: sposób rozliczenia od %(start)s: %(old_label)s → %(new_label)s"),
                   code=ppe.code, start=start, old_label=REGIME_SOURCE[old], new_label=REGIME_SOURCE[new]),
    )


def regime_row_changed(*, row: PPEBillingRegime, before: PPEBillingRegime | None, deleted: bool = False) -> None:
    """A regime row edited or deleted directly (the admin panel): the days of its old and new period changed."""
    periods = [(r.valid_from, r.valid_to) for r in (before, None if deleted else row) if r is not None]
    start = min(p[0] for p in periods)
    end = None if any(p[1] is None for p in periods) else max(p[1] for p in periods)  # type: ignore[type-var]
    old = before.regime if before is not None else BillingRegime.ORDINARY
    new = BillingRegime.ORDINARY if deleted else row.regime
    regime_changed_send(ppe=row.ppe, start=start, end=end, old=old, new=new)
