from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from members.permissions import clusters_for_user, member_for_user

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user where they work: staff to a cluster, members to the portal."""
    clusters = list(clusters_for_user(request.user))
    if len(clusters) == 1:
        return redirect("members:dashboard", cluster_slug=clusters[0].slug)
    if clusters:
        return render(request, "cluster_picker.html", {"clusters": clusters})
    if member_for_user(request.user) is not None:
        return redirect("portal:home")
    return render(request, "no_access.html", status=403)


def _database_check() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker_check() -> None:
    """Open a connection to the Celery broker, once, with short socket timeouts."""
    from kombu import Connection

    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}))
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # The development broker is a folder: it answers when the folder is there.
        folder = Path(options.get("data_folder_in", ""))
        if not folder.is_dir():
            raise FileNotFoundError("broker folder missing")
        return
    timeout = settings.OKE_HEALTH_TIMEOUT_SECONDS
    options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0)


_CHECKS: dict[str, Callable[[], None]] = {"database": _database_check, "broker": _broker_check}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """``/health/`` for the load balancer and monitoring: no login, JSON.

    200 when the database and the Celery broker answer, 503 naming what failed.
    Only the error's class is shown (a message could carry a host or password);
    the full error goes to the log.
    """
    checks: dict[str, str] = {}
    for name, check in _CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure is the answer
            logger.warning("Health check %s failed", name, exc_info=True)
            checks[name] = f"error: {type(exc).__name__}"
    failed = sorted(n for n, v in checks.items() if v != "ok")
    return JsonResponse({"status": "fail" if failed else "ok", "failed": failed, "checks": checks},
                        status=503 if failed else 200)
