"""Every coordinator page of the registry refuses anyone but the cluster's staff.

Across the boundary the answer is 404 (staff of another cluster, member
accounts) or the login page (anonymous), for GET and POST alike, and a refused
POST changes nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from members.models import PPEMembership, RegistryAction, RegistryImport
from tests.dbstate import database_state
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(cluster):
    member = MemberFactory(cluster=cluster, name="Miasto Orzesze", legal_form="jst")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    imp = RegistryImport.objects.create(cluster=cluster, file_name="rejestr.xlsx", status=RegistryImport.Status.FAILED)
    return member, ppe, imp


@pytest.fixture
def registry_action(cluster, registry):
    """A recorded (undoable) leaving of the registry's member, for the undo URL."""
    from members.services.actions import registry_action_leave

    return registry_action_leave(member=registry[0], on=dt.date(2025, 6, 30), user=None)


def all_urls(cluster, member, ppe, imp) -> list[str]:
    """Every URL in members/urls.py (the test fails if one is added and not listed here)."""
    from members.urls import urlpatterns

    kwargs = {
        "dashboard": {}, "member-list": {}, "member-create": {}, "member-detail": {"pk": member.pk},
        "member-edit": {"pk": member.pk}, "member-leave": {"pk": member.pk}, "ppe-list": {}, "ppe-detail": {"pk": ppe.pk},
        "ppe-installations": {"pk": ppe.pk}, "ppe-transfer": {"pk": ppe.pk}, "registry-import": {},
        "registry-import-detail": {"pk": imp.pk}, "registry-examples": {},
        "registry-import-progress": {"pk": imp.pk}, "registry-import-cancel": {"pk": imp.pk},
        "registry-import-retry": {"pk": imp.pk},
        "member-export": {"fmt": "xlsx"}, "ppe-export": {"fmt": "csv"}, "generator-export": {"fmt": "xlsx"},
        "storage-export": {"fmt": "csv"}, "registry-import-errors-export": {"pk": imp.pk, "fmt": "xlsx"},
        "member-history": {"pk": member.pk}, "ppe-history": {"pk": ppe.pk}, "ppe-remove": {"pk": ppe.pk},
        "ppe-membership-dates": {"pk": ppe.pk}, "ppe-regime": {"pk": ppe.pk},
        "consent-list": {}, "cluster-register": {},
        "action-undo": {"pk": RegistryAction.objects.filter(cluster=cluster).values_list("pk", flat=True).first() or 0},
    }
    assert {p.name for p in urlpatterns} == set(kwargs)
    return [reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, **kw}) for name, kw in kwargs.items()]


def snapshot() -> dict:
    """Every row of every table (sessions and login bookkeeping aside): a refused request changes nothing."""
    return database_state()


def hostile_post(member) -> dict[str, str]:
    """A POST that would change something if it got through."""
    membership = PPEMembership.objects.filter(member=member).first()
    return {"name": "Przejęty", "ref": "x", "legal_form": "person", "joined_on": "2024-01-01", "on": "2024-06-30",
            "to_member": str(member.pk), "ppe-TOTAL_FORMS": "0", "ppe-INITIAL_FORMS": "0", "confirm": "1",
            "membership": str(membership.pk) if membership else "", "valid_from": "2024-02-01", "valid_to": ""}


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_to_staff_of_another_cluster(client, outsider, cluster, registry, registry_action, method):
    client.force_login(outsider)
    before = snapshot()
    for address in all_urls(cluster, *registry):
        response = getattr(client, method)(address, hostile_post(registry[0]) if method == "post" else None)
        assert response.status_code == 404, address
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_the_login_page(client, cluster, registry, registry_action, method):
    before = snapshot()
    for address in all_urls(cluster, *registry):
        response = getattr(client, method)(address, hostile_post(registry[0]) if method == "post" else None)
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse(settings.LOGIN_URL)), address
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_member_accounts_on_coordinator_pages(client, alice, cluster, registry, registry_action, method):
    client.force_login(alice)
    before = snapshot()
    for address in all_urls(cluster, *registry):
        response = getattr(client, method)(address, hostile_post(registry[0]) if method == "post" else None)
        assert response.status_code == 404, address
    assert snapshot() == before


def test_it_answers_404_for_objects_of_another_cluster_under_my_cluster(client, coordinator, cluster, other_cluster):
    foreign_member = MemberFactory(cluster=other_cluster)
    foreign_ppe = MeteringPointFactory(cluster=other_cluster)
    PPEMembershipFactory(ppe=foreign_ppe, member=foreign_member)
    foreign_import = RegistryImport.objects.create(cluster=other_cluster, file_name="x.zip", status="failed")
    from members.services.actions import registry_action_remove

    foreign_action = registry_action_remove(ppe=foreign_ppe, on=dt.date(2025, 6, 30), user=None)
    client.force_login(coordinator)
    before = snapshot()
    for name, pk in [
        ("member-detail", foreign_member.pk), ("member-edit", foreign_member.pk), ("member-leave", foreign_member.pk),
        ("ppe-detail", foreign_ppe.pk), ("ppe-installations", foreign_ppe.pk), ("ppe-transfer", foreign_ppe.pk),
        ("registry-import-detail", foreign_import.pk), ("member-history", foreign_member.pk),
        ("ppe-history", foreign_ppe.pk), ("ppe-remove", foreign_ppe.pk), ("ppe-membership-dates", foreign_ppe.pk),
        ("ppe-regime", foreign_ppe.pk), ("action-undo", foreign_action.pk),
    ]:
        address = reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, "pk": pk})
        assert client.get(address).status_code in (404, 405), address
        assert client.post(address, hostile_post(foreign_member)).status_code == 404, address
    assert snapshot() == before


def test_it_does_not_offer_members_of_another_cluster_as_transfer_targets(client, coordinator, cluster, other_cluster):
    mine = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=mine)
    foreign = MemberFactory(cluster=other_cluster, joined_on=dt.date(2020, 1, 1))
    client.force_login(coordinator)
    address = reverse("members:ppe-transfer", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk})
    response = client.post(address, {"to_member": foreign.pk, "on": "2025-01-01"})
    assert response.status_code == 200
    assert "to_member" in response.context["transfer_form"].errors
    assert ppe.memberships.get().member == mine


def test_it_lets_a_superuser_open_any_cluster(client, cluster, registry, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.pl", "x")
    client.force_login(admin)
    assert client.get(reverse("members:member-list", kwargs={"cluster_slug": cluster.slug})).status_code == 200
