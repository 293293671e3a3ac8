"""A member's VAT deduction: its default by legal form, the form, the admin, the import, and runs it outdates."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
from pathlib import Path

import pytest
from django.apps import apps as live_apps
from django.urls import reverse

from members.forms import MemberForm
from members.models import LegalForm, Member, vat_deduction_default
from members.services.imports import registry_import
from members.services.registry import member_create, member_update
from reports.models import RunOutdatedReason
from tests.factories import MemberFactory
from tests.reports.factories import SettlementRunFactory

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"


def test_persons_jsts_and_others_do_not_deduct_vat_by_default_and_companies_do() -> None:
    deducting = {form for form in LegalForm.values if vat_deduction_default(form)}
    assert deducting == {"micro_enterprise", "small_enterprise", "medium_enterprise", "large_enterprise",
                         "public_transport", "cooperative"}


def test_the_migration_sets_existing_members_by_their_legal_form(cluster) -> None:
    person = MemberFactory(cluster=cluster, legal_form="person", nip="", deducts_vat=True)
    jst = MemberFactory(cluster=cluster, legal_form="jst", deducts_vat=False)
    company = MemberFactory(cluster=cluster, legal_form="small_enterprise", deducts_vat=False)
    coop = MemberFactory(cluster=cluster, legal_form="cooperative", deducts_vat=False)
    Member.objects.update(deducts_vat=False)  # as the column was added: every row False
    migration = importlib.import_module("members.migrations.0011_member_deducts_vat")
    migration.deducts_vat_by_legal_form(live_apps, None)
    flags = dict(Member.objects.values_list("pk", "deducts_vat"))
    assert (flags[person.pk], flags[jst.pk], flags[company.pk], flags[coop.pk]) == (False, False, True, True)


def _form_data(**extra: str) -> dict[str, str]:
    return {"name": "Gmina Wyry", "ref": "wyry", "legal_form": "jst", "nip": "6355260181", "regon": "277114714",
            "joined_on": "2025-01-01", **extra}


def test_the_member_form_takes_the_legal_forms_default_or_the_choice(cluster) -> None:
    form = MemberForm(data=_form_data(), cluster=cluster)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["deducts_vat"] is None
    assert member_create(cluster=cluster, data=form.cleaned_data).deducts_vat is False  # JST: by default not
    chosen = MemberForm(data=_form_data(ref="wyry2", deducts_vat="yes"), cluster=cluster)
    assert chosen.is_valid(), chosen.errors
    assert member_create(cluster=cluster, data=chosen.cleaned_data).deducts_vat is True
    company = member_create(cluster=cluster, data={**_form_data(ref="firma"), "legal_form": "small_enterprise",
                                                   "nip": "5213017228", "regon": "123456785"})
    assert company.deducts_vat is True


def test_the_edit_form_shows_the_value_without_the_default_choice(cluster) -> None:
    member = MemberFactory(cluster=cluster, legal_form="jst", deducts_vat=True)
    form = MemberForm(instance=member, cluster=cluster)
    assert [value for value, _label in form.fields["deducts_vat"].choices] == ["yes", "no"]
    assert form.initial["deducts_vat"] == "yes"
    refused = MemberForm(data=_form_data(ref=member.ref, deducts_vat="maybe"), instance=member, cluster=cluster)
    assert not refused.is_valid() and "deducts_vat" in refused.errors


def test_changing_the_flag_outdates_the_runs_over_the_members_time(cluster) -> None:
    member = MemberFactory(cluster=cluster, legal_form="person", nip="", deducts_vat=False, joined_on=dt.date(2025, 6, 1))
    before = SettlementRunFactory(cluster=cluster, period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 1, 31),
                                  period_kind="month")
    during = SettlementRunFactory(cluster=cluster, period_start=dt.date(2025, 7, 1), period_end=dt.date(2025, 7, 31),
                                  period_kind="month")
    member_update(member=member, data={"name": "Gmina po zmianie"})  # flag not given: unchanged, nothing outdated
    assert not RunOutdatedReason.objects.exists()
    member_update(member=member, data={"deducts_vat": True})
    reason = RunOutdatedReason.objects.get()
    assert reason.run == during and reason.code == "member_vat"
    assert "odliczanie VAT zmienione na „odlicza”" in reason.detail
    assert not before.outdated_reasons.exists()


def test_the_member_page_shows_the_flag_and_the_form_saves_it(client, coordinator, cluster) -> None:
    member = MemberFactory(cluster=cluster, legal_form="person", nip="", ref="kowalski")
    client.force_login(coordinator)
    detail = reverse("members:member-detail", kwargs={"cluster_slug": cluster.slug, "pk": member.pk})
    assert "nie odlicza (zestawienia także brutto)" in client.get(detail).content.decode()
    edit = reverse("members:member-edit", kwargs={"cluster_slug": cluster.slug, "pk": member.pk})
    assert "Odliczanie VAT" in client.get(edit).content.decode()


def test_the_admin_applies_the_default_on_creation(cluster) -> None:
    from members.admin import MemberAdminForm

    data = {"cluster": cluster.pk, "ref": "x", "name": "X sp. z o.o.", "legal_form": "small_enterprise",
            "nip": "5213017228", "regon": "123456785", "joined_on": "2024-01-01"}
    form = MemberAdminForm(data=data)
    assert form.is_valid(), form.errors
    assert form.save().deducts_vat is True
    member = Member.objects.get(ref="x")
    form = MemberAdminForm(data={**data, "deducts_vat": "no"}, instance=member)
    assert form.is_valid(), form.errors
    assert form.save().deducts_vat is False


def test_the_registry_import_reads_the_optional_column(cluster, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    shutil.copytree(EXAMPLE, folder)
    assert registry_import(cluster=cluster, source=folder).ok
    flags = dict(Member.objects.values_list("ref", "deducts_vat"))
    assert flags == {"gmina-wyry": False, "pv-mikolow": True, "nowak": False}  # no column: the legal form's default
    # A JST that deducts VAT says so; an empty cell keeps a registered member's value.
    path = folder / "members.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ";deducts_vat"
    lines[1] += ";tak"
    lines[2] += ";"
    lines[3] += ";"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    Member.objects.filter(ref="nowak").update(deducts_vat=True)
    report = registry_import(cluster=cluster, source=folder)
    assert report.ok, [str(e) for e in report.errors]
    flags = dict(Member.objects.values_list("ref", "deducts_vat"))
    assert flags == {"gmina-wyry": True, "pv-mikolow": True, "nowak": True}
    lines[1] = lines[1][:-1] + "może"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = registry_import(cluster=cluster, source=folder)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("members.csv", 2, "deducts_vat")]
