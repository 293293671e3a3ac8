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
