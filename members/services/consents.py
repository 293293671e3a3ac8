"""Consents: the meter-data authorisation and the privacy notice a member confirms.

A text is in force for its kind from its ``valid_from``; the newest in force
wins. A member must have confirmed every text in force before using the
portal; a newer version asks again. The coordinator sees who has not
confirmed, and which PPEs of a settlement belong to members with no
meter-data authorisation of any version on record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Cluster, Consent, ConsentText, Member, PPEMembership


def consent_texts_in_force(*, at: dt.datetime | None = None) -> QuerySet[ConsentText]:
    """The text in force for each kind at ``at`` (now by default): one query."""
    at = at or timezone.now()
    newest = (
        ConsentText.objects.filter(kind=OuterRef("kind"), valid_from__lte=at)
        .order_by("-valid_from", "-pk")
        .values("pk")[:1]
    )
    return ConsentText.objects.filter(valid_from__lte=at, pk=Subquery(newest)).order_by("kind")


def consent_texts_missing(*, member: Member, at: dt.datetime | None = None) -> list[ConsentText]:
    """Texts in force the member has not confirmed yet (one query)."""
    return list(consent_texts_in_force(at=at).exclude(consents__member=member))


def member_for_user_with_consents(*, user: AbstractBaseUser, at: dt.datetime | None = None) -> Member | None:
    """``member_for_user`` in one query, annotated ``consents_pending``: a text in force it has not confirmed."""
    if not user.is_authenticated:
        return None
    confirmed = Consent.objects.filter(text=OuterRef("pk"), member=OuterRef(OuterRef("pk")))
    pending = consent_texts_in_force(at=at).exclude(Exists(confirmed))
    return (
        Member.objects.select_related("cluster").filter(user_id=user.pk)
        .annotate(consents_pending=Exists(pending)).first()
    )


@transaction.atomic
def consents_accept(
    *, member: Member, user: User, text_ids: Iterable[int], at: dt.datetime | None = None
) -> list[Consent]:
    """Record the member's confirmation of exactly the texts in force it has not confirmed.

    ``text_ids`` are the texts the member was shown; if a text in force is
    missing from them (a newer version came into force meanwhile), nothing is
    saved and the error names the text.
    """
    at = at or timezone.now()
    shown = set(text_ids)
    missing = consent_texts_missing(member=member, at=at)
    stale = [t for t in missing if t.pk not in shown]
    if stale:
        raise ValidationError(
            _("Treść „%(title)s” (wersja %(version)s) nie została potwierdzona: potwierdź wszystkie obowiązujące "
              "treści.") % {"title": stale[0].title, "version": stale[0].version}
        )
    # get_or_create: a second submission racing the first records nothing twice.
    return [
        Consent.objects.get_or_create(member=member, text=t, defaults={"accepted_at": at, "accepted_by": user})[0]
        for t in missing
    ]


def consent_status_for_cluster(*, cluster: Cluster, at: dt.datetime | None = None) -> dict[str, Any]:
    """Each current member of ``cluster`` with, per text in force, its confirmation or None.

    Three queries whatever the number of members: texts, members, consents.
    """
    texts = list(consent_texts_in_force(at=at))
    members = list(Member.objects.filter(cluster=cluster, left_on__isnull=True).select_related("user").order_by("name"))
    accepted: dict[tuple[int, int], Consent] = {}
    authorised: set[int] = set()
    for consent in Consent.objects.filter(member__cluster=cluster).select_related("text", "accepted_by"):
        key = (consent.member_id, consent.text_id)
        accepted[key] = consent
        if consent.text.kind == ConsentText.Kind.METER_DATA:
            authorised.add(consent.member_id)
    rows = []
    for member in members:
        cells = [accepted.get((member.pk, t.pk)) for t in texts]
        rows.append({"member": member, "consents": cells, "complete": all(cells),
                     "authorised": member.pk in authorised})
    return {"texts": texts, "rows": rows, "pending": sum(1 for r in rows if not r["complete"])}


def ppes_without_authorisation(*, member_ids: Iterable[int], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """PPEs of ``member_ids`` within ``[start, end]`` whose member has no meter-data authorisation of any version.

    Two queries: the authorised members, the memberships.
    """
    ids = set(member_ids)
    authorised = set(
        Consent.objects.filter(member_id__in=ids, text__kind=ConsentText.Kind.METER_DATA).values_list("member_id", flat=True)
    )
    missing = ids - authorised
    if not missing:
        return []
    memberships = (
        PPEMembership.objects.filter(member_id__in=missing, valid_from__lte=end)
        .exclude(valid_to__lt=start)
        .select_related("ppe", "member")
        .order_by("member__name", "ppe__code")
    )
    seen: set[tuple[int, int]] = set()
    out = []
    for m in memberships:
        if (m.member_id, m.ppe_id) not in seen:
            seen.add((m.member_id, m.ppe_id))
            out.append({"member": m.member, "ppe": m.ppe})
    return out
