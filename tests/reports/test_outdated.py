"""A finished run becomes "nieaktualne" when something it used for its period changes afterwards."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from members.services.registry import generator_update, member_leave, ppe_create, ppe_transfer, ppe_update
from reports.models import DistributionRate, RunOutdatedReason
from reports.settlement.outdated import settlement_runs_outdated_count, settlement_runs_with_outdated
from reports.settlement.tariffs import rate_uses_record, tariff_row_new_value
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory, ppe_code
from tests.reports.factories import march_run


@pytest.fixture
def setup(cluster):
    """A March 2026 run; member A with one PPE since 2024, member B without."""
    a = MemberFactory(cluster=cluster, ref="a", name="Alfa")
    b = MemberFactory(cluster=cluster, ref="b", name="Beta")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=a, valid_from=dt.date(2024, 1, 1))
    run = march_run(cluster)
    return run, a, b, ppe


def reasons(run) -> list[tuple[str, str]]:
    return list(RunOutdatedReason.objects.filter(run=run).values_list("code", "detail"))


def test_a_transfer_inside_the_period_outdates_the_run(setup) -> None:
    run, _a, b, ppe = setup
    ppe_transfer(ppe=ppe, to_member=b, on=dt.date(2026, 3, 15))
    assert reasons(run) == [("transfer", f"PPE {ppe.code} przeniesiony do Beta od 15.03.2026")]


def test_a_change_after_the_period_does_not(setup) -> None:
    run, _a, b, ppe = setup
    ppe_transfer(ppe=ppe, to_member=b, on=dt.date(2026, 5, 1))
    assert reasons(run) == []
    assert not settlement_runs_with_outdated(type(run).objects.filter(pk=run.pk)).get().is_outdated


def test_leaving_outdates_runs_after_the_last_day(setup) -> None:
    run, a, _b, _ppe = setup
    member_leave(member=a, on=dt.date(2026, 3, 20))
    assert [code for code, _ in reasons(run)] == ["leaving"]


def test_leaving_on_the_periods_last_day_does_not(setup) -> None:
    run, a, _b, _ppe = setup
    member_leave(member=a, on=dt.date(2026, 3, 31))
    assert reasons(run) == []


def test_a_backdated_join_outdates_the_run(setup, cluster) -> None:
    run, _a, b, _ppe = setup
    data = {"code": ppe_code(777), "gmina": _ppe.gmina, "dso": cluster.dso, "voltage_level": _ppe.voltage_level, "tariff_group": "C11", "contracted_kw": Decimal(10)}
    ppe_create(cluster=cluster, member=b, data=data, valid_from=dt.date(2026, 2, 1))
    assert [code for code, _ in reasons(run)] == ["joining"]


def test_a_membership_date_change_and_ppe_data_outdate_the_run(setup) -> None:
    run, _a, _b, ppe = setup
    ppe_update(ppe=ppe, data={"tariff_group": "C12a"}, valid_from=None)
    ppe_update(ppe=ppe, data={}, valid_from=dt.date(2026, 3, 5))
    assert [code for code, _ in reasons(run)] == ["ppe", "membership"]


def test_unchanged_ppe_data_outdate_nothing(setup) -> None:
    run, _a, _b, ppe = setup
    ppe_update(ppe=ppe, data={"tariff_group": ppe.tariff_group}, valid_from=None)
    assert reasons(run) == []


def test_an_installation_change_outdates_the_run(setup) -> None:
    run, _a, _b, ppe = setup
    generator = GeneratorFactory(ppe=ppe)
    generator_update(generator=generator, data={"capacity_kw": Decimal("60.000")})
    assert [code for code, _ in reasons(run)] == ["installation"]


def test_a_new_rate_value_inside_the_period_outdates_the_run(setup) -> None:
    run, *_ = setup
    rate_uses_record(run=run)
    rate = DistributionRate.objects.get(dso=None, tariff_group="")
    tariff_row_new_value(row=rate, valid_from=dt.date(2026, 3, 1), values={"variable_rate": Decimal("250")})
    assert [code for code, _ in reasons(run)] == ["rate"]
    assert settlement_runs_outdated_count(cluster_id=run.cluster_id) == 1


def test_a_recompute_is_not_outdated_and_the_count_follows_the_latest_version(setup) -> None:
    run, _a, b, ppe = setup
    ppe_transfer(ppe=ppe, to_member=b, on=dt.date(2026, 3, 15))
    march_run(run.cluster, version=2)
    assert settlement_runs_outdated_count(cluster_id=run.cluster_id) == 0


def test_the_settlements_command_lists_runs_with_reasons(setup) -> None:
    run, _a, b, ppe = setup
    ppe_transfer(ppe=ppe, to_member=b, on=dt.date(2026, 3, 15))
    out = StringIO()
    call_command("settlements", run.cluster.slug, "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert rows == [
        {
            "id": run.pk, "version": 1, "period": {"start": "2026-03-01", "end": "2026-03-31", "kind": "month"}, "status": "done",
            "outdated": True,
            "reasons": [{"code": "transfer", "label": "przeniesienie PPE", "detail": rows[0]["reasons"][0]["detail"], "at": rows[0]["reasons"][0]["at"]}],
        }
    ]


def test_a_registry_import_that_changes_memberships_outdates_the_run(setup, tmp_path) -> None:
    from members.services.imports import registry_import

    run, a, _b, ppe = setup
    (tmp_path / "metering_points.csv").write_text(
        "code,member_ref,gmina_terc,dso,voltage_level,tariff_group,contracted_kw,joined_on\n"
        f"{ppe_code(901)},a,2408031,tauron,{ppe.voltage_level},C11,12,2026-02-01\n", encoding="utf-8"
    )
    report = registry_import(cluster=run.cluster, source=tmp_path, record=False)
    assert report.ok, report.errors
    assert [code for code, _ in reasons(run)] == ["registry_import"]


def test_a_registry_import_that_changes_nothing_outdates_nothing(setup, tmp_path) -> None:
    from members.services.imports import registry_import

    run, _a, _b, ppe = setup
    (tmp_path / "metering_points.csv").write_text(
        "code,member_ref,gmina_terc,dso,voltage_level,tariff_group,contracted_kw,joined_on\n"
        f"{ppe.code},a,2408031,tauron,{ppe.voltage_level},{ppe.tariff_group},{ppe.contracted_kw},2024-01-01\n", encoding="utf-8"
    )
    report = registry_import(cluster=run.cluster, source=tmp_path, record=False)
    assert report.ok, report.errors
    assert reasons(run) == []


def test_a_meter_import_for_the_period_outdates_the_run(setup, cluster) -> None:
    from django.core.files.base import ContentFile

    from reports.metering.imports import reading_import_claim, reading_import_process
    from reports.models import ReadingImport

    run, _a, _b, ppe = setup
    imp = ReadingImport(cluster=cluster, original_name="marzec.csv", format="generic")
    imp.file.save("marzec.csv", ContentFile(f"ppe_code;start;import_kwh;export_kwh\n{ppe.code};2026-03-10T12:00+01:00;1,5;0\n".encode()), save=False)
    imp.save()
    assert reading_import_claim(import_id=imp.pk)
    done = reading_import_process(import_id=imp.pk)
    assert done.status == "done", (done.message, done.errors)
    assert reasons(run) == [("meter_data", "plik marzec.csv: 1 PPE, 10.03.2026 – 10.03.2026")]
