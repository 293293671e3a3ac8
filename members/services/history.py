"""Field-level history of a member or a PPE from django-simple-history, for people.

Every historical record becomes "who, when, what: field: old → new" with the
fields' verbose names and Polish formatting (dates 31.12.2025, decimals 40,00,
choices by label, related objects by name). A fixed number of queries per page:
one per history table and one per kind of related object named.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from members.models import DSO, Generator, Gmina, Member, MeteringPoint, PPEBillingRegime, PPEMembership, StorageUnit
from okeportal.formatting import day, number, when

# Per table: enough for a registry's lifetime of edits; older records are summarised.
HISTORY_LIMIT = 300
_SKIPPED_FIELDS = frozenset({"id", "created_at", "ppe_code", "cluster", "search_text"})
_RELATED = {"member": Member, "ppe": MeteringPoint, "gmina": Gmina, "dso": DSO}


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: dt.datetime
    who: str
    subject: str
    kind: str  # "+", "~", "-" as in simple-history
    changes: list[FieldChange] = field(default_factory=list)
    older_omitted: bool = False

    @property
    def kind_label(self) -> str:
        return {"+": _("utworzono"), "~": _("zmieniono"), "-": _("usunięto")}.get(self.kind, self.kind)


def _decimal(value: Decimal) -> str:
    """``229.3000`` → ``229,3`` (English ``229.3``): the stored places, trailing zeros dropped."""
    exponent = value.as_tuple().exponent
    return number(value, -max(-exponent, 0) if isinstance(exponent, int) else 0)


def _format(model: type[models.Model], name: str, value: Any, names: dict[str, dict[Any, str]]) -> str:
    if value is None or value == "":
        return "—"
    model_field = _column(model, name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if name in _RELATED:
        return names[name].get(value, str(value))
    if isinstance(value, bool):
        return _("tak") if value else _("nie")
    if isinstance(value, dt.datetime):
        return when(value)
    if isinstance(value, dt.date):
        return day(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    return str(value)


def _fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name not in _SKIPPED_FIELDS]


def _subject(model: type[models.Model], record: Any, names: dict[str, dict[Any, str]]) -> str:
    if model is Member:
        return _("Członek %(name)s") % {"name": record.name}
    if model is MeteringPoint:
        return _("PPE %(code)s") % {"code": record.code}
    if model is PPEMembership:
        return _("Przynależność PPE %(code)s do %(member)s") % {
            "code": names["ppe"].get(record.ppe_id, record.ppe_id), "member": names["member"].get(record.member_id, record.member_id)
        }
    if model is PPEBillingRegime:
        return _("Sposób rozliczenia PPE %(code)s") % {"code": names["ppe"].get(record.ppe_id, record.ppe_id)}
    return f"{model._meta.verbose_name}: {record.name}".capitalize()


def _entries(
    querysets: list[tuple[type[models.Model], models.QuerySet]], *, limit: int, known: dict[str, dict[Any, str]]
) -> list[HistoryEntry]:
    """``known``: names of related objects the caller already has (the page's own member or PPE)."""
    fetched: list[tuple[type[models.Model], list[Any]]] = []
    ids: dict[str, set[Any]] = defaultdict(set)
    for model, qs in querysets:
        records = list(qs.select_related("history_user").order_by("-history_date", "-history_id")[:limit])
        records.reverse()
        fetched.append((model, records))
        for record in records:
            for name in _RELATED:
                if hasattr(record, f"{name}_id"):
                    ids[name].add(getattr(record, f"{name}_id"))
    names: dict[str, dict[Any, str]] = {name: dict(known.get(name, {})) for name in _RELATED}
    missing = {name: ids[name] - names[name].keys() for name in _RELATED}
    if missing["member"]:
        names["member"].update(Member.objects.filter(pk__in=missing["member"]).values_list("pk", "name"))
    if missing["ppe"]:
        names["ppe"].update(MeteringPoint.objects.filter(pk__in=missing["ppe"]).values_list("pk", "code"))
    if missing["gmina"]:
        names["gmina"].update((g.pk, str(g)) for g in Gmina.objects.filter(pk__in=missing["gmina"]))
    if missing["dso"]:
        names["dso"].update(DSO.objects.filter(pk__in=missing["dso"]).values_list("pk", "name"))

    entries: list[HistoryEntry] = []
    for model, records in fetched:
        fields = _fields(model)
        previous: dict[Any, Any] = {}
        for record in records:
            before = previous.get(record.id)
            entry = HistoryEntry(
                when=record.history_date, subject=_subject(model, record, names), kind=record.history_type,
                who=(record.history_user.get_full_name() or record.history_user.username) if record.history_user else _("system"),
            )
            label = {name: str(_column(model, name).verbose_name) for name in fields}
            if record.history_type == "+" or (before is None and record.history_type == "-"):
                entry.changes = [
                    FieldChange(label[name], "—", _format(model, name, getattr(record, _attname(model, name)), names))
                    for name in fields
                    if getattr(record, _attname(model, name)) not in (None, "")
                ]
            elif before is None:
                entry.older_omitted = True
            elif record.history_type == "~":
                delta = record.diff_against(before, included_fields=fields)
                entry.changes = [
                    FieldChange(label[c.field], _format(model, c.field, c.old, names), _format(model, c.field, c.new, names))
                    for c in delta.changes
                ]
            previous[record.id] = record
            if entry.kind != "~" or entry.changes or entry.older_omitted:
                entries.append(entry)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def _attname(model: type[models.Model], name: str) -> str:
    return _column(model, name).attname


def _column(model: type[models.Model], name: str) -> models.Field:
    """One of the model's own fields (history records columns, never reverse relations)."""
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), name
    return found


def registry_history_member(*, member: Member, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The member's own fields and its PPE memberships, newest first (``limit`` records of each table)."""
    return _entries([
        (Member, Member.history.filter(id=member.pk)),
        (PPEMembership, PPEMembership.history.filter(member_id=member.pk)),
    ], limit=limit, known={"member": {member.pk: member.name}})


def registry_history_ppe(*, ppe: MeteringPoint) -> list[HistoryEntry]:
    """The PPE's fields, its memberships, generators, storage and billing regimes, newest first."""
    return _entries([
        (MeteringPoint, MeteringPoint.history.filter(id=ppe.pk)),
        (PPEMembership, PPEMembership.history.filter(ppe_id=ppe.pk)),
        (Generator, Generator.history.filter(ppe_id=ppe.pk)),
        (StorageUnit, StorageUnit.history.filter(ppe_id=ppe.pk)),
        (PPEBillingRegime, PPEBillingRegime.history.filter(ppe_id=ppe.pk)),
    ], limit=HISTORY_LIMIT, known={"ppe": {ppe.pk: ppe.code}})
