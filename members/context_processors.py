from __future__ import annotations

from django.http import HttpRequest

from members.permissions import clusters_for_user


def clusters(request: HttpRequest) -> dict[str, object]:
    """The clusters the signed-in staff user may see, for the navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_clusters": []}
    return {"nav_clusters": clusters_for_user(user)}
