from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from okeportal import views
from okeportal.accounts import ThrottledLoginView, ThrottledPasswordResetView

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include("reports.urls_portal", namespace="portal")),
    path("rates/", include("reports.views.rates", namespace="rates")),
    path("c/<slug:cluster_slug>/", include("members.urls", namespace="members")),
    path("c/<slug:cluster_slug>/", include("reports.urls", namespace="reports")),
]

admin.site.site_header = "OKE Portal — administracja"
admin.site.site_title = "OKE Portal"
