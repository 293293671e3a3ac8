"""Safe registry actions: leaving, transfer, PPE removal and membership dates, recorded and undoable.

Each ``registry_action_*`` calls the registry service and records a
``RegistryAction`` with exactly the fields it changed (``before``/``after``) in
the same transaction. ``dry_run=True`` does the same inside a transaction that is
rolled back and returns the unsaved action: the confirmation page shows what
would change, and the service's own checks refuse bad input before anything is
written.

``registry_action_undo`` restores ``before`` and records the reversal as an
action of its own. It refuses when the action was undone already, when the
fields it changed have changed since (a later action or any other edit), or when
statements of the cluster were published after it: a published statement must
never stop matching the registry silently (issue 9). The settlement side answers
through ``members.signals`` (members imports nothing from reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.models import Member, MeteringPoint, PPEMembership, RegistryAction
from members.services.datastamp import conditions_invalidate
from members.services.memberships import ppe_code_one_cluster_validate
from members.services.registry import member_leave, ppe_current_membership, ppe_remove, ppe_transfer
from members.signals import registry_change_preview_ask, registry_changed_send, registry_published_since_ask
from okeportal.messages import msg

Kind = RegistryAction.Kind
State = dict[str, dict[str, Any]]

# The outdated-run reason (reports.models.RunOutdatedReason.Code) each kind records.
KIND_CODES = {Kind.LEAVE: "leaving", Kind.TRANSFER: "transfer", Kind.REMOVE: "membership", Kind.MEMBERSHIP_DATES: "membership"}
MEMBERSHIP_FIELDS = ("ppe", "member", "valid_from", "valid_to")
_DATE_FIELDS = frozenset({"valid_from", "valid_to", "left_on"})


def _day_or_open(value: dt.date | str | None) -> dt.date | str:
    """A membership end for a stored message: the day (shown in the reader's format), or "…" when open."""
    if value is None:
        return "…"
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _fmt(value: dt.date | str | None) -> str:
    if value is None:
        return "…"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value.strftime("%d.%m.%Y")


# --- state: the rows an action may change, as JSON ----------------------------------


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _state(*, cluster_id: int, member_ids: Iterable[int], ppe_ids: Iterable[int]) -> State:
    member_ids, ppe_ids = set(member_ids), set(ppe_ids)
    members = {
        str(pk): {"left_on": _iso(left_on)}
        for pk, left_on in Member.objects.filter(cluster_id=cluster_id, pk__in=member_ids).values_list("pk", "left_on")
    }
    memberships = {
        str(pk): {"ppe": ppe, "member": member, "valid_from": _iso(start), "valid_to": _iso(end)}
        for pk, ppe, member, start, end in PPEMembership.objects.filter(ppe__cluster_id=cluster_id)
        .filter(Q(ppe_id__in=ppe_ids) | Q(member_id__in=member_ids))
        .values_list("pk", "ppe_id", "member_id", "valid_from", "valid_to")
    }
    return {"members": members, "memberships": memberships}


def _diff(old: State, new: State) -> tuple[State, State]:
    """Only what changed: changed fields of a row, or the whole row (None on the other side) when it appears or goes."""
    before: State = {"members": {}, "memberships": {}}
    after: State = {"members": {}, "memberships": {}}
    for table in ("members", "memberships"):
        for pk in old[table].keys() | new[table].keys():
            a, b = old[table].get(pk), new[table].get(pk)
            if a is None or b is None:
                if a != b:
                    before[table][pk], after[table][pk] = a, b
                continue
            changed = [k for k in a if a[k] != b[k]]
            if changed:
                before[table][pk] = {k: a[k] for k in changed}
                after[table][pk] = {k: b[k] for k in changed}
    return before, after


def _scope(*states: State) -> tuple[set[int], set[int]]:
    """Member and PPE ids the states mention (a membership's ppe and member included)."""
    member_ids: set[int] = set()
    ppe_ids: set[int] = set()
    for state in states:
        member_ids.update(int(pk) for pk in state.get("members", {}))
        for row in state.get("memberships", {}).values():
            if row and "ppe" in row:
                ppe_ids.add(row["ppe"])
                member_ids.add(row["member"])
    return member_ids, ppe_ids


def _membership_ids(action: RegistryAction) -> set[int]:
    return {int(pk) for pk in action.before.get("memberships", {})}


def _current_scope(actions: Iterable[RegistryAction]) -> tuple[set[int], set[int], set[int]]:
    member_ids: set[int] = set()
    ppe_ids: set[int] = set()
    membership_ids: set[int] = set()
    for action in actions:
        m, p = _scope(action.before, action.after)
        member_ids |= m
        ppe_ids |= p
        membership_ids |= _membership_ids(action)
    # Memberships named only by pk (a changed date) belong to a PPE: include it.
    ppe_ids |= set(PPEMembership.objects.filter(pk__in=membership_ids).values_list("ppe_id", flat=True))
    return member_ids, ppe_ids, membership_ids


def _period(before: State, after: State, *, cluster_id: int) -> tuple[dt.date | None, dt.date | None, bool]:
    """The days whose membership or leaving date changed: (start, end, anything); None = open-ended."""
    starts: list[dt.date] = []
    ends: list[dt.date | None] = []

    def interval(row: dict[str, Any] | None, pk: str) -> tuple[dt.date, dt.date | None] | None:
        if row is None:
            return None
        if "valid_from" not in row or "valid_to" not in row:
            # A changed row holds only the changed fields: the others are as the row is now.
            row = {**_membership_row(int(pk), cluster_id=cluster_id), **row}
            if not row.get("valid_from"):
                return None
        end = row.get("valid_to")
        return dt.date.fromisoformat(row["valid_from"]), (dt.date.fromisoformat(end) if end else None)

    for pk in before["memberships"].keys() | after["memberships"].keys():
        a, b = interval(before["memberships"].get(pk), pk), interval(after["memberships"].get(pk), pk)
        if a is None or b is None:
            only = a or b
            if only is not None:
                starts.append(only[0])
                ends.append(only[1])
            continue
        (of, ot), (nf, nt) = a, b
        if of != nf:
            starts.append(min(of, nf))
        else:
            starts.append(min(d for d in (ot, nt) if d is not None) + dt.timedelta(days=1))
        if ot != nt:
            ends.append(None if ot is None or nt is None else max(ot, nt))
        else:
            ends.append(max(of, nf) - dt.timedelta(days=1))
    for pk, old in before["members"].items():
        # A leaving date (set, moved or cleared) reaches every day after the earlier of the two.
        dates = [d for d in ((old or {}).get("left_on"), (after["members"].get(pk) or {}).get("left_on")) if d]
        if dates:
            starts.append(dt.date.fromisoformat(min(dates)) + dt.timedelta(days=1))
            ends.append(None)
    if not starts:
        return None, None, False
    end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
    return min(starts), end, True


def _membership_row(pk: int, *, cluster_id: int) -> dict[str, Any]:
    row = PPEMembership.objects.filter(ppe__cluster_id=cluster_id, pk=pk).values("valid_from", "valid_to").first()
    return {} if row is None else {"valid_from": _iso(row["valid_from"]), "valid_to": _iso(row["valid_to"])}


# --- recording ------------------------------------------------------------------------


class _DryRunDoneError(Exception):
    def __init__(self, action: RegistryAction) -> None:
        self.action = action


def _record(
    *, kind: str, cluster_id: int, user: User | None, member: Member | None, ppe: MeteringPoint | None,
    to_member: Member | None = None, member_ids: Iterable[int], ppe_ids: Iterable[int], apply: Callable[[], Any],
    summary: str, dry_run: bool, touched: Iterable[Model] = (),
) -> RegistryAction:
    member_ids, ppe_ids = set(member_ids), set(ppe_ids)

    def run() -> RegistryAction:
        old = _state(cluster_id=cluster_id, member_ids=member_ids, ppe_ids=ppe_ids)
        apply()
        before, after = _diff(old, _state(cluster_id=cluster_id, member_ids=member_ids, ppe_ids=ppe_ids))
        action = RegistryAction(
            cluster_id=cluster_id, kind=kind, member=member, to_member=to_member, ppe=ppe, before=before, after=after,
            summary=summary[:300], created_by=user if user is not None and user.is_authenticated else None,
        )
        if dry_run:
            # Computed against the changed rows; the transaction is rolled back below.
            action._preview_period = _period(before, after, cluster_id=cluster_id)  # type: ignore[attr-defined]
            raise _DryRunDoneError(action)
        action.save()
        return action

    try:
        with transaction.atomic():
            return run()
    except _DryRunDoneError as done:
        # The services set attributes on the objects they were given; the rows were rolled back.
        for obj in touched:
            obj.refresh_from_db()
        return done.action


def registry_action_leave(*, member: Member, on: dt.date, user: User | None, dry_run: bool = False) -> RegistryAction:
    """The member leaves with ``on`` as its last day (``member_leave``), recorded."""
    return _record(
        kind=Kind.LEAVE, cluster_id=member.cluster_id, user=user, member=member, ppe=None,
        member_ids={member.pk}, ppe_ids=set(), apply=lambda: member_leave(member=member, on=on), dry_run=dry_run,
        touched=[member],
        summary=_("%(member)s wystąpił z klastra; ostatni dzień %(on)s") % {"member": member.name, "on": _fmt(on)},
    )


def registry_action_transfer(
    *, ppe: MeteringPoint, to_member: Member, on: dt.date, user: User | None, dry_run: bool = False
) -> RegistryAction:
    """The PPE belongs to ``to_member`` from ``on`` (``ppe_transfer``), recorded."""
    current = ppe_current_membership(ppe=ppe, on=on)
    return _record(
        kind=Kind.TRANSFER, cluster_id=ppe.cluster_id, user=user, member=current.member if current else None, ppe=ppe,
        to_member=to_member, member_ids={to_member.pk} | ({current.member_id} if current else set()), ppe_ids={ppe.pk},
        apply=lambda: ppe_transfer(ppe=ppe, to_member=to_member, on=on), dry_run=dry_run,
        summary=_("PPE %(code)s przeniesiony do %(member)s od %(on)s") % {"code": ppe.code, "member": to_member.name, "on": _fmt(on)},
    )


def registry_action_remove(*, ppe: MeteringPoint, on: dt.date, user: User | None, dry_run: bool = False) -> RegistryAction:
    """The PPE leaves the cluster with ``on`` as its last day (``ppe_remove``), recorded."""
    current = ppe.memberships.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on)).first()
    return _record(
        kind=Kind.REMOVE, cluster_id=ppe.cluster_id, user=user, member=current.member if current else None, ppe=ppe,
        member_ids=set(), ppe_ids={ppe.pk}, apply=lambda: ppe_remove(ppe=ppe, on=on), dry_run=dry_run,
        summary=_("PPE %(code)s usunięty z klastra; ostatni dzień %(on)s") % {"code": ppe.code, "on": _fmt(on)},
    )


def registry_action_membership_dates(
    *, membership: PPEMembership, valid_from: dt.date, valid_to: dt.date | None, user: User | None,
    dry_run: bool = False,
) -> RegistryAction:
    """Move the start and end of one membership (``ppe_membership_dates_change``), recorded."""
    ppe = membership.ppe
    return _record(
        kind=Kind.MEMBERSHIP_DATES, cluster_id=ppe.cluster_id, user=user, member=membership.member, ppe=ppe,
        member_ids=set(), ppe_ids={ppe.pk}, dry_run=dry_run, touched=[membership],
        apply=lambda: ppe_membership_dates_change(membership=membership, valid_from=valid_from, valid_to=valid_to),
        summary=_("PPE %(code)s, %(member)s: przynależność %(old_from)s – %(old_to)s → %(new_from)s – %(new_to)s")
        % {"code": ppe.code, "member": membership.member.name, "old_from": _fmt(membership.valid_from),
           "old_to": _fmt(membership.valid_to), "new_from": _fmt(valid_from), "new_to": _fmt(valid_to)},
    )


@transaction.atomic
def ppe_membership_dates_change(*, membership: PPEMembership, valid_from: dt.date, valid_to: dt.date | None) -> PPEMembership:
    """Move a membership's dates, checked like a new membership (member's dates, other memberships, one cluster)."""
    ppe, member = membership.ppe, membership.member
    if (membership.valid_from, membership.valid_to) == (valid_from, valid_to):
        raise ValidationError({"valid_from": _("PPE %(code)s: podane daty są takie same jak obecne.") % {"code": ppe.code}})
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(
            {"valid_to": _("PPE %(code)s: koniec przynależności %(end)s jest przed jej początkiem %(start)s.")
             % {"code": ppe.code, "end": _fmt(valid_to), "start": _fmt(valid_from)}}
        )
    if valid_from < member.joined_on:
        raise ValidationError(
            {"valid_from": _("PPE %(code)s: przynależność od %(start)s zaczyna się przed przystąpieniem członka (%(joined)s).")
             % {"code": ppe.code, "start": _fmt(valid_from), "joined": _fmt(member.joined_on)}}
        )
    if member.left_on is not None and (valid_to is None or valid_to > member.left_on):
        raise ValidationError(
            {"valid_to": _("PPE %(code)s: członek %(member)s wystąpił z klastra %(left)s; przynależność musi skończyć się najpóźniej tego dnia.")
             % {"code": ppe.code, "member": member.name, "left": _fmt(member.left_on)}}
        )
    overlapping = ppe.memberships.exclude(pk=membership.pk).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
    if valid_to is not None:
        overlapping = overlapping.filter(valid_from__lte=valid_to)
    other = overlapping.select_related("member").order_by("valid_from").first()
    if other is not None:
        raise ValidationError(
            {"valid_from": _("PPE %(code)s należy w okresie %(start)s – %(end)s do %(member)s; okresy przynależności nie mogą się nakładać.")
             % {"code": ppe.code, "start": _fmt(other.valid_from), "end": _fmt(other.valid_to), "member": other.member.name}}
        )
    ppe_code_one_cluster_validate(code=ppe.code, cluster_id=ppe.cluster_id, valid_from=valid_from, valid_to=valid_to)
    old = {"valid_from": _iso(membership.valid_from), "valid_to": _iso(membership.valid_to)}
    membership.valid_from, membership.valid_to = valid_from, valid_to
    membership.save(update_fields=["valid_from", "valid_to"])
    new = {"valid_from": _iso(valid_from), "valid_to": _iso(valid_to)}
    start, end, _changed = _period(
        {"members": {}, "memberships": {str(membership.pk): old}},
        {"members": {}, "memberships": {str(membership.pk): new}}, cluster_id=ppe.cluster_id,
    )
    conditions_invalidate(cluster_ids=[ppe.cluster_id])
    registry_changed_send(
        cluster_id=ppe.cluster_id, start=start, end=end, code="membership",
        detail=msg(gettext_noop("PPE %(code)s: przynależność %(old_from)s – %(old_to)s → %(new_from)s – %(new_to)s"),
                   code=ppe.code, old_from=_day_or_open(old["valid_from"]), old_to=_day_or_open(old["valid_to"]),
                   new_from=valid_from, new_to=_day_or_open(valid_to)),
    )
    return membership


# --- what an action changes, for people ------------------------------------------------


@dataclass(frozen=True)
class ChangeLine:
    """One changed thing: a member's leaving date or one PPE membership."""

    subject: str
    old: str
    new: str


def registry_action_lines(*, before: State, after: State) -> list[ChangeLine]:
    """The change in words: "PPE 590…, Członek: przynależność 01.01.2024 – … → 01.01.2024 – 30.06.2025"."""
    return registry_actions_lines(changes=[(before, after)])[0]


def registry_actions_lines(*, changes: list[tuple[State, State]]) -> list[list[ChangeLine]]:
    """``registry_action_lines`` for many (before, after) pairs in three queries."""
    member_ids: set[int] = set()
    ppe_ids: set[int] = set()
    membership_pks: set[int] = set()
    for before, after in changes:
        m, p = _scope(before, after)
        member_ids |= m
        ppe_ids |= p
        membership_pks |= {int(k) for k in before["memberships"]}
    membership_rows: dict[str, dict[str, Any]] = {
        str(pk): {"ppe": p, "member": m, "valid_from": _iso(f), "valid_to": _iso(t)}
        for pk, p, m, f, t in PPEMembership.objects.filter(pk__in=membership_pks)
        .values_list("pk", "ppe_id", "member_id", "valid_from", "valid_to")
    }
    for row in membership_rows.values():
        member_ids.add(row["member"])
        ppe_ids.add(row["ppe"])
    # looked up by ids read from stored JSON, which may be missing: .get(…, "?")
    names: dict[Any, str] = dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "name"))
    codes: dict[Any, str] = dict(MeteringPoint.objects.filter(pk__in=ppe_ids).values_list("pk", "code"))

    def period(row: dict[str, Any] | None) -> str:
        return "—" if row is None else f"{_fmt(row['valid_from'])} – {_fmt(row['valid_to'])}"

    result: list[list[ChangeLine]] = []
    for before, after in changes:
        lines: list[ChangeLine] = []
        for pk, old in sorted(before["members"].items()):
            new = after["members"].get(pk) or {}
            lines.append(ChangeLine(
                subject=_("%(member)s: data wystąpienia") % {"member": names.get(int(pk), pk)},
                old=_fmt(old.get("left_on")) if old and old.get("left_on") else "—",
                new=_fmt(new.get("left_on")) if new.get("left_on") else "—",
            ))
        for pk in sorted(before["memberships"].keys() | after["memberships"].keys(), key=int):
            old, new = before["memberships"].get(pk), after["memberships"].get(pk)
            base = membership_rows.get(pk) or old or new or {}
            full_old = None if old is None else {**base, **old}
            full_new = None if new is None else {**base, **new}
            ref = full_old or full_new or {}
            lines.append(ChangeLine(
                subject=_("PPE %(code)s, %(member)s: przynależność")
                % {"code": codes.get(ref.get("ppe"), "?"), "member": names.get(ref.get("member"), "?")},
                old=period(full_old), new=period(full_new),
            ))
        result.append(lines)
    return result


def registry_action_affected_runs(*, action: RegistryAction) -> list[dict]:
    """Finished settlement runs the action makes (or made) outdated: period, version, published."""
    start, end, changed = getattr(action, "_preview_period", None) or _period(
        action.before, action.after, cluster_id=action.cluster_id
    )
    if not changed:
        return []
    return registry_change_preview_ask(cluster_id=action.cluster_id, start=start, end=end)


# --- undo ----------------------------------------------------------------------------


def _changed_since(action: RegistryAction, members: dict[int, dict[str, Any]], memberships: dict[int, dict[str, Any]]) -> bool:
    """The rows no longer hold what the action wrote (edited since, by anything)."""
    for pk, fields in action.after.get("members", {}).items():
        row = members.get(int(pk))
        if row is None or any(row.get(k) != v for k, v in (fields or {}).items()):
            return True
    for pk, fields in action.after.get("memberships", {}).items():
        row = memberships.get(int(pk))
        if fields is None:
            if row is not None:
                return True
        elif row is None or any(row.get(k) != v for k, v in fields.items()):
            return True
    return False


def registry_actions_undo_refusals(*, actions: list[RegistryAction]) -> dict[int, str | None]:
    """Why each action cannot be undone now (None = it can); a fixed number of queries for any number of actions."""
    refusals: dict[int, str | None] = {}
    saved = [a for a in actions if a.pk is not None]
    if not saved:
        return refusals
    cluster_id = saved[0].cluster_id
    oldest = min(a.created_at for a in saved)
    published = registry_published_since_ask(cluster_id=cluster_id, since=oldest)
    member_ids, ppe_ids, membership_ids = _current_scope(saved)
    members = {
        pk: {"left_on": _iso(left)} for pk, left in Member.objects.filter(pk__in=member_ids).values_list("pk", "left_on")
    }
    memberships = {
        pk: {"ppe": p, "member": m, "valid_from": _iso(f), "valid_to": _iso(t)}
        for pk, p, m, f, t in PPEMembership.objects.filter(Q(pk__in=membership_ids) | Q(ppe_id__in=ppe_ids))
        .values_list("pk", "ppe_id", "member_id", "valid_from", "valid_to")
    }
    later = list(
        RegistryAction.objects.filter(cluster_id=cluster_id, created_at__gte=oldest, reversed_at__isnull=True)
        .filter(reversal_of__isnull=True).only("pk", "created_at", "before", "after", "summary")
    )
    for action in saved:
        refusals[action.pk] = _refusal(action, published, members, memberships, later)
    return refusals


def _refusal(
    action: RegistryAction, published: list[dict], members: dict[int, dict[str, Any]],
    memberships: dict[int, dict[str, Any]], later: list[RegistryAction],
) -> str | None:
    if action.reversal_of_id is not None:
        return _("To jest cofnięcie innej akcji; aby je odwrócić, wykonaj tę akcję ponownie.")
    if action.reversed_at is not None:
        return _("Akcja została już cofnięta %(at)s.") % {"at": timezone.localtime(action.reversed_at).strftime("%d.%m.%Y %H:%M")}
    after_it = [p for p in published if p["published_at"] > action.created_at]
    if after_it:
        first = after_it[0]
        return _(
            "Po tej akcji opublikowano informacje dla członków (rozliczenie %(start)s – %(end)s, wersja %(version)s, %(at)s); "
            "cofnięcie zmieniłoby dane, na których się opierają. Wprowadź zmianę jako nową akcję."
        ) % {"start": _fmt(first["period_start"]), "end": _fmt(first["period_end"]), "version": first["version"],
             "at": timezone.localtime(first["published_at"]).strftime("%d.%m.%Y %H:%M")}
    mine_members, mine_ppes = _scope(action.before, action.after)
    mine_memberships = _membership_ids(action) | {int(pk) for pk in action.after.get("memberships", {})}
    for other in later:
        if other.pk == action.pk or (other.created_at, other.pk) < (action.created_at, action.pk):
            continue
        o_members, o_ppes = _scope(other.before, other.after)
        o_memberships = _membership_ids(other) | {int(pk) for pk in other.after.get("memberships", {})}
        if (o_members & mine_members) or (o_ppes & mine_ppes) or (o_memberships & mine_memberships):
            return _("Później wykonano akcję dotyczącą tego samego członka lub PPE (%(summary)s); najpierw cofnij ją.") % {
                "summary": other.summary
            }
    if _changed_since(action, members, memberships):
        return _("Dane zmienione przez tę akcję zmieniono później w inny sposób (edycja lub import rejestru); cofnięcie nadpisałoby tę zmianę.")
    return None


def _parse(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (dt.date.fromisoformat(v) if k in _DATE_FIELDS and v else v) for k, v in fields.items()}


def _restore(state: State, *, cluster_id: int) -> None:
    """Write ``state`` back (instance saves, so the field history records who undid what)."""
    for pk, fields in state.get("members", {}).items():
        member = Member.objects.get(cluster_id=cluster_id, pk=int(pk))
        for k, v in _parse(fields).items():
            setattr(member, k, v)
        member.save(update_fields=list(fields))
    rows = state.get("memberships", {})
    # Remove first, then widen or create: a restored period may need the room a removed row held.
    for pk, fields in rows.items():
        if fields is None:
            PPEMembership.objects.get(ppe__cluster_id=cluster_id, pk=int(pk)).delete()
    for pk, fields in rows.items():
        if fields is None:
            continue
        values = _parse(fields)
        membership = PPEMembership.objects.select_related("ppe").filter(ppe__cluster_id=cluster_id, pk=int(pk)).first()
        if membership is None:
            membership = PPEMembership(pk=int(pk), ppe_id=values.pop("ppe"), member_id=values.pop("member"), **values)
            membership.ppe = MeteringPoint.objects.get(cluster_id=cluster_id, pk=membership.ppe_id)
        else:
            for k, v in values.items():
                setattr(membership, k if k not in ("ppe", "member") else f"{k}_id", v)
        ppe_code_one_cluster_validate(
            code=membership.ppe.code, cluster_id=cluster_id, valid_from=membership.valid_from, valid_to=membership.valid_to
        )
        membership.save()


@transaction.atomic
def registry_action_undo(*, action: RegistryAction, user: User | None) -> RegistryAction:
    """Restore exactly what the action changed; the reversal is recorded as an action of its own."""
    action = RegistryAction.objects.select_for_update().get(pk=action.pk, cluster_id=action.cluster_id)
    member_ids, ppe_ids, _ids = _current_scope([action])
    # Lock the rows to restore before checking they still hold what the action wrote, so a
    # concurrent edit either finishes first (and the check sees it) or waits for the undo.
    list(Member.objects.select_for_update().filter(cluster_id=action.cluster_id, pk__in=member_ids).values_list("pk"))
    list(
        PPEMembership.objects.select_for_update()
        .filter(ppe__cluster_id=action.cluster_id)
        .filter(Q(ppe_id__in=ppe_ids) | Q(member_id__in=member_ids))
        .values_list("pk")
    )
    refusal = registry_actions_undo_refusals(actions=[action])[action.pk]
    if refusal is not None:
        raise ValidationError(_("Nie można cofnąć akcji „%(summary)s”: %(reason)s") % {"summary": action.summary, "reason": refusal})
    old = _state(cluster_id=action.cluster_id, member_ids=member_ids, ppe_ids=ppe_ids)
    _restore(action.before, cluster_id=action.cluster_id)
    before, after = _diff(old, _state(cluster_id=action.cluster_id, member_ids=member_ids, ppe_ids=ppe_ids))
    who = user if user is not None and user.is_authenticated else None
    reversal = RegistryAction.objects.create(
        cluster_id=action.cluster_id, kind=action.kind, member_id=action.member_id, to_member_id=action.to_member_id,
        ppe_id=action.ppe_id, before=before, after=after, reversal_of=action, created_by=who,
        summary=(_("Cofnięcie: %(summary)s") % {"summary": action.summary})[:300],
    )
    action.reversed_at, action.reversed_by = reversal.created_at, who
    action.save(update_fields=["reversed_at", "reversed_by"])
    conditions_invalidate(cluster_ids=[action.cluster_id])
    start, end, changed = _period(before, after, cluster_id=action.cluster_id)
    if changed:
        registry_changed_send(
            cluster_id=action.cluster_id, start=start, end=end, code=KIND_CODES[Kind(action.kind)],
            detail=msg(gettext_noop("cofnięto: %(summary)s"), summary=action.summary),
        )
    return reversal
