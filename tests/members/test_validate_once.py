"""Validate once: each registry rule lives in one function that forms, admin and services call,
and the area rule is evaluated once per POST of a PPE."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from members.admin import MemberAdminForm, MeteringPointAdminForm
from members.forms import MemberForm
from members.models import Member, MeteringPoint
from members.services import area
from members.services.registry import member_create
from members.services.validators import member_identifiers_clean
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, UserFactory, ppe_code
from tests.members.test_views import ORNONTOWICE, WARSZAWA, member_post, ppe_row, url, with_dso

pytestmark = pytest.mark.django_db


@pytest.fixture
def area_calls():
    """Counts evaluations of the area rule (``members.services.area.area_check``), still computing them."""
    with mock.patch("members.services.area.area_check", wraps=area.area_check) as counted:
        yield counted


# --- the area rule: once per POST -----------------------------------------------------


def test_a_new_ppe_on_the_member_page_is_checked_against_the_area_once(client, coordinator, cluster, area_calls):
    client.force_login(coordinator)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(ppe_code(301)), cluster.dso)]))
    assert response.status_code == 302
    assert MeteringPoint.objects.filter(code=ppe_code(301)).exists()
    assert area_calls.call_count == 1


def test_two_new_ppes_are_checked_together_once(client, coordinator, cluster, area_calls):
    client.force_login(coordinator)
    rows = [with_dso(ppe_row(ppe_code(302)), cluster.dso), with_dso(ppe_row(ppe_code(303), gmina=ORNONTOWICE), cluster.dso)]
    response = client.post(url("member-create", cluster), member_post(ppes=rows))
    assert response.status_code == 302
    assert MeteringPoint.objects.filter(cluster=cluster).count() == 2
    assert area_calls.call_count == 1


def test_editing_a_ppe_on_the_member_page_checks_the_area_once(client, coordinator, cluster, area_calls):
    member = MemberFactory(cluster=cluster, ref="zielone", legal_form="cooperative", regon="123456785")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    client.force_login(coordinator)
    row = with_dso(ppe_row(ppe.code, contracted_kw="75"), cluster.dso) | {"id": str(ppe.pk)}
    data = member_post(ppes=[row], initial_forms=1, joined_on="2024-01-01")
    response = client.post(url("member-edit", cluster, pk=member.pk), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    ppe.refresh_from_db()
    assert ppe.contracted_kw == 75
    assert area_calls.call_count == 1


def test_a_ppe_outside_the_area_is_refused_on_its_row_without_reaching_the_service(client, coordinator, cluster, area_calls):
    PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=MemberFactory(cluster=cluster))
    client.force_login(coordinator)
    far = ppe_code(304)
    with mock.patch("members.views.members.member_save_with_ppes") as service:
        response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(far, gmina=WARSZAWA), cluster.dso)]))
    assert response.status_code == 200 and not service.called
    errors = " ".join(response.context["formset"].forms[0].non_field_errors())
    assert far in errors and "Warszawa" in errors and "art. 38a" in errors
    # The rule with the row, and once without it (what was already wrong is not blamed on the row).
    assert area_calls.call_count == 2


def test_the_admin_checks_a_new_ppe_against_the_area_once(client, cluster, area_calls):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    data = {
        "cluster": cluster.pk, "code": ppe_code(305), "gmina": "2408031", "dso": cluster.dso_id, "voltage_level": "nN",
        "tariff_group": "C11", "contracted_kw": "10", "address": "",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "generators-TOTAL_FORMS": "0", "generators-INITIAL_FORMS": "0",
        "storage_units-TOTAL_FORMS": "0", "storage_units-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:members_meteringpoint_add"), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert MeteringPoint.objects.filter(code=ppe_code(305)).exists()
    assert area_calls.call_count == 1


def test_the_service_alone_still_refuses_a_ppe_outside_the_area(cluster):
    from members.services.registry import PPERow, member_save_with_ppes

    PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=MemberFactory(cluster=cluster))
    member = MemberFactory(cluster=cluster)
    from members.models import Gmina

    data = {"code": ppe_code(306), "gmina": Gmina.objects.get(terc=WARSZAWA), "dso": cluster.dso, "voltage_level": "nN",
            "tariff_group": "C11", "contracted_kw": 10}
    with pytest.raises(ValidationError) as refused:
        member_save_with_ppes(cluster=cluster, member=member, member_data={}, ppes=[PPERow(data=data, valid_from=member.joined_on)])
    assert ppe_code(306) in " ".join(refused.value.messages) and "art. 38a" in " ".join(refused.value.messages)
    assert not MeteringPoint.objects.filter(code=ppe_code(306)).exists()


def test_a_verdict_is_not_reused_after_the_cluster_s_ppes_changed(cluster):
    """The kept verdict belongs to the request's cluster instance and is dropped by every registry write."""
    from members.models import Gmina
    from members.services.registry import PPERow, member_save_with_ppes

    member = MemberFactory(cluster=cluster, legal_form="person", nip="", regon="")
    warszawa = Gmina.objects.get(terc=WARSZAWA)
    far = area.PPECandidate(code=ppe_code(307), gmina=warszawa, dso=cluster.dso, voltage_level="nN")
    assert area.area_candidates_errors(cluster=cluster, candidates=[far]) == []  # an empty cluster takes any gmina
    data = {"code": ppe_code(308), "gmina": Gmina.objects.get(terc="2408031"), "dso": cluster.dso, "voltage_level": "nN",
            "tariff_group": "C11", "contracted_kw": 10}
    member_save_with_ppes(cluster=cluster, member=member, member_data={}, ppes=[PPERow(data=data, valid_from=member.joined_on)])
    errors = area.area_candidates_errors(cluster=cluster, candidates=[far])
    assert errors and ppe_code(307) in errors[0][1]


# --- identifiers and PPE codes: one function, the same answer everywhere ------------------------


BAD_MEMBER = {"ref": "abc", "name": "ABC sp. z o.o.", "legal_form": "small_enterprise", "nip": "5213017229",
              "regon": "", "krs": "123", "pesel": "44051401359", "joined_on": "2024-01-01"}


def test_the_form_the_admin_and_the_service_give_the_same_identifier_errors(cluster):
    with pytest.raises(ValidationError) as one_place:
        member_identifiers_clean(legal_form="small_enterprise", nip="5213017229", regon="", krs="123", pesel="44051401359")
    expected = one_place.value.message_dict
    assert set(expected) == {"nip", "regon", "pesel"}  # KRS 123 is padded to 0000000123: a valid form
    assert "NIP 5213017229: nieprawidłowa cyfra kontrolna." in expected["nip"]
    assert "REGON jest wymagany dla formy prawnej „Mały przedsiębiorca”." in expected["regon"]
    assert "PESEL podaje się tylko dla osoby fizycznej" in expected["pesel"][0]

    form = MemberForm(data=BAD_MEMBER, cluster=cluster)
    assert not form.is_valid()
    admin_form = MemberAdminForm(data={**BAD_MEMBER, "cluster": cluster.pk})
    assert not admin_form.is_valid()
    with pytest.raises(ValidationError) as service:
        member_create(cluster=cluster, data=BAD_MEMBER)
    for field, messages in expected.items():
        assert form.errors[field] == messages, field
        assert admin_form.errors[field] == messages, field
        assert service.value.message_dict[field] == messages, field
    assert not Member.objects.filter(ref="abc").exists()


def test_the_forms_store_the_compact_identifiers(cluster):
    form = MemberForm(data={**BAD_MEMBER, "nip": "521-301-72-28", "regon": "123456785", "krs": "", "pesel": ""}, cluster=cluster)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["nip"] == "5213017228"


def test_a_ppe_code_taken_in_the_cluster_is_refused_on_the_code_field_by_the_page_and_the_admin(client, coordinator, cluster):
    taken = MeteringPointFactory(cluster=cluster)
    client.force_login(coordinator)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(taken.code), cluster.dso)]))
    message = f"PPE {taken.code} jest już zarejestrowany w tym klastrze."
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["code"] == [message]
    admin_form = MeteringPointAdminForm(data={"cluster": cluster.pk, "code": taken.code, "gmina": "2408031",
                                              "dso": cluster.dso_id, "voltage_level": "nN", "tariff_group": "C11",
                                              "contracted_kw": "10"})
    assert not admin_form.is_valid()
    assert admin_form.errors["code"] == [message]


# --- the registry's values: database constraints, messages on the field ------------------------------


def _bad_member_rows(cluster):
    from members.models import ConditionRule, FullLoadHours, Generator, PPEMembership, StorageUnit

    member = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    membership = PPEMembershipFactory(ppe=ppe, member=member)
    generator = Generator.objects.create(ppe=ppe, name="PV", source="pv", capacity_kw=50)
    storage = StorageUnit.objects.create(ppe=ppe, name="BESS", power_kw=10, capacity_kwh=20)
    rule = ConditionRule.objects.get(applies_to="cluster", code="capacity_max")
    hours = FullLoadHours.objects.get(source="pv")
    import datetime as dt

    return [
        (MeteringPoint, ppe.pk, {"contracted_kw": -1}),
        (MeteringPoint, ppe.pk, {"annual_demand_kwh": -5}),
        (Generator, generator.pk, {"capacity_kw": -0.001}),
        (Generator, generator.pk, {"thermal_kw": -1}),
        (Generator, generator.pk, {"biogas_m3_per_year": -1}),
        (StorageUnit, storage.pk, {"power_kw": -1}),
        (StorageUnit, storage.pk, {"capacity_kwh": -1}),
        (StorageUnit, storage.pk, {"efficiency": 0}),
        (StorageUnit, storage.pk, {"efficiency": 1.001}),
        (Member, member.pk, {"left_on": member.joined_on - dt.timedelta(days=1)}),
        (PPEMembership, membership.pk, {"valid_to": membership.valid_from - dt.timedelta(days=1)}),
        (ConditionRule, rule.pk, {"threshold": -1}),
        (ConditionRule, rule.pk, {"valid_to": rule.valid_from - dt.timedelta(days=1)}),
        (FullLoadHours, hours.pk, {"hours": 8785}),
        (FullLoadHours, hours.pk, {"hours": -1}),
        (FullLoadHours, hours.pk, {"valid_to": hours.valid_from - dt.timedelta(days=1)}),
    ]


def test_the_database_refuses_every_bad_registry_value_written_past_the_forms(cluster):
    from django.db import IntegrityError, transaction

    rows = _bad_member_rows(cluster)
    assert len(rows) == 16
    for model, pk, values in rows:
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=pk).update(**values)


def test_postgresql_refuses_two_conditions_of_one_code_in_force_on_one_day(cluster):
    import datetime as dt

    from django.db import IntegrityError, connection, transaction

    from members.models import ConditionRule, FullLoadHours

    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraints are PostgreSQL's")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConditionRule.objects.create(applies_to="cluster", code="capacity_max", comparison="lte", threshold=100,
                                     unit="MW", valid_from=dt.date(2030, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        FullLoadHours.objects.create(source="pv", hours=1100, valid_from=dt.date(2030, 1, 1))
    # Another kind's rule with the same code is a separate key.
    ConditionRule.objects.filter(applies_to="cooperative", code="capacity_max").update(valid_to=dt.date(2029, 12, 31))
    ConditionRule.objects.create(applies_to="cooperative", code="capacity_max", comparison="lte", threshold=12,
                                 unit="MW", valid_from=dt.date(2030, 1, 1))


def test_the_forms_show_the_registry_rules_on_the_field(cluster):
    from members.admin import PPEMembershipAdminForm
    from members.forms import GeneratorForm, PPEForm, StorageForm

    generator = GeneratorForm(data={"name": "PV", "source": "pv", "capacity_kw": "-1"})
    assert not generator.is_valid()
    assert generator.errors["capacity_kw"] == ["Moc elektryczna nie może być ujemna (co najmniej 0 kW)."]
    storage = StorageForm(data={"name": "BESS", "power_kw": "10", "capacity_kwh": "20", "efficiency": "1.5"})
    assert not storage.is_valid()
    assert storage.errors["efficiency"] == ["Sprawność cyklu to liczba od 0,01 do 1 (np. 0,90)."]
    ppe = PPEForm(data=with_dso(ppe_row(ppe_code(320), contracted_kw="-3"), cluster.dso), cluster=cluster)
    assert not ppe.is_valid()
    assert ppe.errors["contracted_kw"] == ["Moc umowna nie może być ujemna (co najmniej 0 kW)."]
    member = MemberAdminForm(data={**BAD_MEMBER, "cluster": cluster.pk, "nip": "5213017228", "regon": "123456785",
                                   "krs": "", "pesel": "", "left_on": "2023-12-31"})
    assert not member.is_valid()
    assert member.errors["left_on"] == ["Data wystąpienia nie może być wcześniejsza niż data przystąpienia."]
    owner = MemberFactory(cluster=cluster)
    membership = PPEMembershipAdminForm(data={"ppe": MeteringPointFactory(cluster=cluster).pk, "member": owner.pk,
                                              "valid_from": "2025-02-01", "valid_to": "2025-01-31"})
    assert not membership.is_valid()
    assert membership.errors["valid_to"] == ["Koniec przynależności PPE nie może być wcześniejszy niż jej początek."]
