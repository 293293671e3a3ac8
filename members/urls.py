"""Coordinator pages of the registry, all under /c/<cluster_slug>/."""

from __future__ import annotations

from django.urls import path

from members.views import actions, consents, dashboard, exports, history, imports, members, ppes

app_name = "members"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("register/", dashboard.cluster_register, name="cluster-register"),
    path("members/", members.member_list, name="member-list"),
    path("members/new/", members.member_create, name="member-create"),
    path("members/<int:pk>/", members.member_detail, name="member-detail"),
    path("members/<int:pk>/edit/", members.member_edit, name="member-edit"),
    path("members/<int:pk>/leave/", members.member_leave, name="member-leave"),
    path("members/<int:pk>/history/", history.member_history, name="member-history"),
    path("consents/", consents.consent_list, name="consent-list"),
    path("ppe/", ppes.ppe_list, name="ppe-list"),
    path("ppe/<int:pk>/", ppes.ppe_detail, name="ppe-detail"),
    path("ppe/<int:pk>/installations/", ppes.ppe_installations, name="ppe-installations"),
    path("ppe/<int:pk>/transfer/", ppes.ppe_transfer, name="ppe-transfer"),
    path("ppe/<int:pk>/remove/", ppes.ppe_remove, name="ppe-remove"),
    path("ppe/<int:pk>/membership-dates/", ppes.ppe_membership_dates, name="ppe-membership-dates"),
    path("ppe/<int:pk>/history/", history.ppe_history, name="ppe-history"),
    path("ppe/<int:pk>/regime/", ppes.ppe_regime, name="ppe-regime"),
    path("actions/<int:pk>/undo/", actions.action_undo, name="action-undo"),
    path("registry/import/", imports.registry_import, name="registry-import"),
    path("registry/import/<int:pk>/", imports.registry_import_detail, name="registry-import-detail"),
    path("registry/import/<int:pk>/progress/", imports.registry_import_progress, name="registry-import-progress"),
    path("registry/import/<int:pk>/cancel/", imports.registry_import_cancel, name="registry-import-cancel"),
    path("registry/import/<int:pk>/retry/", imports.registry_import_retry, name="registry-import-retry"),
    path("registry/examples.zip", imports.registry_examples, name="registry-examples"),
    # Downloads of the lists above, with the page's filters (?q=…): fmt is xlsx or csv.
    path("members/export.<str:fmt>", exports.member_export, name="member-export"),
    path("ppe/export.<str:fmt>", exports.ppe_export, name="ppe-export"),
    path("ppe/generators.<str:fmt>", exports.generator_export, name="generator-export"),
    path("ppe/storage.<str:fmt>", exports.storage_export, name="storage-export"),
    path("registry/import/<int:pk>/errors.<str:fmt>", exports.registry_import_errors_export, name="registry-import-errors-export"),
]
