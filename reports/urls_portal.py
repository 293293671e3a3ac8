"""The member portal: a member's own PPEs, settlements and statements."""

from __future__ import annotations

from reports.views import account, portal

app_name = "portal"

urlpatterns = [*portal.urlpatterns, *account.urlpatterns]
