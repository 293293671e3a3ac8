from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _


class ExplicitLocaleMiddleware:
    """Polish unless the user picked another language in the switcher.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so an
    English-language browser would get English by default; the portal is Polish
    first and English only on request (the ``django_language`` cookie that
    ``set_language`` writes).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


def request_limit_mb() -> int:
    """``OKE_MAX_REQUEST_MB``, or when unset (0) the largest per-kind upload limit + 1 MB.

    Every ``OKE_*_UPLOAD_MAX_MB*`` setting counts (``OKE_READINGS_UPLOAD_MAX_MB_GENERIC``
    too), so a new kind of upload raises the default with it; the extra megabyte
    is the form's other fields.
    """
    configured = getattr(settings, "OKE_MAX_REQUEST_MB", 0)
    if configured:
        return configured
    uploads = [
        getattr(settings, name) for name in dir(settings) if name.startswith("OKE_") and "_UPLOAD_MAX_MB" in name
    ]
    return max(uploads, default=10) + 1


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than the limit, before anything reads it.

    The body is read lazily (by the CSRF check or the view), so answering 413
    here means an oversized upload is never buffered or written to disk. A body
    sent without Content-Length (chunked) is bounded by the reverse proxy
    (docs/deployment.md).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit_mb = request_limit_mb()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django answers a malformed header itself.
        if length > self.limit_mb * 1024 * 1024:
            message = _(
                "Żądanie ma %(size)s MB, a portal przyjmuje najwyżej %(limit)s MB (ustawienie OKE_MAX_REQUEST_MB). "
                "Podziel plik na mniejsze części."
            ) % {"size": f"{length / (1024 * 1024):.1f}".replace(".", ","), "limit": self.limit_mb}
            body = format_html(
                '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>'
                "<body><h1>{}</h1><p>{}</p></body></html>",
                translation.get_language() or settings.LANGUAGE_CODE,
                _("Za duże żądanie"),
                _("Za duże żądanie (413)"),
                message,
            )
            return HttpResponse(body, status=413, content_type="text/html; charset=utf-8")
        return self.get_response(request)
