from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.models import Cluster


def page(request: HttpRequest, template: str, *, cluster: Cluster, nav: str, **context: Any) -> HttpResponse:
    """Render a cluster page: every template gets ``cluster`` and ``nav`` for the navigation bar."""
    return render(request, template, {"cluster": cluster, "nav": nav, **context})


def error_messages(exc: ValidationError) -> list[str]:
    """Flatten a service's ValidationError (field → messages or a list) for display."""
    if hasattr(exc, "error_dict"):
        return [m for messages in exc.message_dict.values() for m in messages]
    return list(exc.messages)
