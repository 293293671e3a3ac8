from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from members.permissions import cluster_for_staff_or_404


def cluster_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve ``cluster_slug`` from the URL to a Cluster the user staffs, or 404.

    The view receives ``cluster`` instead of ``cluster_slug``.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, cluster_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        cluster = cluster_for_staff_or_404(request.user, cluster_slug)
        return view(request, cluster, *args, **kwargs)

    return wrapper
