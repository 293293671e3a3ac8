"""Login and password reset with throttling.

Wrong passwords are counted per username by django-axes (lockout after
AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME, every failure kept in the
admin's access-failure log). On top of that, django-ratelimit caps login posts
and password-reset requests per client address, and reset requests per e-mail
address, so neither guessing across many usernames nor flooding a mailbox with
reset e-mails works. Limits are settings (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited


def _limited(request: HttpRequest, *, group: str, key: str, rate: str) -> bool:
    return is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)


class ThrottledLoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _limited(request, group="login-ip", key="ip", rate=settings.OKE_LOGIN_RATE_PER_IP):
            form = self.get_form()
            form.add_error(None, _("Zbyt wiele prób logowania z tego adresu. Spróbuj ponownie za kilka minut."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        by_ip = _limited(request, group="reset-ip", key="ip", rate=settings.OKE_PASSWORD_RESET_RATE_PER_IP)
        by_email = _limited(request, group="reset-email", key="post:email", rate=settings.OKE_PASSWORD_RESET_RATE_PER_EMAIL)
        if by_ip or by_email:
            form = self.get_form()
            form.is_valid()
            form.add_error(None, _("Zbyt wiele próśb o ustawienie hasła. Spróbuj ponownie za godzinę."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def lockout_response(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE): says how long, offers a password reset."""
    from django.shortcuts import render

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind the trusted proxy the address it appended to X-Forwarded-For.

    Only the last entry is the proxy's own observation; anything before it came from the client.
    """
    if settings.OKE_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


class SessionIdleTimeoutMiddleware:
    """Sessions end after a period without requests: OKE_SESSION_IDLE_MINUTES_STAFF for coordinator staff
    and superusers, OKE_SESSION_IDLE_MINUTES_MEMBER for member accounts.

    The expiry slides with use; the session is re-saved at most once a minute, not on every request.
    """

    _REFRESH_SECONDS = 60

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._slide(request, user)
        return self.get_response(request)

    def _slide(self, request: HttpRequest, user: Any) -> None:
        import time

        session = request.session
        seconds = session.get("oke_idle_seconds")
        if seconds is None:
            staff = user.is_superuser or user.is_staff or user.clusters.exists()
            minutes = settings.OKE_SESSION_IDLE_MINUTES_STAFF if staff else settings.OKE_SESSION_IDLE_MINUTES_MEMBER
            seconds = session["oke_idle_seconds"] = int(minutes * 60)
        now = int(time.time())
        if now - session.get("oke_seen", 0) >= self._REFRESH_SECONDS:
            session["oke_seen"] = now
            session.set_expiry(seconds)
