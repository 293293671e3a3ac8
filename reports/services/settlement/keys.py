"""Static allocation keys: the coordinator's shares of shared energy per member, summing to 100 %."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from members.models import Cluster, Member
from reports.models import AllocationKey

HUNDRED = Decimal(100)


def allocation_keys_pct(*, cluster: Cluster) -> dict[int, Decimal]:
    """Current keys as percentages of their sum, by member id (weights stored by older imports are normalised)."""
    shares = dict(AllocationKey.objects.filter(cluster=cluster).values_list("member_id", "share"))
    total = sum(shares.values(), Decimal(0))
    if not total:
        return {}
    return {member_id: (share * HUNDRED / total).quantize(Decimal("0.01")) for member_id, share in shares.items()}


@transaction.atomic
def allocation_keys_set(*, cluster: Cluster, shares_pct: dict[int, Decimal]) -> None:
    """Replace the cluster's keys; each share 0–100 %, together exactly 100 %, members of this cluster only."""
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
    AllocationKey.objects.filter(cluster=cluster).delete()
    AllocationKey.objects.bulk_create(
        AllocationKey(cluster=cluster, member_id=member_id, share=pct / HUNDRED)
        for member_id, pct in shares_pct.items()
        if pct
    )
