"""A PPE code is a member of at most one cluster at a time (database rule + clear messages)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members.models import Member, MeteringPoint, PPEMembership
from members.services.imports import registry_import
from members.services.registry import ppe_create, ppe_transfer
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, ppe_code

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"
CODE = "590322402408000012"  # the first PPE of the example registry


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(EXAMPLE, target)
    return target


def _twice(cluster, other_cluster, *, code: str, first: tuple, second: tuple) -> PPEMembership:
    """The same code as a PPE of each cluster; returns the first membership."""
    ppe_a = MeteringPointFactory(cluster=cluster, code=code)
    ppe_b = MeteringPointFactory(cluster=other_cluster, code=code)
    a = PPEMembershipFactory(ppe=ppe_a, member=MemberFactory(cluster=cluster), valid_from=first[0], valid_to=first[1])
    PPEMembershipFactory(ppe=ppe_b, member=MemberFactory(cluster=other_cluster), valid_from=second[0], valid_to=second[1])
    return a


def test_the_database_fills_the_code_of_every_membership(cluster) -> None:
    membership = PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster, code=ppe_code(77)))
    assert PPEMembership.objects.get(pk=membership.pk).ppe_code == ppe_code(77)
    MeteringPoint.objects.filter(pk=membership.ppe_id).update(code=ppe_code(78))
    assert PPEMembership.objects.get(pk=membership.pk).ppe_code == ppe_code(78)


def test_the_database_refuses_overlapping_periods_in_two_clusters(cluster, other_cluster) -> None:
    with pytest.raises(IntegrityError, match="ppe_code_one_cluster_at_a_time"), transaction.atomic():
        _twice(cluster, other_cluster, code=ppe_code(5), first=(dt.date(2024, 1, 1), None), second=(dt.date(2025, 6, 1), None))


def test_the_database_refuses_moving_a_period_onto_another_cluster(cluster, other_cluster) -> None:
    a = _twice(cluster, other_cluster, code=ppe_code(6), first=(dt.date(2024, 1, 1), dt.date(2024, 12, 31)), second=(dt.date(2025, 1, 1), None))
    a.valid_to = dt.date(2025, 1, 1)
    with pytest.raises(IntegrityError, match="ppe_code_one_cluster_at_a_time"), transaction.atomic():
        a.save()


def test_the_database_allows_one_cluster_after_another(cluster, other_cluster) -> None:
    _twice(cluster, other_cluster, code=ppe_code(7), first=(dt.date(2024, 1, 1), dt.date(2024, 12, 31)), second=(dt.date(2025, 1, 1), None))
    assert PPEMembership.objects.filter(ppe_code=ppe_code(7)).count() == 2


def test_the_database_still_allows_a_transfer_inside_one_cluster(cluster) -> None:
    ppe = MeteringPointFactory(cluster=cluster, code=ppe_code(8))
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1))
    ppe_transfer(ppe=ppe, to_member=MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1)), on=dt.date(2024, 7, 1))
    assert ppe.memberships.count() == 2


def test_the_import_refuses_a_code_active_in_another_cluster_without_naming_it(cluster, other_cluster, folder: Path) -> None:
    assert registry_import(cluster=other_cluster, source=EXAMPLE).ok
    report = registry_import(cluster=cluster, source=folder)
    assert not report.ok and not Member.objects.filter(cluster=cluster).exists()
    texts = [str(e) for e in report.errors]
    clash = next(t for t in texts if CODE in t)
    assert "metering_points.csv, wiersz 2" in clash and "innego klastra w okresie 2024-01-15 – …" in clash
    assert all(other_cluster.name not in t and other_cluster.slug not in t for t in texts)


def test_the_import_accepts_the_code_after_it_left_the_other_cluster(cluster, other_cluster, folder: Path) -> None:
    assert registry_import(cluster=other_cluster, source=EXAMPLE).ok
    PPEMembership.objects.filter(ppe__cluster=other_cluster).update(valid_to=dt.date(2024, 12, 31))
    lines = (folder / "metering_points.csv").read_text(encoding="utf-8").replace("2024-", "2025-")
    (folder / "metering_points.csv").write_text(lines, encoding="utf-8")
    report = registry_import(cluster=cluster, source=folder)
    assert report.ok, [str(e) for e in report.errors]
    assert PPEMembership.objects.filter(ppe_code=CODE).count() == 2


def test_the_import_turns_a_race_past_the_check_into_a_message(cluster, other_cluster, folder: Path, monkeypatch) -> None:
    import members.services.imports.checks as checks

    assert registry_import(cluster=other_cluster, source=EXAMPLE).ok
    monkeypatch.setattr(checks, "ppe_codes_other_cluster_periods", lambda **_kw: {})  # as if registered just after the check
    report = registry_import(cluster=cluster, source=folder)
    assert not report.ok and "innym klastrze" in str(report.errors[0])
    assert not Member.objects.filter(cluster=cluster).exists()


def test_the_registry_form_service_refuses_a_code_of_another_cluster(cluster, other_cluster) -> None:
    code = ppe_code(9)
    _twice_a = MeteringPointFactory(cluster=other_cluster, code=code)
    PPEMembershipFactory(ppe=_twice_a, member=MemberFactory(cluster=other_cluster), valid_from=dt.date(2024, 3, 1))
    member = MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1))
    template = MeteringPointFactory.build(cluster=cluster, code=code)
    data = {f: getattr(template, f) for f in ("code", "gmina", "dso", "voltage_level", "tariff_group", "contracted_kw")}
    with pytest.raises(ValidationError) as refused:
        ppe_create(cluster=cluster, member=member, data=data, valid_from=dt.date(2024, 1, 1))
    [message] = refused.value.message_dict["valid_from"]
    assert code in message and "innego klastra w okresie 2024-03-01 – …" in message and other_cluster.name not in message
    assert not MeteringPoint.objects.filter(cluster=cluster, code=code).exists()


def test_the_transfer_page_shows_the_clash_without_a_traceback(client, coordinator, cluster, other_cluster) -> None:
    from django.urls import reverse

    code = ppe_code(10)
    ppe = MeteringPointFactory(cluster=cluster, code=code)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster), valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2024, 6, 30))
    elsewhere = MeteringPointFactory(cluster=other_cluster, code=code)
    PPEMembershipFactory(ppe=elsewhere, member=MemberFactory(cluster=other_cluster), valid_from=dt.date(2024, 7, 1))
    newcomer = MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1))
    client.force_login(coordinator)
    response = client.post(
        reverse("members:ppe-transfer", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk}),
        {"to_member": newcomer.pk, "on": "2025-01-01"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "innego klastra w okresie 2024-07-01 – …" in html
    assert other_cluster.name not in html and ppe.memberships.count() == 1


def test_the_admin_form_shows_the_clash_instead_of_a_database_error(client, django_user_model, cluster, other_cluster) -> None:
    code = ppe_code(11)
    elsewhere = MeteringPointFactory(cluster=other_cluster, code=code)
    PPEMembershipFactory(ppe=elsewhere, member=MemberFactory(cluster=other_cluster), valid_from=dt.date(2024, 7, 1))
    ppe = MeteringPointFactory(cluster=cluster, code=code)
    member = MemberFactory(cluster=cluster)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.pl", "x"))
    response = client.post(
        "/admin/members/ppemembership/add/",
        {"ppe": ppe.pk, "member": member.pk, "valid_from": "2024-01-01", "valid_to": ""},
    )
    assert response.status_code == 200 and "innego klastra w okresie 2024-07-01 – …" in response.content.decode()
    assert not ppe.memberships.exists()
