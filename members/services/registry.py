"""Writes to the registry: members, PPEs with dated membership, installations.

Every function validates what it writes (identifiers, PPE code, the area rule)
so the browser forms, the admin and scripts cannot store a registry that
breaks the rules; forms validate first to show errors on the right field, and
these checks are the last line. Both call the same functions
(``members.services.validators``, ``members.services.area``); the area verdict the
form reached is reused here within the request, not recomputed. Functions that
write several rows are atomic.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import (
    Cluster,
    Generator,
    Gmina,
    Member,
    MeteringPoint,
    PPEMembership,
    StorageUnit,
    vat_deduction_default,
)
from members.polish import polish_fold
from members.services.area import PPECandidate, area_validate_candidates, area_verdicts_forget
from members.services.datastamp import conditions_invalidate
from members.services.memberships import ppe_code_one_cluster_validate
from members.services.validators import IDENTIFIER_FIELDS, member_identifiers_clean, ppe_code_check, ppe_code_clean
from members.signals import registry_changed_send
from okeportal.messages import msg

MEMBER_FIELDS = (
    "ref", "name", "legal_form", "nip", "regon", "krs", "pesel", "street", "postal_code",
    "city", "email", "joined_on", "controlled_by_jst", "deducts_vat",
)
PPE_FIELDS = (
    "code", "address", "gmina", "dso", "voltage_level", "tariff_group", "contracted_kw", "annual_demand_kwh",
)
GENERATOR_FIELDS = ("name", "source", "capacity_kw", "thermal_kw", "biogas_m3_per_year", "commissioned_on")
STORAGE_FIELDS = ("name", "power_kw", "capacity_kwh", "efficiency")


# --- members -----------------------------------------------------------------


def _member_identifiers_clean(data: dict[str, Any]) -> None:
    """Normalise identifiers in place; one ValidationError with every problem, by field."""
    data.update(
        member_identifiers_clean(
            legal_form=data.get("legal_form", ""), **{k: data.get(k) or "" for k in IDENTIFIER_FIELDS}
        )
    )


def _member_full_clean(member: Member) -> None:
    # The model's constraints included: left_on not before joined_on.
    member.full_clean(exclude=["user"])


@transaction.atomic
def member_create(*, cluster: Cluster, data: Mapping[str, Any]) -> Member:
    """Register a member; ``data`` holds MEMBER_FIELDS (identifiers may be unformatted).

    Without ``deducts_vat`` (or with None) the member deducts VAT as its legal form says
    (``vat_deduction_default``)."""
    values = {k: data[k] for k in MEMBER_FIELDS if k in data}
    if values.get("deducts_vat") is None:
        values["deducts_vat"] = vat_deduction_default(values.get("legal_form", ""))
    _member_identifiers_clean(values)
    member = Member(cluster=cluster, **values)
    _member_full_clean(member)
    member.save()
    return member


@transaction.atomic
def member_update(*, member: Member, data: Mapping[str, Any]) -> Member:
    # Identifiers are checked together with the legal form, changed or not.
    values = {k: getattr(member, k) for k in ("legal_form", *IDENTIFIER_FIELDS)}
    values.update({k: data[k] for k in MEMBER_FIELDS if k in data})
    if values.get("deducts_vat") is None:  # not given: unchanged
        values["deducts_vat"] = member.deducts_vat
    _member_identifiers_clean(values)
    deducted = member.deducts_vat
    for k, v in values.items():
        setattr(member, k, v)
    _member_full_clean(member)
    member.save()
    if member.deducts_vat != deducted:
        member_vat_changed_send(member=member)
    return member


def member_vat_changed_send(*, member: Member) -> None:
    """Runs over the member's time in the cluster recorded its former VAT deduction: they become outdated
    (their statements' gross lines follow the flag as the run recorded it until a new version)."""
    registry_changed_send(
        cluster_id=member.cluster_id, start=member.joined_on, end=member.left_on, code="member_vat",
        detail=msg(
            gettext_noop("%(member)s: odliczanie VAT zmienione na „%(value_label)s”"), member=member.name,
            value_label=gettext_noop("odlicza") if member.deducts_vat else gettext_noop("nie odlicza"),
        ),
    )


@transaction.atomic
def member_leave(*, member: Member, on: dt.date) -> Member:
    """The member leaves the cluster; ``on`` is its last day, and its PPEs' memberships end with it."""
    if on < member.joined_on:
        raise ValidationError(
            _("Data wystąpienia %(on)s jest wcześniejsza niż data przystąpienia %(joined)s.")
            % {"on": on, "joined": member.joined_on}
        )
    later = member.ppe_memberships.filter(valid_from__gt=on).select_related("ppe").first()
    if later is not None:
        raise ValidationError(
            _("PPE %(code)s należy do członka dopiero od %(start)s, po dacie wystąpienia %(on)s; najpierw zmień tę przynależność.")
            % {"code": later.ppe.code, "start": later.valid_from, "on": on}
        )
    # Saved one by one (not .update()) so each membership's field history records the new end.
    for membership in member.ppe_memberships.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on)):
        membership.valid_to = on
        membership.save(update_fields=["valid_to"])
    member.left_on = on
    member.save(update_fields=["left_on"])
    conditions_invalidate(cluster_ids=[member.cluster_id])
    registry_changed_send(
        cluster_id=member.cluster_id, start=on + dt.timedelta(days=1), end=None, code="leaving",
        detail=msg(gettext_noop("%(member)s wystąpił z klastra; ostatni dzień %(on)s"), member=member.name, on=on),
    )
    return member


# --- PPEs ----------------------------------------------------------------------


def _ppe_validate(*, cluster: Cluster, ppe: MeteringPoint, area: bool = True) -> None:
    """PPE code format, uniqueness in the cluster, the model's rules and (``area``) the area rule."""
    checked = ppe_code_clean(code=ppe.code, dso=ppe.dso, cluster_id=cluster.pk, ppe_id=ppe.pk)
    ppe.code = checked.code
    ppe.is_legacy_code = checked.is_legacy
    ppe.full_clean(exclude=["cluster"], validate_unique=False)
    if area:
        area_validate_candidates(
            cluster=cluster,
            candidates=[PPECandidate(
                code=ppe.code, gmina=ppe.gmina, dso=ppe.dso, voltage_level=ppe.voltage_level, ppe_id=ppe.pk
            )],
        )


def _area_verdicts_forget_of(ppe: MeteringPoint) -> None:
    if MeteringPoint.cluster.is_cached(ppe):
        area_verdicts_forget(ppe.cluster)


def _row_candidate(row: PPERow) -> PPECandidate | None:
    """The PPE a member-page row would store, for the area rule; None when its own data is not valid."""
    def value(name: str) -> Any:
        return row.data[name] if name in row.data else getattr(row.ppe, name, None)

    code, gmina, dso, level = value("code"), value("gmina"), value("dso"), value("voltage_level")
    if not (code and gmina and dso and level):
        return None
    try:
        code = ppe_code_check(code, dso=dso).code
    except ValidationError:
        return None
    return PPECandidate(code=code, gmina=gmina, dso=dso, voltage_level=level, ppe_id=row.ppe.pk if row.ppe else None)


def _membership_check(*, member: Member, valid_from: dt.date, code: str) -> None:
    # A PPE code is in one cluster at a time (the database refuses it too).
    ppe_code_one_cluster_validate(code=code, cluster_id=member.cluster_id, valid_from=valid_from, valid_to=member.left_on)
    if valid_from < member.joined_on:
        raise ValidationError(
            {"valid_from": _("PPE %(code)s: przynależność od %(start)s zaczyna się przed przystąpieniem członka (%(joined)s).")
             % {"code": code, "start": valid_from, "joined": member.joined_on}}
        )
    if member.left_on and valid_from > member.left_on:
        raise ValidationError(
            {"valid_from": _("PPE %(code)s: członek wystąpił z klastra %(left)s.") % {"code": code, "left": member.left_on}}
        )


@transaction.atomic
def ppe_create(*, cluster: Cluster, member: Member, data: Mapping[str, Any], valid_from: dt.date) -> MeteringPoint:
    """Register a PPE of ``member`` (PPE_FIELDS in ``data``) and its membership from ``valid_from``."""
    return _ppe_create(cluster=cluster, member=member, data=data, valid_from=valid_from, area=True)


def _ppe_create(
    *, cluster: Cluster, member: Member, data: Mapping[str, Any], valid_from: dt.date, area: bool
) -> MeteringPoint:
    if member.cluster_id != cluster.pk:
        raise ValidationError(_("Członek %(member)s nie należy do tego klastra.") % {"member": member})
    ppe = MeteringPoint(cluster=cluster, **{k: data[k] for k in PPE_FIELDS if k in data})
    _ppe_validate(cluster=cluster, ppe=ppe, area=area)
    _membership_check(member=member, valid_from=valid_from, code=ppe.code)
    ppe.save()
    area_verdicts_forget(cluster)
    PPEMembership.objects.create(ppe=ppe, member=member, valid_from=valid_from, valid_to=member.left_on)
    registry_changed_send(
        cluster_id=cluster.pk, start=valid_from, end=member.left_on, code="joining",
        detail=msg(gettext_noop("PPE %(code)s członka %(member)s od %(start)s"), code=ppe.code, member=member.name,
                   start=valid_from),
    )
    return ppe


def ppe_current_membership(*, ppe: MeteringPoint, on: dt.date | None = None) -> PPEMembership | None:
    """The membership valid on ``on`` (today by default), else the next one that starts later."""
    on = on or dt.date.today()
    open_ = ppe.memberships.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)).select_related("member")
    return open_.filter(valid_from__lte=on).order_by("-valid_from").first() or open_.order_by("valid_from").first()


@transaction.atomic
def ppe_update(*, ppe: MeteringPoint, data: Mapping[str, Any], valid_from: dt.date | None = None) -> MeteringPoint:
    """Change a PPE's data; ``valid_from`` moves the start of its current membership."""
    return _ppe_update(ppe=ppe, data=data, valid_from=valid_from, cluster=ppe.cluster, area=True)


def _ppe_update(
    *, ppe: MeteringPoint, data: Mapping[str, Any], valid_from: dt.date | None, cluster: Cluster, area: bool
) -> MeteringPoint:
    changed = [k for k in PPE_FIELDS if k in data and getattr(ppe, k) != data[k]]
    for k in PPE_FIELDS:
        if k in data:
            setattr(ppe, k, data[k])
    _ppe_validate(cluster=cluster, ppe=ppe, area=area)
    ppe.save()
    area_verdicts_forget(cluster)
    if valid_from is not None:
        membership = ppe_current_membership(ppe=ppe)
        if membership is not None and membership.valid_from != valid_from:
            _membership_check(member=membership.member, valid_from=valid_from, code=ppe.code)
            earlier = ppe.memberships.filter(valid_from__lt=membership.valid_from).order_by("-valid_from").first()
            if earlier is not None and (earlier.valid_to is None or earlier.valid_to >= valid_from):
                raise ValidationError(
                    {"valid_from": _("PPE %(code)s należał do %(member)s do %(end)s; nowa przynależność musi zacząć się później.")
                     % {"code": ppe.code, "member": earlier.member, "end": earlier.valid_to or "…"}}
                )
            registry_changed_send(
                cluster_id=ppe.cluster_id, start=min(valid_from, membership.valid_from), end=max(valid_from, membership.valid_from),
                code="membership",
                detail=msg(gettext_noop("PPE %(code)s: początek przynależności %(old)s → %(new)s"), code=ppe.code,
                           old=membership.valid_from, new=valid_from),
            )
            membership.valid_from = valid_from
            membership.save(update_fields=["valid_from"])
    if changed:
        # PPE data are not dated: the change applies to every period the PPE was settled in.
        registry_changed_send(
            cluster_id=ppe.cluster_id, start=None, end=None, code="ppe",
            detail=msg(gettext_noop("PPE %(code)s: zmienione pola %(fields)s"), code=ppe.code, fields=", ".join(changed)),
        )
    return ppe


@transaction.atomic
def ppe_transfer(*, ppe: MeteringPoint, to_member: Member, on: dt.date) -> PPEMembership:
    """Move a PPE to another member from ``on``: the old membership ends the day before."""
    if to_member.cluster_id != ppe.cluster_id:
        raise ValidationError(_("Członek %(member)s nie należy do klastra PPE %(code)s.") % {"member": to_member, "code": ppe.code})
    current = ppe_current_membership(ppe=ppe, on=on)
    if current is not None:
        if current.member_id == to_member.pk:
            raise ValidationError(_("PPE %(code)s już należy do %(member)s.") % {"code": ppe.code, "member": to_member})
        if current.valid_from >= on:
            raise ValidationError(
                _("PPE %(code)s należy do %(member)s od %(start)s; przeniesienie musi nastąpić później.")
                % {"code": ppe.code, "member": current.member, "start": current.valid_from}
            )
    if ppe.memberships.filter(valid_from__gt=on).exists():
        raise ValidationError(_("PPE %(code)s ma już zaplanowaną przynależność po %(on)s.") % {"code": ppe.code, "on": on})
    _membership_check(member=to_member, valid_from=on, code=ppe.code)
    if current is not None:
        current.valid_to = on - dt.timedelta(days=1)
        current.save(update_fields=["valid_to"])
    else:
        # The PPE left the cluster earlier: coming back must satisfy the area rule again.
        _ppe_validate(cluster=ppe.cluster, ppe=ppe)
    membership = PPEMembership.objects.create(ppe=ppe, member=to_member, valid_from=on, valid_to=to_member.left_on)
    _area_verdicts_forget_of(ppe)
    conditions_invalidate(cluster_ids=[ppe.cluster_id])
    registry_changed_send(
        cluster_id=ppe.cluster_id, start=on, end=None, code="transfer",
        detail=msg(gettext_noop("PPE %(code)s przeniesiony do %(member)s od %(on)s"), code=ppe.code,
                   member=to_member.name, on=on),
    )
    return membership


@transaction.atomic
def ppe_remove(*, ppe: MeteringPoint, on: dt.date) -> PPEMembership:
    """Take a PPE out of the cluster: its membership valid on ``on`` ends that day (``on`` is the last day)."""
    current = (
        ppe.memberships.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .select_related("member").first()
    )
    if current is None:
        raise ValidationError(
            {"on": _("PPE %(code)s nie należy do żadnego członka po %(on)s; nie ma czego zakończyć.")
             % {"code": ppe.code, "on": on}}
        )
    if ppe.memberships.filter(valid_from__gt=on).exists():
        raise ValidationError(
            {"on": _("PPE %(code)s ma już zaplanowaną przynależność po %(on)s; najpierw zmień tę przynależność.")
             % {"code": ppe.code, "on": on}}
        )
    old_end = current.valid_to
    current.valid_to = on
    current.save(update_fields=["valid_to"])
    _area_verdicts_forget_of(ppe)
    conditions_invalidate(cluster_ids=[ppe.cluster_id])
    registry_changed_send(
        cluster_id=ppe.cluster_id, start=on + dt.timedelta(days=1), end=old_end, code="membership",
        detail=msg(gettext_noop("PPE %(code)s usunięty z klastra; ostatni dzień %(on)s"), code=ppe.code, on=on),
    )
    return current


# --- installations --------------------------------------------------------------


def _installation_save(obj: Generator | StorageUnit, data: Mapping[str, Any], names: Sequence[str]) -> None:
    changed = obj.pk is None or any(k in data and getattr(obj, k) != data[k] for k in names)
    for k in names:
        if k in data:
            setattr(obj, k, data[k])
    obj.full_clean()
    obj.save()
    if changed:
        # Installations are not dated: renewable attribution and capacity figures of every period use them.
        registry_changed_send(
            cluster_id=obj.ppe.cluster_id, start=None, end=None, code="installation",
            detail=msg(gettext_noop("PPE %(code)s: %(name)s"), code=obj.ppe.code, name=obj.name),
        )


@transaction.atomic
def generator_create(*, ppe: MeteringPoint, data: Mapping[str, Any]) -> Generator:
    generator = Generator(ppe=ppe)
    _installation_save(generator, data, GENERATOR_FIELDS)
    return generator


@transaction.atomic
def generator_update(*, generator: Generator, data: Mapping[str, Any]) -> Generator:
    _installation_save(generator, data, GENERATOR_FIELDS)
    return generator


@transaction.atomic
def storage_create(*, ppe: MeteringPoint, data: Mapping[str, Any]) -> StorageUnit:
    unit = StorageUnit(ppe=ppe)
    _installation_save(unit, data, STORAGE_FIELDS)
    return unit


@transaction.atomic
def storage_update(*, storage: StorageUnit, data: Mapping[str, Any]) -> StorageUnit:
    _installation_save(storage, data, STORAGE_FIELDS)
    return storage


# --- one-page flows ------------------------------------------------------------


@dataclass(frozen=True)
class PPERow:
    """One PPE row of the member page: ``ppe`` is None for a new PPE."""

    data: Mapping[str, Any]
    valid_from: dt.date
    ppe: MeteringPoint | None = None


@dataclass(frozen=True)
class InstallationRow:
    """One generator or storage row: ``obj`` is None for a new one; ``delete`` removes it."""

    data: Mapping[str, Any]
    obj: Generator | StorageUnit | None = None
    delete: bool = False


@dataclass
class MemberSaveResult:
    member: Member
    created_ppes: list[MeteringPoint] = field(default_factory=list)


@transaction.atomic
def member_save_with_ppes(
    *, cluster: Cluster, member: Member | None, member_data: Mapping[str, Any], ppes: Sequence[PPERow]
) -> MemberSaveResult:
    """The member page in one transaction: the member, then each PPE row in order.

    The area rule is checked once for all rows together (two new rows that together
    break it are refused as well); on the member page the form reached the same
    verdict for the same rows moments earlier, and that verdict is reused.
    """
    candidates = [c for row in ppes if (c := _row_candidate(row)) is not None]
    checked = len(candidates) == len(ppes)
    if checked and candidates:
        area_validate_candidates(cluster=cluster, candidates=candidates)
    if member is None:
        member = member_create(cluster=cluster, data=member_data)
    else:
        member = member_update(member=member, data=member_data)
    result = MemberSaveResult(member=member)
    for row in ppes:
        # A row whose own data is wrong was left out above: its check below refuses it (or its area).
        if row.ppe is None:
            result.created_ppes.append(
                _ppe_create(cluster=cluster, member=member, data=row.data, valid_from=row.valid_from, area=not checked)
            )
        else:
            _ppe_update(ppe=row.ppe, data=row.data, valid_from=row.valid_from, cluster=cluster, area=not checked)
    area_verdicts_forget(cluster)
    conditions_invalidate(cluster_ids=[cluster.pk])
    return result


@transaction.atomic
def ppe_installations_save(
    *, ppe: MeteringPoint, generators: Sequence[InstallationRow], storage: Sequence[InstallationRow]
) -> tuple[int, int]:
    """Save the generator and storage rows of one PPE; returns how many of each the PPE has now."""
    for row in [*generators, *storage]:
        if row.obj is not None and row.delete:
            registry_changed_send(
                cluster_id=ppe.cluster_id, start=None, end=None, code="installation",
                detail=msg(gettext_noop("PPE %(code)s: usunięto %(name)s"), code=ppe.code, name=row.obj.name),
            )
    for row in generators:
        if row.obj is not None and row.delete:
            row.obj.delete()
        elif row.obj is not None:
            generator_update(generator=row.obj, data=row.data)  # type: ignore[arg-type]
        elif not row.delete:
            generator_create(ppe=ppe, data=row.data)
    for row in storage:
        if row.obj is not None and row.delete:
            row.obj.delete()
        elif row.obj is not None:
            storage_update(storage=row.obj, data=row.data)  # type: ignore[arg-type]
        elif not row.delete:
            storage_create(ppe=ppe, data=row.data)
    conditions_invalidate(cluster_ids=[ppe.cluster_id])
    return ppe.generators.count(), ppe.storage_units.count()


def gmina_resolve(text: str) -> Gmina:
    """A gmina from a TERC code, the portal's label ``Name (type, pow. X) [TERC]`` or ``Name (powiat)``."""
    text = (text or "").strip()
    match = re.search(r"\b(\d{7})\b", text)
    if match:
        gmina = Gmina.objects.filter(terc=match.group(1)).first()
        if gmina is None:
            raise ValidationError(_("Nie ma gminy o kodzie TERC %(terc)s.") % {"terc": match.group(1)})
        return gmina
    name, powiat = text, ""
    paren = re.fullmatch(r"(.+?)\s*\((.+)\)\s*", text)
    if paren:
        name, powiat = paren.group(1).strip(), paren.group(2).strip()
    # Case and diacritics folded ("lodz" finds Łódź); the exact spelling wins over namesakes (Miedźna, Miedzna).
    found = list(Gmina.objects.filter(search_text=polish_fold(name)))
    if powiat:
        p = polish_fold(powiat).removeprefix("pow.").strip()
        narrowed = [g for g in found if p in polish_fold(f"{g.type}, pow. {g.powiat_name}")]
        found = narrowed or found
    found = [g for g in found if g.name.casefold() == name.casefold()] or found
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValidationError(_("Nie znaleziono gminy „%(text)s”; podaj kod TERC (7 cyfr) lub wybierz z listy.") % {"text": text})
    raise ValidationError(
        _("Jest kilka gmin „%(text)s”: %(options)s; wybierz jedną z listy lub podaj kod TERC.")
        % {"text": text, "options": "; ".join(str(g) for g in found[:6])}
    )
