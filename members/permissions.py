"""The one place that decides who may see what.

Coordinator staff see the clusters they are assigned to (superusers see all);
a member account sees only its own member record. Views call these helpers
and answer 404 (never 403) across a boundary, so ids of other clusters and
members do not leak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from members.models import Cluster, Member

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def clusters_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Cluster]:
    if not user.is_authenticated:
        return Cluster.objects.none()
    if user.is_superuser:
        return Cluster.objects.all()
    return Cluster.objects.filter(staff=user)


def cluster_for_staff_or_404(user: AbstractBaseUser | AnonymousUser, slug: str) -> Cluster:
    cluster = clusters_for_user(user).filter(slug=slug).select_related("dso").first()
    if cluster is None:
        raise Http404("Nie znaleziono klastra.")
    return cluster


def member_for_user(user: AbstractBaseUser | AnonymousUser) -> Member | None:
    """The member record a member account belongs to, or None."""
    if not user.is_authenticated:
        return None
    return Member.objects.select_related("cluster").filter(user=user).first()
