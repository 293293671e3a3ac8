"""The admin is for superusers (administrators of tariffs, rules and accounts) only.

Coordinator staff work in the portal's own pages, which are scoped to their
clusters; the admin is not, so a staff flag or model permissions alone never open it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(admin.AdminSite):
    site_header = "OKE Portal — administracja"
    site_title = "OKE Portal"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


class OkeAdminConfig(AdminConfig):
    default_site = "okeportal.admin_site.SuperuserAdminSite"
