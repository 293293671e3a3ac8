"""Write a validated ``Plan``: upsert by member ref, PPE code and (PPE, name)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, TypeVar

from django.db import models
from django.utils.translation import gettext_noop

from members.models import Cluster, Generator, Member, MeteringPoint, PPEMembership, StorageUnit
from members.services.datastamp import conditions_invalidate
from members.services.imports.checks import Plan, PPERow
from members.services.regimes import ppe_regime_add, ppe_regime_on
from members.services.registry import member_vat_changed_send
from members.signals import registry_changed_send
from okeportal.messages import msg

# What a settlement uses from the registry (member names and addresses do not change figures).
SETTLED_KINDS = ("metering_points", "memberships", "generators", "storage_units")

_M = TypeVar("_M", bound=models.Model)


def _upsert(instance: _M | None, model: type[_M], values: dict[str, Any], **create: Any) -> tuple[_M, str]:
    """Returns the object and "created" / "updated" / "unchanged"."""
    if instance is None:
        return model._default_manager.create(**create, **values), "created"
    changed = [k for k, v in values.items() if getattr(instance, k) != v]
    if not changed:
        return instance, "unchanged"
    for k in changed:
        setattr(instance, k, values[k])
    instance.save(update_fields=changed)
    return instance, "updated"


def _membership(ppe: MeteringPoint, member: Member, row: PPERow, counts: dict[str, Counter]) -> None:
    history = sorted(ppe.memberships.all(), key=lambda m: (m.valid_from, m.pk))
    latest = history[-1] if history else None
    if latest is not None and latest.member_id == member.pk:
        _, status = _upsert(latest, PPEMembership, {"valid_from": row.valid_from, "valid_to": row.valid_to})
        counts[status]["memberships"] += 1
        return
    # A PPE changing hands: the previous membership ends the day before the new one starts.
    for m in history:
        if m.member_id != member.pk and m.valid_from < row.valid_from and (m.valid_to is None or m.valid_to >= row.valid_from):
            m.valid_to = row.valid_from - dt.timedelta(days=1)
            m.save(update_fields=["valid_to"])
            counts["updated"]["memberships"] += 1
    PPEMembership.objects.create(ppe=ppe, member=member, valid_from=row.valid_from, valid_to=row.valid_to, ppe_code=ppe.code)
    counts["created"]["memberships"] += 1


def _regime(ppe: MeteringPoint, regime: str, start: dt.date, counts: dict[str, Counter]) -> None:
    """The PPE's billing regime from ``start`` on (the checks refused a row recorded from a later day)."""
    if ppe_regime_on(ppe=ppe, on=start) == regime:
        counts["unchanged"]["billing_regimes"] += 1
        return
    ppe_regime_add(ppe=ppe, regime=regime, valid_from=start)
    counts["created"]["billing_regimes"] += 1


def plan_save(*, cluster: Cluster, plan: Plan) -> dict[str, Counter]:
    """Caller holds the transaction. Returns counts per status and kind."""
    counts: dict[str, Counter] = {"created": Counter(), "updated": Counter(), "unchanged": Counter()}
    members = {m.ref: m for m in Member.objects.filter(cluster=cluster)}
    for row in plan.members:
        deducted = row.existing.deducts_vat if row.existing is not None else None
        member, status = _upsert(row.existing, Member, row.values, cluster=cluster, ref=row.key)
        members[row.key] = member
        counts[status]["members"] += 1
        if deducted is not None and deducted != member.deducts_vat:
            member_vat_changed_send(member=member)
    ppes = {p.code: p for p in MeteringPoint.objects.filter(cluster=cluster)}
    for row in plan.ppes:
        ppe, status = _upsert(row.existing, MeteringPoint, row.values, cluster=cluster, code=row.key)
        ppes[row.key] = ppe
        counts[status]["metering_points"] += 1
        _membership(ppe, members[row.member_ref], row, counts)
        if row.regime is not None and row.regime_from is not None:
            _regime(ppe, row.regime, row.regime_from, counts)
    for rows, model, kind in ((plan.generators, Generator, "generators"), (plan.storage, StorageUnit, "storage_units")):
        for row in rows:
            values = dict(row.values)
            name = values.pop("name")
            _, status = _upsert(row.existing, model, values, ppe=ppes[row.key], name=name)
            counts[status][kind] += 1
    conditions_invalidate(cluster_ids=[cluster.pk])
    changed = {kind: counts["created"][kind] + counts["updated"][kind] for kind in SETTLED_KINDS}
    if any(changed.values()):
        # Imported rows carry no change date of their own: every finished settlement may be affected.
        registry_changed_send(
            cluster_id=cluster.pk, start=None, end=None, code="registry_import",
            detail=msg(gettext_noop("nowe lub zmienione: PPE %(ppe)d, przynależności %(m)d, instalacje %(i)d"),
                       ppe=changed["metering_points"], m=changed["memberships"],
                       i=changed["generators"] + changed["storage_units"]),
        )
    return counts
