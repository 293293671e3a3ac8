"""Read helpers for the registry: what is in a cluster on a given day.

"Active on a day" means a PPE membership whose dates cover that day; an
installation counts when its PPE is active (and it was commissioned by then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from members.models import (
    RENEWABLE_SOURCES,
    Cluster,
    Generator,
    Gmina,
    Member,
    MeteringPoint,
    PPEMembership,
    StorageUnit,
)
from members.polish import polish_fold, polish_order

_KW = DecimalField(max_digits=14, decimal_places=3)


# a search keeps the list's annotations (the type of its queryset)
_Members = TypeVar("_Members", bound=QuerySet[Member])
_PPEs = TypeVar("_PPEs", bound=QuerySet[MeteringPoint])


def _membership_on(on: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": on}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": on})
    )


def members_active(*, cluster: Cluster, on: dt.date) -> QuerySet[Member]:
    return Member.objects.filter(cluster=cluster, joined_on__lte=on).filter(
        Q(left_on__isnull=True) | Q(left_on__gte=on)
    )


def ppes_active(*, cluster: Cluster, on: dt.date) -> QuerySet[MeteringPoint]:
    """PPEs with a membership covering ``on`` (of a member that has not left by then)."""
    memberships = PPEMembership.objects.filter(_membership_on(on), ppe=OuterRef("pk")).filter(
        Q(member__left_on__isnull=True) | Q(member__left_on__gte=on)
    )
    return MeteringPoint.objects.filter(cluster=cluster).filter(Exists(memberships))


def _commissioned_by(on: dt.date) -> Q:
    return Q(commissioned_on__isnull=True) | Q(commissioned_on__lte=on)


def generators_active(*, cluster: Cluster, on: dt.date) -> QuerySet[Generator]:
    return Generator.objects.filter(ppe__in=ppes_active(cluster=cluster, on=on)).filter(_commissioned_by(on))


def storage_active(*, cluster: Cluster, on: dt.date) -> QuerySet[StorageUnit]:
    return StorageUnit.objects.filter(ppe__in=ppes_active(cluster=cluster, on=on))


def cluster_counts(*, cluster: Cluster, on: dt.date) -> dict[str, Any]:
    """Headline figures for the dashboard (MW as Decimal, 3 places)."""
    gens = generators_active(cluster=cluster, on=on)
    gen = gens.aggregate(
        n=Count("pk"),
        kw=Coalesce(Sum("capacity_kw"), Value(Decimal(0)), output_field=_KW),
        res_kw=Coalesce(Sum("capacity_kw", filter=Q(source__in=[str(s) for s in RENEWABLE_SOURCES])), Value(Decimal(0)), output_field=_KW),
    )
    sto = storage_active(cluster=cluster, on=on).aggregate(
        n=Count("pk"),
        kw=Coalesce(Sum("power_kw"), Value(Decimal(0)), output_field=_KW),
        kwh=Coalesce(Sum("capacity_kwh"), Value(Decimal(0)), output_field=_KW),
    )
    ppes = ppes_active(cluster=cluster, on=on)
    demand = ppes.aggregate(
        kwh=Coalesce(Sum("annual_demand_kwh"), Value(Decimal(0)), output_field=_KW),
        missing=Count("pk", filter=Q(annual_demand_kwh__isnull=True)),
    )
    mw = Decimal("0.001")
    return {
        "members": members_active(cluster=cluster, on=on).count(),
        "ppes": ppes.count(),
        "ppes_without_demand": demand["missing"],
        "generators": gen["n"],
        "installed_mw": (gen["kw"] / 1000).quantize(mw),
        "renewable_mw": (gen["res_kw"] / 1000).quantize(mw),
        "storage_units": sto["n"],
        "storage_mw": (sto["kw"] / 1000).quantize(mw),
        "storage_mwh": (sto["kwh"] / 1000).quantize(mw),
        "declared_demand_mwh": (demand["kwh"] / 1000).quantize(mw),
    }


def member_search(qs: _Members, text: str) -> _Members:
    """Members whose name, symbol, NIP or REGON contains ``text``, or with a PPE whose code does.

    Case and diacritics do not matter ("spółdzielnia", "SPOLDZIELNIA" and "Spółdzielnia" are
    one search): ``text`` is folded like ``Member.search_text``. NIP may be typed with dashes.
    """
    folded = polish_fold(text)
    if not folded:
        return qs
    digits = folded.replace("-", "").replace(" ", "")
    match = Q(search_text__contains=folded)
    if digits.isdigit() and digits != folded:
        match |= Q(search_text__contains=digits)
    # Exists, not a join: the list's sums are subqueries and must not be multiplied.
    by_ppe = PPEMembership.objects.filter(member=OuterRef("pk"), ppe__code__icontains=folded.replace(" ", ""))
    return qs.filter(match | Exists(by_ppe))


def ppe_search(qs: _PPEs, text: str) -> _PPEs:
    """PPEs whose code, address or gmina name contains ``text``, case and diacritics folded ("lodz" finds Łódź)."""
    folded = polish_fold(text)
    if not folded:
        return qs
    return qs.filter(
        Q(search_text__contains=folded.replace(" ", "")) | Q(search_text__contains=folded)
        | Q(gmina__search_text__contains=folded)
    )


def gminas_ordered(qs: QuerySet[Gmina]) -> QuerySet[Gmina]:
    """Gminas in Polish alphabetical order of their names (then powiat, then TERC for namesakes)."""
    return qs.order_by(polish_order("name"), polish_order("powiat_name"), "terc")


def member_list(
    *, cluster: Cluster, search: str = "", filters: Mapping[str, Any] | None = None, on: dt.date | None = None
) -> QuerySet[Member]:
    """Members with ``ppe_count``, ``installed_kw`` and ``storage_kw`` (PPEs active on ``on``), no N+1.

    ``filters``: ``legal_form`` (code), ``status`` ("active" | "left"), ``jst`` (bool).
    Subqueries rather than joins, so the sums are not multiplied by the join.
    """
    on = on or timezone.localdate()
    filters = filters or {}
    # Nested OuterRef: the membership filter sits inside the installations' subquery.
    active_ppes = PPEMembership.objects.filter(_membership_on(on), member=OuterRef(OuterRef("pk"))).values("ppe")
    ppe_count = (
        PPEMembership.objects.filter(_membership_on(on), member=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(F("ppe"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)"))
        .values("n")
    )
    installed = (
        Generator.objects.filter(ppe__in=active_ppes)
        .order_by()
        .annotate(kw=Func(F("capacity_kw"), function="SUM"))
        .values("kw")
    )
    storage = (
        StorageUnit.objects.filter(ppe__in=active_ppes).order_by().annotate(kw=Func(F("power_kw"), function="SUM")).values("kw")
    )
    qs = Member.objects.filter(cluster=cluster).annotate(
        ppe_count=Coalesce(Subquery(ppe_count, output_field=IntegerField()), Value(0)),
        installed_kw=Coalesce(Subquery(installed, output_field=_KW), Value(Decimal(0)), output_field=_KW),
        storage_kw=Coalesce(Subquery(storage, output_field=_KW), Value(Decimal(0)), output_field=_KW),
    )
    if search:
        qs = member_search(qs, search)
    if filters.get("legal_form"):
        qs = qs.filter(legal_form=filters["legal_form"])
    status = filters.get("status")
    if status == "active":
        qs = qs.filter(Q(left_on__isnull=True) | Q(left_on__gte=on))
    elif status == "left":
        qs = qs.filter(left_on__lt=on)
    if filters.get("jst") is True:
        qs = qs.filter(Q(legal_form__in=["jst", "jst_unit"]) | Q(controlled_by_jst=True))
    # Polish alphabetical order (a ą b c ć … ł … ź ż), case-insensitive, on SQLite and PostgreSQL alike.
    return qs.order_by(polish_order("name"), "pk")


def ppe_list(
    *, cluster: Cluster, search: str = "", filters: Mapping[str, Any] | None = None, on: dt.date | None = None
) -> QuerySet[MeteringPoint]:
    """PPEs with ``member_name`` / ``member_ref`` (membership on ``on``), ``installed_kw``, ``storage_kw``.

    ``filters``: ``gmina`` (TERC), ``voltage_level``, ``member`` (id), ``status`` ("active" | "inactive").
    """
    on = on or timezone.localdate()
    filters = filters or {}
    current = PPEMembership.objects.filter(_membership_on(on), ppe=OuterRef("pk")).order_by("-valid_from")
    installed = Generator.objects.filter(ppe=OuterRef("pk")).values("ppe").annotate(kw=Sum("capacity_kw")).values("kw")
    storage = StorageUnit.objects.filter(ppe=OuterRef("pk")).values("ppe").annotate(kw=Sum("power_kw")).values("kw")
    qs = (
        MeteringPoint.objects.filter(cluster=cluster)
        .select_related("gmina", "dso")
        .annotate(
            member_id_on=Subquery(current.values("member_id")[:1]),
            member_name=Subquery(current.values("member__name")[:1]),
            member_ref=Subquery(current.values("member__ref")[:1]),
            installed_kw=Coalesce(Subquery(installed, output_field=_KW), Value(Decimal(0)), output_field=_KW),
            storage_kw=Coalesce(Subquery(storage, output_field=_KW), Value(Decimal(0)), output_field=_KW),
        )
    )
    if search:
        qs = ppe_search(qs, search)
    if filters.get("gmina"):
        qs = qs.filter(gmina_id=filters["gmina"])
    if filters.get("voltage_level"):
        qs = qs.filter(voltage_level=filters["voltage_level"])
    if filters.get("member"):
        qs = qs.filter(member_id_on=filters["member"])
    if filters.get("status") == "active":
        qs = qs.filter(member_id_on__isnull=False)
    elif filters.get("status") == "inactive":
        qs = qs.filter(member_id_on__isnull=True)
    return qs.order_by("code")
