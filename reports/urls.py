"""Cluster-scoped money pages; each area keeps its own url list beside its views."""

from __future__ import annotations

from reports.views import annual, exports, jobs, keys, readings, settlements, statements

app_name = "reports"

urlpatterns = [*readings.urlpatterns, *settlements.urlpatterns, *statements.urlpatterns, *keys.urlpatterns, *jobs.urlpatterns]
urlpatterns += exports.urlpatterns
urlpatterns += annual.urlpatterns
