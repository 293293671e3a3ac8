from __future__ import annotations

import datetime as dt
import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from members.models import Cluster, Generator, Member, MeteringPoint
from members.services.conditions import cluster_status

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry"


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_creates_a_cluster_and_imports_the_example() -> None:
    out, _err = _run("import_registry", "wyry", str(EXAMPLE), "--create", "--name", "Klaster Wyry", "--dso", "tauron")
    cluster = Cluster.objects.get(slug="wyry")
    assert cluster.dso.slug == "tauron" and cluster.name == "Klaster Wyry"
    assert cluster.members.count() == 3
    assert "PPE: nowe 4" in out


def test_it_exits_non_zero_printing_every_error_and_keeps_no_new_cluster(tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    shutil.copytree(EXAMPLE, folder)
    members = folder / "members.csv"
    members.write_text(members.read_text(encoding="utf-8").replace("6350166135", "6350166136").replace(";person;", ";osoba;"), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="2 błędy"):
        call_command("import_registry", "wyry", str(folder), "--create", "--name", "X", "--dso", "tauron", stdout=StringIO(), stderr=err)
    assert "members.csv, wiersz 3, kolumna nip" in err.getvalue()
    assert "members.csv, wiersz 4, kolumna legal_form" in err.getvalue()
    assert not Cluster.objects.filter(slug="wyry").exists()


def test_it_refuses_an_unknown_cluster_without_create() -> None:
    with pytest.raises(CommandError, match="--create"):
        _run("import_registry", "brak", str(EXAMPLE))


def test_it_prints_cluster_status_as_json(cluster) -> None:
    _run("import_registry", cluster.slug, str(EXAMPLE))
    out, _err = _run("cluster_status", cluster.slug, "--date", "2026-06-01", "--json")
    data = json.loads(out)
    assert data["area_ok"] is True and data["area_errors"] == []
    assert data["area_mode"] == "powiat"
    assert {"name", "ok", "value", "threshold", "estimated"} <= set(data["conditions"][0])
    assert data["installed_mw"] == "0.859"
    assert data == json.loads(json.dumps(cluster_status(cluster=cluster, on=dt.date(2026, 6, 1))))


def test_it_prints_a_polish_summary(cluster) -> None:
    _run("import_registry", cluster.slug, str(EXAMPLE))
    out, _err = _run("cluster_status", cluster.slug, "--date", "2026-06-01")
    assert "Wszystkie PPE leżą w powiecie mikołowskim" in out
    assert "Udział OZE" in out


def test_it_refuses_a_bad_status_date(cluster) -> None:
    with pytest.raises(CommandError, match="RRRR-MM-DD"):
        _run("cluster_status", cluster.slug, "--date", "01.06.2026")


def test_it_loads_the_demo_twice_without_duplicates() -> None:
    out, _err = _run("load_demo")
    assert "koordynator / koordynator-demo" in out and "czlonek / czlonek-demo" in out
    counts = (Member.objects.count(), MeteringPoint.objects.count(), Generator.objects.count())
    _run("load_demo")
    assert (Member.objects.count(), MeteringPoint.objects.count(), Generator.objects.count()) == counts
    cluster = Cluster.objects.get(slug="oke")
    assert cluster.dso.slug == "tauron" and str(cluster.established_on) == "2021-08-26"
    assert set(cluster.members.values_list("name", flat=True)) >= {
        "Miasto Orzesze", "Spółdzielnia Socjalna Zielone Śląskie", "Klastry Energii sp. z o.o.", "Gmina Ornontowice",
    }
    assert str(cluster.members.get(ref="gmina-ornontowice").joined_on) == "2023-01-13"
    assert MeteringPoint.objects.filter(is_sample=False).count() == 0
    # Through the real authentication backends (login throttling included), as the login page does.
    request = RequestFactory().post("/accounts/login/")
    coordinator = authenticate(request, username="koordynator", password="koordynator-demo")
    assert coordinator is not None and not coordinator.is_superuser and cluster.staff.filter(pk=coordinator.pk).exists()
    assert authenticate(request, username="admin", password="admin-demo").is_superuser
    member_user = authenticate(request, username="czlonek", password="czlonek-demo")
    assert member_user.member.cluster == cluster


def test_it_makes_the_demo_dashboard_meaningful() -> None:
    _run("load_demo")
    status = cluster_status(cluster=Cluster.objects.get(slug="oke"), on=dt.date(2026, 6, 1))
    assert status["area_ok"], status["area_errors"]
    assert [c["ok"] for c in status["conditions"]] == [True, True, True, True]
    assert not status["warnings"]
