"""Coordinator pages: rendering, the member + PPE flow, installations, transfers, admin."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members.models import Generator, Member, MeteringPoint, PPEMembership, StorageUnit
from tests.factories import (
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
    ppe_code,
)

pytestmark = pytest.mark.django_db

ORZESZE = "2408031"
ORNONTOWICE = "2408042"
WARSZAWA = "1465011"


def url(name: str, cluster, **kwargs: Any) -> str:
    return reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, **kwargs})


def member_post(*, ppes: list[dict[str, str]] | None = None, initial_forms: int = 0, **member: str) -> dict[str, str]:
    """POST data of the member page: member fields plus the PPE formset."""
    data = {
        "name": "Spółdzielnia Socjalna Zielone Śląskie",
        "ref": "zielone",
        "legal_form": "cooperative",
        "nip": "5213017228",
        "regon": "123456785",
        "krs": "",
        "pesel": "",
        "street": "ul. Gliwicka 7",
        "postal_code": "43-180",
        "city": "Orzesze",
        "email": "biuro@zielone.example.pl",
        "joined_on": "2025-01-01",
        **member,
    }
    rows = ppes or []
    data.update({"ppe-TOTAL_FORMS": str(len(rows)), "ppe-INITIAL_FORMS": str(initial_forms), "ppe-MIN_NUM_FORMS": "0", "ppe-MAX_NUM_FORMS": "1000"})
    for i, row in enumerate(rows):
        data.update({f"ppe-{i}-{k}": v for k, v in row.items()})
    return data


def ppe_row(code: str, gmina: str = ORZESZE, **extra: str) -> dict[str, str]:
    return {
        "code": code, "gmina": gmina, "dso": "", "address": "ul. Rynek 1, Orzesze", "voltage_level": "nN",
        "tariff_group": "C11", "contracted_kw": "40", "annual_demand_kwh": "52000", "valid_from": "", **extra,
    }


@pytest.fixture
def tauron(cluster):
    return cluster.dso


def with_dso(row: dict[str, str], dso) -> dict[str, str]:
    return {**row, "dso": str(dso.pk)}


# --- rendering ----------------------------------------------------------------


def test_it_renders_every_page_for_the_coordinator(client, coordinator, cluster):
    member = MemberFactory(cluster=cluster, name="Miasto Orzesze", legal_form="jst")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    GeneratorFactory(ppe=ppe, name="PV ratusz")
    StorageUnitFactory(ppe=ppe, name="Magazyn ratusz")
    client.force_login(coordinator)
    pages = {
        url("dashboard", cluster): "Obszar działania",
        url("member-list", cluster): "Miasto Orzesze",
        url("member-create", cluster): "Nowy członek klastra",
        url("member-detail", cluster, pk=member.pk): "PV ratusz",
        url("member-edit", cluster, pk=member.pk): ppe.code,
        url("ppe-list", cluster): ppe.code,
        url("ppe-detail", cluster, pk=ppe.pk): "Magazyn ratusz",
        url("ppe-installations", cluster, pk=ppe.pk): "PV ratusz",
        url("registry-import", cluster): "Wczytaj plik rejestru",
    }
    for address, text in pages.items():
        response = client.get(address)
        assert response.status_code == 200, address
        assert text in response.content.decode(), address


def test_it_shows_the_area_verdict_conditions_and_counts_on_the_dashboard(client, coordinator, cluster):
    member = MemberFactory(cluster=cluster, legal_form="jst", joined_on=dt.date(2024, 1, 1))
    ppe = MeteringPointFactory(cluster=cluster, annual_demand_kwh=Decimal("100000"))
    PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2024, 1, 1))
    GeneratorFactory(ppe=ppe, capacity_kw=Decimal("1500"))
    StorageUnitFactory(ppe=ppe, power_kw=Decimal("40"))
    client.force_login(coordinator)
    html = client.get(url("dashboard", cluster)).content.decode()
    assert "zgodny" in html and "Orzesze" in html and "mikołowski" in html
    assert "Udział OZE" in html and "szacunek" in html and "Szacunki" in html
    assert "1,5" in html  # MW installed
    assert "Klaster nie obejmuje jednostki samorządu" not in html


def test_it_warns_on_the_dashboard_when_no_jst_is_a_member(client, coordinator, cluster):
    MemberFactory(cluster=cluster, legal_form="small_enterprise")
    client.force_login(coordinator)
    html = client.get(url("dashboard", cluster)).content.decode()
    assert "Klaster nie obejmuje jednostki samorządu" in html


# --- member + PPE in one flow -------------------------------------------------------


def test_it_registers_a_member_with_a_ppe_through_the_form(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    code = ppe_code(101)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(code), tauron)]))
    member = Member.objects.get(cluster=cluster, ref="zielone")
    assert response.status_code == 302
    assert response["Location"] == url("member-detail", cluster, pk=member.pk)
    ppe = MeteringPoint.objects.get(cluster=cluster, code=code)
    assert ppe.gmina_id == ORZESZE and not ppe.is_legacy_code
    membership = PPEMembership.objects.get(ppe=ppe)
    assert membership.member == member and membership.valid_from == dt.date(2025, 1, 1)


def test_it_accepts_the_gmina_as_its_datalist_label_or_name_with_powiat(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    rows = [
        with_dso(ppe_row(ppe_code(111), gmina="Orzesze (gmina miejska, pow. mikołowski) [2408031]"), tauron),
        with_dso(ppe_row(ppe_code(112), gmina="Ornontowice (mikołowski)"), tauron),
    ]
    response = client.post(url("member-create", cluster), member_post(ppes=rows))
    assert response.status_code == 302
    assert set(MeteringPoint.objects.values_list("gmina_id", flat=True)) == {ORZESZE, ORNONTOWICE}


def test_it_goes_to_the_installations_page_after_save_and_add_installations(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    data = member_post(ppes=[with_dso(ppe_row(ppe_code(102)), tauron)]) | {"add_installations": "1"}
    response = client.post(url("member-create", cluster), data)
    ppe = MeteringPoint.objects.get(code=ppe_code(102))
    assert response["Location"] == url("ppe-installations", cluster, pk=ppe.pk)


def test_it_shows_the_area_error_on_the_ppe_row_naming_ppe_gmina_and_rule(client, coordinator, cluster, tauron):
    existing = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=existing, member=MemberFactory(cluster=cluster))
    client.force_login(coordinator)
    far = ppe_code(103)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(far, gmina=WARSZAWA), tauron)]))
    assert response.status_code == 200
    formset = response.context["formset"]
    row_errors = " ".join(formset.forms[0].non_field_errors())
    assert far in row_errors and "Warszawa" in row_errors and "art. 38a" in row_errors
    assert "ppe-row-errors" in response.content.decode()
    assert not Member.objects.filter(ref="zielone").exists()
    assert not MeteringPoint.objects.filter(code=far).exists()


def test_it_refuses_two_new_rows_that_together_leave_the_area(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    rows = [with_dso(ppe_row(ppe_code(104)), tauron), with_dso(ppe_row(ppe_code(105), gmina=WARSZAWA), tauron)]
    response = client.post(url("member-create", cluster), member_post(ppes=rows))
    assert response.status_code == 200
    assert ppe_code(105) in " ".join(response.context["formset"].forms[1].non_field_errors())
    assert MeteringPoint.objects.count() == 0 and Member.objects.count() == 0


def test_it_names_the_identifier_and_rule_for_a_bad_nip_and_saves_nothing(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    data = member_post(ppes=[with_dso(ppe_row(ppe_code(106)), tauron)], nip="5213017229")
    response = client.post(url("member-create", cluster), data)
    assert response.status_code == 200
    assert "NIP 5213017229: nieprawidłowa cyfra kontrolna" in " ".join(response.context["form"].errors["nip"])
    assert Member.objects.count() == 0 and MeteringPoint.objects.count() == 0


def test_it_requires_nip_and_regon_for_an_enterprise(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.post(url("member-create", cluster), member_post(nip="", regon=""))
    errors = response.context["form"].errors
    assert "NIP jest wymagany" in errors["nip"][0] and "REGON jest wymagany" in errors["regon"][0]


def test_it_refuses_a_ppe_code_with_a_wrong_check_digit(client, coordinator, cluster, tauron):
    client.force_login(coordinator)
    good = ppe_code(107)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(bad), tauron)]))
    assert "cyfra kontrolna" in " ".join(response.context["formset"].forms[0].errors["code"])
    assert Member.objects.count() == 0


def test_it_refuses_a_duplicate_member_ref_and_ppe_code(client, coordinator, cluster, tauron):
    other = MemberFactory(cluster=cluster, ref="zielone")
    taken = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=taken, member=other)
    client.force_login(coordinator)
    response = client.post(url("member-create", cluster), member_post(ppes=[with_dso(ppe_row(taken.code), tauron)]))
    assert "zielone" in response.context["form"].errors["ref"][0]
    assert "już zarejestrowany" in response.context["formset"].forms[0].errors["code"][0]


def test_it_edits_the_member_and_its_ppe_on_one_page(client, coordinator, cluster, tauron):
    member = MemberFactory(cluster=cluster, ref="zielone", legal_form="cooperative", regon="123456785")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member, valid_from=dt.date(2024, 1, 1))
    client.force_login(coordinator)
    page = client.get(url("member-edit", cluster, pk=member.pk))
    assert page.context["formset"].total_form_count() == 1
    row = with_dso(ppe_row(ppe.code, contracted_kw="75", valid_from="2024-03-01"), tauron) | {"id": str(ppe.pk)}
    new = with_dso(ppe_row(ppe_code(108)), tauron)
    data = member_post(ppes=[row, new], initial_forms=1, name="Zielone Śląskie (nowa nazwa)", joined_on="2024-01-01")
    response = client.post(url("member-edit", cluster, pk=member.pk), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    member.refresh_from_db()
    ppe.refresh_from_db()
    assert member.name == "Zielone Śląskie (nowa nazwa)"
    assert ppe.contracted_kw == Decimal("75")
    assert ppe.memberships.get().valid_from == dt.date(2024, 3, 1)
    assert PPEMembership.objects.get(ppe__code=ppe_code(108)).valid_from == dt.date(2024, 1, 1)


# --- installations, transfer, leaving -------------------------------------------------


def installations_post(*, gens: list[dict[str, str]], stos: list[dict[str, str]], initial: tuple[int, int] = (0, 0)) -> dict[str, str]:
    data: dict[str, str] = {}
    for prefix, rows, n_initial in (("gen", gens, initial[0]), ("sto", stos, initial[1])):
        data.update({f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(n_initial),
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def test_it_adds_a_pv_generator_and_a_storage_unit_to_a_ppe(client, coordinator, cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
    client.force_login(coordinator)
    data = installations_post(
        gens=[{"name": "PV dach", "source": "pv", "capacity_kw": "49.5", "thermal_kw": "", "biogas_m3_per_year": "", "commissioned_on": "2024-05-01"}],
        stos=[{"name": "Magazyn 1", "power_kw": "20", "capacity_kwh": "40", "efficiency": "0.9"}],
    )
    response = client.post(url("ppe-installations", cluster, pk=ppe.pk), data)
    assert response.status_code == 302
    assert Generator.objects.get(ppe=ppe).capacity_kw == Decimal("49.5")
    assert StorageUnit.objects.get(ppe=ppe).capacity_kwh == Decimal("40")


def test_it_deletes_an_installation_and_skips_empty_rows(client, coordinator, cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    gen = GeneratorFactory(ppe=ppe)
    client.force_login(coordinator)
    row = {"id": str(gen.pk), "ppe": str(ppe.pk), "name": gen.name, "source": "pv", "capacity_kw": "50", "thermal_kw": "",
           "biogas_m3_per_year": "", "commissioned_on": "", "DELETE": "on"}
    empty = {"name": "", "power_kw": "", "capacity_kwh": "", "efficiency": "0.900"}
    response = client.post(url("ppe-installations", cluster, pk=ppe.pk), installations_post(gens=[row], stos=[empty], initial=(1, 0)))
    assert response.status_code == 302
    assert not Generator.objects.filter(ppe=ppe).exists() and not StorageUnit.objects.exists()


def test_it_refuses_an_efficiency_above_one(client, coordinator, cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    client.force_login(coordinator)
    data = installations_post(gens=[], stos=[{"name": "M", "power_kw": "20", "capacity_kwh": "40", "efficiency": "1.5"}])
    response = client.post(url("ppe-installations", cluster, pk=ppe.pk), data)
    assert response.status_code == 200 and not StorageUnit.objects.exists()
    assert response.context["storage"].forms[0].errors["efficiency"]


def test_it_transfers_a_ppe_to_another_member_from_a_date(client, coordinator, cluster):
    old, new = MemberFactory(cluster=cluster), MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=old, valid_from=dt.date(2024, 1, 1))
    client.force_login(coordinator)
    response = client.post(url("ppe-transfer", cluster, pk=ppe.pk), {"to_member": new.pk, "on": "2025-07-01"})
    assert response.status_code == 200 and ppe.memberships.count() == 1  # the confirmation page; nothing changed yet
    response = client.post(url("ppe-transfer", cluster, pk=ppe.pk), {"to_member": new.pk, "on": "2025-07-01", "confirm": "1"})
    assert response.status_code == 302
    first, second = ppe.memberships.order_by("valid_from")
    assert (first.member, first.valid_to) == (old, dt.date(2025, 6, 30))
    assert (second.member, second.valid_from, second.valid_to) == (new, dt.date(2025, 7, 1), None)


def test_it_refuses_a_transfer_dated_before_the_current_membership(client, coordinator, cluster):
    old, new = MemberFactory(cluster=cluster), MemberFactory(cluster=cluster, joined_on=dt.date(2020, 1, 1))
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=old, valid_from=dt.date(2024, 1, 1))
    client.force_login(coordinator)
    response = client.post(url("ppe-transfer", cluster, pk=ppe.pk), {"to_member": new.pk, "on": "2023-01-01"})
    assert response.status_code == 200
    assert ppe.code in " ".join(response.context["transfer_form"].non_field_errors())
    assert ppe.memberships.count() == 1


def test_it_records_a_member_leaving_and_ends_its_ppe_memberships(client, coordinator, cluster):
    member = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    client.force_login(coordinator)
    response = client.post(url("member-leave", cluster, pk=member.pk), {"on": "2025-12-31", "confirm": "1"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.left_on == dt.date(2025, 12, 31)
    assert ppe.memberships.get().valid_to == dt.date(2025, 12, 31)


# --- lists ----------------------------------------------------------------------


def test_it_finds_members_by_ppe_code_and_filters_by_generation(client, coordinator, cluster):
    producer, consumer = MemberFactory(cluster=cluster, name="Producent"), MemberFactory(cluster=cluster, name="Odbiorca")
    pv_ppe, plain_ppe = MeteringPointFactory(cluster=cluster), MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=pv_ppe, member=producer)
    PPEMembershipFactory(ppe=plain_ppe, member=consumer)
    GeneratorFactory(ppe=pv_ppe, capacity_kw=Decimal("30"))
    client.force_login(coordinator)

    def names(**params: str) -> list[str]:
        return [m.name for m in client.get(url("member-list", cluster), params).context["page_obj"]]

    assert names(q=plain_ppe.code) == ["Odbiorca"]
    assert names(has_generation="true") == ["Producent"]
    assert names(has_generation="false") == ["Odbiorca"]
    assert names(legal_form="jst") == []


def test_it_filters_ppes_by_member_gmina_and_voltage(client, coordinator, cluster):
    a, b = MemberFactory(cluster=cluster), MemberFactory(cluster=cluster)
    p1 = MeteringPointFactory(cluster=cluster)
    p2 = MeteringPointFactory(cluster=cluster, gmina_id=ORNONTOWICE, voltage_level="SN")
    PPEMembershipFactory(ppe=p1, member=a)
    PPEMembershipFactory(ppe=p2, member=b)
    client.force_login(coordinator)

    def codes(**params: str) -> list[str]:
        return [p.code for p in client.get(url("ppe-list", cluster), params).context["page_obj"]]

    assert codes(member=str(b.pk)) == [p2.code]
    assert codes(gmina=ORZESZE) == [p1.code]
    assert codes(voltage_level="SN") == [p2.code]


def test_it_paginates_the_member_list_by_25(client, coordinator, cluster):
    MemberFactory.create_batch(27, cluster=cluster)
    client.force_login(coordinator)
    first = client.get(url("member-list", cluster))
    assert len(first.context["page_obj"]) == 25
    assert len(client.get(url("member-list", cluster), {"page": "2"}).context["page_obj"]) == 2


# --- registry upload ----------------------------------------------------------------


def examples_zip(*, broken: bool = False) -> SimpleUploadedFile:
    folder = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("*.csv")):
            text = path.read_text(encoding="utf-8")
            if broken and path.name == "members.csv":
                text = text.replace("6355260181", "6355260182")  # NIP with a wrong check digit
            archive.writestr(path.name, text)
    return SimpleUploadedFile("rejestr.zip", buffer.getvalue(), content_type="application/zip")


def test_it_imports_the_example_registry_and_shows_a_summary(client, coordinator, cluster, django_capture_on_commit_callbacks):
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):  # the import runs as a task after commit
        client.post(url("registry-import", cluster), {"file": examples_zip()})
    response = client.get(url("registry-import-detail", cluster, pk=cluster.registry_imports.get().pk))
    html = response.content.decode()
    assert "import-summary" in html and "Zaimportowano rejestr" in html
    assert Member.objects.filter(cluster=cluster, ref="gmina-wyry").exists()


def test_it_shows_the_error_table_and_saves_nothing_for_a_broken_registry(client, coordinator, cluster, django_capture_on_commit_callbacks):
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):  # the import runs as a task after commit
        client.post(url("registry-import", cluster), {"file": examples_zip(broken=True)})
    response = client.get(url("registry-import-detail", cluster, pk=cluster.registry_imports.get().pk))
    html = response.content.decode()
    assert "import-errors" in html and "members.csv" in html and "6355260182" in html and "nip" in html
    assert not Member.objects.filter(cluster=cluster).exists()


def test_it_imports_a_single_csv_as_the_command_does(client, coordinator, cluster, django_capture_on_commit_callbacks):
    folder = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"
    members = SimpleUploadedFile("members.csv", (folder / "members.csv").read_bytes(), content_type="text/csv")
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("registry-import", cluster), {"file": members})
    entry = cluster.registry_imports.get()
    assert entry.status == "done", (entry.message, entry.errors)
    assert Member.objects.filter(cluster=cluster, ref="gmina-wyry").exists()


def test_it_refuses_an_upload_that_is_not_zip_xlsx_or_csv(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.post(url("registry-import", cluster), {"file": SimpleUploadedFile("rejestr.txt", b"x")})
    assert response.status_code == 200
    assert "rejestr.txt" in response.context["form"].errors["file"][0]


def test_it_serves_the_example_files_as_a_zip(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.get(url("registry-examples", cluster))
    assert response["Content-Type"] == "application/zip"
    assert "members.csv" in zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()


# --- admin ----------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.pl", "x"))
    return client


def test_it_renders_the_admin_for_every_members_model(admin_client_, cluster):
    member = MemberFactory(cluster=cluster)
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    GeneratorFactory(ppe=ppe)
    StorageUnitFactory(ppe=ppe)
    for model in ("gmina", "dso", "cluster", "member", "meteringpoint", "ppemembership", "generator",
                  "storageunit", "conditionrule", "fullloadhours", "registryimport"):
        assert admin_client_.get(reverse(f"admin:members_{model}_changelist")).status_code == 200, model
    assert admin_client_.get(reverse("admin:members_gmina_changelist"), {"q": "Orzesze"}).status_code == 200
    assert admin_client_.get(reverse("admin:members_meteringpoint_change", args=[ppe.pk])).status_code == 200
    assert admin_client_.get(reverse("admin:members_member_history", args=[member.pk])).status_code == 200


def test_it_refuses_a_bad_nip_and_an_out_of_area_ppe_in_the_admin(cluster):
    from members.admin import MemberAdminForm, MeteringPointAdminForm

    form = MemberAdminForm(data={"cluster": cluster.pk, "ref": "x", "name": "X sp. z o.o.", "legal_form": "small_enterprise",
                                 "nip": "5213017229", "regon": "123456785", "joined_on": "2024-01-01"})
    assert not form.is_valid() and "cyfra kontrolna" in form.errors["nip"][0]

    PPEMembershipFactory(ppe=MeteringPointFactory(cluster=cluster), member=MemberFactory(cluster=cluster))
    far = ppe_code(200)
    form = MeteringPointAdminForm(data={"cluster": cluster.pk, "code": far, "gmina": WARSZAWA, "dso": cluster.dso_id,
                                        "voltage_level": "nN", "tariff_group": "C11", "contracted_kw": "10"})
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert far in message and "Warszawa" in message and "art. 38a" in message


def test_it_shows_the_gmina_admin_read_only(admin_client_):
    assert admin_client_.get(reverse("admin:members_gmina_add")).status_code == 403
    page = admin_client_.get(reverse("admin:members_gmina_change", args=[ORZESZE]))
    assert page.status_code == 200 and "Ornontowice" in page.content.decode()
