"""The cluster's area of operation (obszar działania klastra energii).

Art. 2 pkt 15a and art. 38a ust. 4 ustawy o OZE: the area is set by the places where the
members' installations connect to the distribution grid of **one DSO** at a
rated voltage **below 110 kV**, and may not exceed **one powiat** or **five
gminas that neighbour each other**. "Neighbour each other" is read as: the
set of gminas is connected by shared borders (``Gmina.neighbours``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from members.legal import AREA_RULE, AREA_RULE_TEXT
from members.models import DSO, VOLTAGE_LEVELS_BELOW_110KV, Cluster, Gmina, MeteringPoint, VoltageLevel
from okeportal.messages import msg_str

MAX_GMINAS = 5
RULE = AREA_RULE
RULE_SOURCE = AREA_RULE_TEXT  # stored messages name the rule by its source text (``rule_label``)


@dataclass(frozen=True)
class PPECandidate:
    code: str
    gmina: Gmina
    dso: DSO
    voltage_level: str
    ppe_id: int | None = None


@dataclass
class AreaResult:
    ok: bool
    errors: list[str]
    mode: Literal["powiat", "gminas", "empty"]
    explanation: str
    gminas: list[Gmina] = field(default_factory=list)
    powiats: list[str] = field(default_factory=list)


def gmina_label(gmina: Gmina) -> str:
    return f"{gmina.name} [{gmina.terc}]"


def powiat_locative(gmina: Gmina) -> str:
    """"w powiecie mikołowskim" / "w mieście na prawach powiatu Żory"."""
    name = gmina.powiat_name
    if name[:1].isupper():
        return _("w mieście na prawach powiatu %(name)s") % {"name": name}
    # Polish puts the adjective in the locative ("mikołowski" → "mikołowskim"); other languages take the name as is.
    if translation.get_language() == "pl" and name.endswith(("i", "y")):
        name += "m"
    return _("w powiecie %(name)s") % {"name": name}


def cluster_area_ppes(*, cluster: Cluster, on: dt.date | None = None) -> list[MeteringPoint]:
    """PPEs that set the area: a membership not ended by ``on`` (today or later), or no membership yet."""
    on = on or timezone.localdate()
    return list(
        MeteringPoint.objects.filter(cluster=cluster)
        .filter(
            Q(memberships__isnull=True) | Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=on)
        )
        .select_related("gmina", "dso")
        .distinct()
    )


def _connected(tercs: set[str]) -> list[set[str]]:
    """Connected components of the gminas by shared borders."""
    through = Gmina.neighbours.through
    links = through.objects.filter(from_gmina_id__in=tercs, to_gmina_id__in=tercs).values_list(
        "from_gmina_id", "to_gmina_id"
    )
    graph: dict[str, set[str]] = {t: set() for t in tercs}
    for a, b in links:
        graph[a].add(b)
        graph[b].add(a)
    components: list[set[str]] = []
    seen: set[str] = set()
    for start in sorted(tercs):
        if start in seen:
            continue
        stack, part = [start], set()
        while stack:
            node = stack.pop()
            if node in part:
                continue
            part.add(node)
            stack.extend(graph[node] - part)
        seen |= part
        components.append(part)
    return components


def _core(points: list[PPECandidate], existing: set[str], components: list[set[str]], n_gminas: int) -> set[str]:
    """The gminas a refusal is measured against: blame the PPEs outside them.

    The stored PPEs when there are any; for a fresh set (an import) the
    powiat (too many gminas) or the connected group (gminas that don't
    touch) holding most PPEs.
    """
    if existing:
        return existing
    weight: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, p in enumerate(points):
        weight[p.gmina.terc] = weight.get(p.gmina.terc, 0) + 1
        first.setdefault(p.gmina.terc, i)
    if n_gminas > MAX_GMINAS:
        groups = [{t for t in weight if t[:4] == powiat} for powiat in {t[:4] for t in weight}]
    else:
        groups = components
    # Most PPEs wins; on a tie the group listed first, so the later row is the one refused.
    return max(groups, key=lambda part: (sum(weight[t] for t in part), -min(first[t] for t in part)))


def area_check(
    *,
    cluster: Cluster,
    candidates: Sequence[PPECandidate] = (),
    exclude_ppe_ids: Collection[int] = (),
    on: dt.date | None = None,
) -> AreaResult:
    """Check the cluster's current PPEs plus ``candidates`` against the area rule.

    A candidate with ``ppe_id`` replaces that stored PPE (an edit);
    ``exclude_ppe_ids`` drops stored PPEs (a PPE leaving or being deleted).
    """
    replaced = {c.ppe_id for c in candidates if c.ppe_id is not None}
    skip = set(exclude_ppe_ids) | replaced
    points: list[PPECandidate] = [
        PPECandidate(code=p.code, gmina=p.gmina, dso=p.dso, voltage_level=p.voltage_level, ppe_id=p.pk)
        for p in cluster_area_ppes(cluster=cluster, on=on)
        if p.pk not in skip
    ]
    existing_tercs = {p.gmina.terc for p in points}
    points.extend(candidates)
    errors: list[str] = []
    # Stored PPEs are reported only when no candidate is given or they are themselves wrong.
    for p in points:
        if p.dso.pk != cluster.dso_id:
            errors.append(
                msg_str(
                    gettext_noop(
                        "PPE %(code)s (gmina %(gmina)s) jest przyłączony do sieci %(dso)s, a klaster działa w sieci "
                        "%(cluster_dso)s: wszystkie PPE klastra muszą być przyłączone do sieci jednego OSD (%(rule_label)s)."
                    ),
                    code=p.code, gmina=gmina_label(p.gmina), dso=p.dso.name, cluster_dso=cluster.dso.name,
                    rule_label=RULE_SOURCE,
                )
            )
        if p.voltage_level not in VOLTAGE_LEVELS_BELOW_110KV:
            level = VoltageLevel(p.voltage_level).label if p.voltage_level in VoltageLevel.values else p.voltage_level
            errors.append(
                msg_str(
                    gettext_noop(
                        "PPE %(code)s (gmina %(gmina)s) jest przyłączony na poziomie napięcia %(level)s: członkowie "
                        "klastra przyłączają się do sieci o napięciu znamionowym niższym niż 110 kV — nN lub SN "
                        "(%(rule_label)s)."
                    ),
                    code=p.code, gmina=gmina_label(p.gmina), level=str(level), rule_label=RULE_SOURCE,
                )
            )

    gminas = sorted({p.gmina.terc: p.gmina for p in points}.values(), key=lambda g: g.terc)
    powiats = sorted({g.powiat_terc for g in gminas})
    powiat_names = sorted({g.powiat_name for g in gminas})
    if not points:
        return AreaResult(
            ok=not errors, errors=errors, mode="empty", explanation=_("Klaster nie ma jeszcze żadnego PPE.")
        )
    if len(powiats) == 1:
        explanation = _("Wszystkie PPE leżą %(where)s (gminy: %(list)s).") % {
            "where": powiat_locative(gminas[0]),
            "list": ", ".join(gmina_label(g) for g in gminas),
        }
        return AreaResult(ok=not errors, errors=errors, mode="powiat", explanation=explanation, gminas=gminas, powiats=powiat_names)

    components = _connected({g.terc for g in gminas})
    listing = ", ".join(gmina_label(g) for g in gminas)
    if len(gminas) <= MAX_GMINAS and len(components) == 1:
        explanation = _("PPE leżą w %(n)s sąsiadujących gminach (powiaty: %(powiats)s): %(list)s.") % {
            "n": len(gminas),
            "powiats": ", ".join(powiat_names),
            "list": listing,
        }
        return AreaResult(ok=not errors, errors=errors, mode="gminas", explanation=explanation, gminas=gminas, powiats=powiat_names)

    if len(gminas) > MAX_GMINAS:
        why = msg_str(
            gettext_noop(
                "PPE klastra leżałyby w %(n)s gminach w %(p)s powiatach (%(list)s), a obszar działania klastra to "
                "jeden powiat albo najwyżej %(max)s sąsiadujących gmin (%(rule_label)s)."
            ),
            n=len(gminas), p=len(powiats), list=listing, max=MAX_GMINAS, rule_label=RULE_SOURCE,
        )
    else:
        parts = "; ".join(", ".join(gmina_label(g) for g in gminas if g.terc in part) for part in components)
        why = msg_str(
            gettext_noop(
                "gminy PPE klastra leżą w %(p)s powiatach i nie tworzą obszaru sąsiadujących gmin — rozpadają się "
                "na niestykające się grupy: %(parts)s. Obszar działania klastra to jeden powiat albo najwyżej "
                "%(max)s gmin sąsiadujących ze sobą (%(rule_label)s)."
            ),
            p=len(powiats), parts=parts, max=MAX_GMINAS, rule_label=RULE_SOURCE,
        )
    offenders = [c for c in candidates if c.gmina.terc not in _core(points, existing_tercs, components, len(gminas))]
    if offenders:
        for c in offenders:
            errors.append(
                msg_str(gettext_noop("PPE %(code)s (gmina %(gmina)s) wykracza poza obszar działania klastra: %(why)s"),
                        code=c.code, gmina=gmina_label(c.gmina), why=why)
            )
    else:
        errors.append(msg_str(gettext_noop("Obszar działania klastra jest naruszony: %(why)s"), why=why))
    return AreaResult(
        ok=False,
        errors=errors,
        mode="gminas",
        explanation=_("PPE leżą w %(n)s gminach: %(list)s.") % {"n": len(gminas), "list": listing},
        gminas=gminas,
        powiats=powiat_names,
    )


# --- checking what a form or a service is about to write --------------------------
#
# The area check reads every PPE of the cluster and the gminas' borders. A POST of the
# member page checks its PPE rows in the form (to show the error on the row) and the
# service that saves them asks again (the last line for every other caller): the
# verdict for the same candidates is kept on the ``cluster`` instance they share for
# the rest of the request, so the rule is evaluated once per POST. Registry writers
# drop it (``area_verdicts_forget``) as soon as they change the cluster's PPEs.

_VERDICTS = "_area_verdicts"

AreaErrors = list[tuple[PPECandidate | None, str]]


def _candidate_key(c: PPECandidate) -> tuple:
    return (c.code, c.gmina.pk, c.dso.pk, c.voltage_level, c.ppe_id)


def area_verdicts_forget(cluster: Cluster) -> None:
    """Drop the verdicts kept on this cluster instance (its PPEs changed)."""
    cluster.__dict__.pop(_VERDICTS, None)


def area_candidates_errors(*, cluster: Cluster, candidates: Sequence[PPECandidate]) -> AreaErrors:
    """What adding or changing these PPEs would break, each error with the candidate it names.

    Only what the candidates make worse is reported: a cluster whose stored PPEs already
    break the rule still accepts PPEs that add nothing wrong. An error that names no
    candidate is given to the only candidate (prefixed with its code and gmina) or, with
    several, to none (``None``).
    """
    key = tuple(sorted(_candidate_key(c) for c in candidates))
    verdicts: dict[tuple, AreaErrors] = cluster.__dict__.setdefault(_VERDICTS, {})
    if key in verdicts:
        return verdicts[key]
    result = area_check(cluster=cluster, candidates=candidates)
    errors: AreaErrors = []
    if not result.ok:
        baseline = area_check(cluster=cluster, exclude_ppe_ids=[c.ppe_id for c in candidates if c.ppe_id is not None])
        for error in (e for e in result.errors if e not in baseline.errors):
            named = [c for c in candidates if c.code in error]
            if named:
                errors.append((named[-1], error))
            elif len(candidates) == 1:
                only = candidates[0]
                errors.append((
                    only,
                    msg_str(gettext_noop("PPE %(code)s (gmina %(gmina)s): %(error)s"),
                            code=only.code, gmina=gmina_label(only.gmina), error=error),
                ))
            else:
                errors.append((None, error))
    verdicts[key] = errors
    return errors


def area_validate_candidates(*, cluster: Cluster, candidates: Sequence[PPECandidate]) -> None:
    """Raise ``ValidationError`` (messages name PPE, gmina and rule) if these PPEs would break the area rule."""
    errors = area_candidates_errors(cluster=cluster, candidates=candidates)
    if errors:
        raise ValidationError([message for _candidate, message in errors], code="area")


def area_validate_candidate(*, cluster: Cluster, candidate: PPECandidate) -> None:
    """``area_validate_candidates`` for one PPE."""
    area_validate_candidates(cluster=cluster, candidates=[candidate])
