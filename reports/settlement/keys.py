"""Static allocation keys: the coordinator's shares of shared energy per member, summing to 100 %.

Keys are dated sets: every key of a cluster with the same ``valid_from`` belongs to one set, in
force from that day until the next set begins. A settlement uses the set in force on the first day
of its period and is refused when another set begins inside the period.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from members.models import Cluster, Member
from reports.models import AllocationKey

HUNDRED = Decimal(100)


def allocation_key_set_dates(*, cluster: Cluster) -> list[dt.date]:
    """The first days of the cluster's key sets, newest first."""
    return list(
        AllocationKey.objects.filter(cluster=cluster).order_by("-valid_from").values_list("valid_from", flat=True).distinct()
    )


def allocation_key_set_in_force(*, cluster: Cluster, on: dt.date) -> dt.date | None:
    """The first day of the set in force on ``on`` (None when no set had begun by then)."""
    return (
        AllocationKey.objects.filter(cluster=cluster, valid_from__lte=on)
        .order_by("-valid_from").values_list("valid_from", flat=True).first()
    )


def allocation_key_shares(*, cluster: Cluster, on: dt.date) -> dict[int, Decimal]:
    """Stored shares (fractions, as entered) of the set in force on ``on``, by member id."""
    valid_from = allocation_key_set_in_force(cluster=cluster, on=on)
    if valid_from is None:
        return {}
    return dict(AllocationKey.objects.filter(cluster=cluster, valid_from=valid_from).values_list("member_id", "share"))


def allocation_keys_pct(*, cluster: Cluster, on: dt.date) -> dict[int, Decimal]:
    """The set in force on ``on`` as percentages of its sum, by member id (weights stored by older imports are normalised)."""
    shares = allocation_key_shares(cluster=cluster, on=on)
    total = sum(shares.values(), Decimal(0))
    if not total:
        return {}
    return {member_id: (share * HUNDRED / total).quantize(Decimal("0.01")) for member_id, share in shares.items()}


def allocation_keys_period_check(*, cluster: Cluster, period_start: dt.date, period_end: dt.date) -> dt.date:
    """The first day of the set a settlement of the period uses; ValidationError when there is none or it changes."""
    valid_from = allocation_key_set_in_force(cluster=cluster, on=period_start)
    if valid_from is None:
        raise ValidationError(_(
            "Rozliczenie według kluczy: w dniu %(start)s nie obowiązuje żaden zestaw kluczy podziału; "
            "wprowadź klucze obowiązujące od tego dnia albo wybierz podział proporcjonalny."
        ) % {"start": period_start.strftime("%d.%m.%Y")})
    change = (
        AllocationKey.objects.filter(cluster=cluster, valid_from__gt=period_start, valid_from__lte=period_end)
        .order_by("valid_from").values_list("valid_from", flat=True).first()
    )
    if change is not None:
        raise ValidationError(_(
            "Rozliczenie według kluczy: %(date)s, w trakcie okresu %(start)s – %(end)s, zaczyna obowiązywać nowy "
            "zestaw kluczy podziału; rozlicz osobno okres przed tą datą i od niej."
        ) % {"date": change.strftime("%d.%m.%Y"), "start": period_start.strftime("%d.%m.%Y"), "end": period_end.strftime("%d.%m.%Y")})
    return valid_from


@transaction.atomic
def allocation_keys_set(*, cluster: Cluster, shares_pct: dict[int, Decimal], valid_from: dt.date) -> None:
    """Replace the cluster's set in force from ``valid_from``; each share 0–100 %, together exactly 100 %,
    members of this cluster only. Sets from other dates are kept."""
    members = {m.pk: m for m in Member.objects.filter(cluster=cluster, pk__in=list(shares_pct))}
    errors: list[str] = []
    for member_id, pct in shares_pct.items():
        member = members.get(member_id)
        if member is None:
            errors.append(_("Członek o identyfikatorze %(id)s nie należy do tego klastra.") % {"id": member_id})
        elif pct < 0 or pct > HUNDRED:
            errors.append(_("%(member)s: udział %(pct)s %% jest poza zakresem 0–100 %%.") % {"member": member.name, "pct": pct})
    total = sum(shares_pct.values(), Decimal(0))
    if total != HUNDRED:
        errors.append(_("Udziały muszą sumować się do 100 %%; teraz sumują się do %(total)s %%.") % {"total": total})
    if errors:
        raise ValidationError(errors)
    AllocationKey.objects.filter(cluster=cluster, valid_from=valid_from).delete()
    AllocationKey.objects.bulk_create(
        AllocationKey(cluster=cluster, member_id=member_id, share=pct / HUNDRED, valid_from=valid_from)
        for member_id, pct in shares_pct.items()
        if pct
    )
