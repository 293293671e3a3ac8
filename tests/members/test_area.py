from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from members.models import DSO, Gmina
from members.services.area import PPECandidate, area_check, area_validate_candidate
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, ppe_code

pytestmark = pytest.mark.django_db

MIKOLOWSKI = ["2408011", "2408021", "2408031", "2408042", "2408052"]
ORZESZE_AND_NEIGHBOURS = ["2408031", "2479011", "2410062", "2410022", "2408042"]


def _place(cluster, tercs: list[str], *, start: int = 1) -> None:
    member = MemberFactory(cluster=cluster)
    for i, terc in enumerate(tercs, start=start):
        ppe = MeteringPointFactory(cluster=cluster, code=ppe_code(i), gmina=Gmina.objects.get(terc=terc))
        PPEMembershipFactory(ppe=ppe, member=member)


def _candidate(cluster, terc: str, *, serial: int = 900, dso: DSO | None = None, level: str = "nN") -> PPECandidate:
    return PPECandidate(code=ppe_code(serial), gmina=Gmina.objects.get(terc=terc), dso=dso or cluster.dso, voltage_level=level)


def test_it_accepts_all_gminas_of_one_powiat(cluster) -> None:
    _place(cluster, MIKOLOWSKI)
    result = area_check(cluster=cluster)
    assert result.ok, result.errors
    assert result.mode == "powiat"
    assert result.explanation.startswith("Wszystkie PPE leżą w powiecie mikołowskim")


def test_it_accepts_five_connected_gminas_across_powiats(cluster) -> None:
    orzesze = Gmina.objects.get(terc="2408031")
    neighbours = set(orzesze.neighbours.values_list("terc", flat=True))
    assert set(ORZESZE_AND_NEIGHBOURS[1:]) <= neighbours  # connected through Orzesze
    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    result = area_check(cluster=cluster)
    assert result.ok, result.errors
    assert result.mode == "gminas"
    assert result.explanation.startswith("PPE leżą w 5 sąsiadujących gminach")
    assert len(result.powiats) == 3


def test_it_refuses_a_sixth_gmina(cluster) -> None:
    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    candidate = _candidate(cluster, "2408021")  # Mikołów borders Orzesze, but it is the sixth gmina
    with pytest.raises(ValidationError) as exc:
        area_validate_candidate(cluster=cluster, candidate=candidate)
    message = exc.value.messages[0]
    assert candidate.code in message
    assert "Mikołów [2408021]" in message
    assert "6 gminach" in message
    assert "art. 38a" in message


def test_it_still_accepts_a_sixth_ppe_in_a_gmina_already_present(cluster) -> None:
    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    area_validate_candidate(cluster=cluster, candidate=_candidate(cluster, "2479011"))


def test_it_refuses_five_gminas_that_do_not_touch(cluster) -> None:
    _place(cluster, ["2408031", "2479011", "2410062", "2408042"])
    candidate = _candidate(cluster, "2469011")  # Katowice borders none of them
    result = area_check(cluster=cluster, candidates=[candidate])
    assert not result.ok
    assert len(result.errors) == 1
    assert "Katowice [2469011]" in result.errors[0]
    assert "niestykające się grupy" in result.errors[0]


def test_it_refuses_a_ppe_on_another_dso(cluster) -> None:
    _place(cluster, ["2408031"])
    candidate = _candidate(cluster, "2408031", dso=DSO.objects.get(slug="pge"))
    with pytest.raises(ValidationError) as exc:
        area_validate_candidate(cluster=cluster, candidate=candidate)
    message = exc.value.messages[0]
    assert candidate.code in message and "Orzesze [2408031]" in message
    assert "jednego OSD" in message


@pytest.mark.parametrize("level", ["WN", "NN"])
def test_it_refuses_110_kv_and_above(cluster, level: str) -> None:
    candidate = _candidate(cluster, "2408031", level=level)
    with pytest.raises(ValidationError, match="niższym niż 110 kV"):
        area_validate_candidate(cluster=cluster, candidate=candidate)


def test_it_ignores_ppes_whose_membership_ended(cluster) -> None:
    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    far = MeteringPointFactory(cluster=cluster, code=ppe_code(500), gmina=Gmina.objects.get(terc="2469011"))
    PPEMembershipFactory(ppe=far, member=MemberFactory(cluster=cluster), valid_to=dt.date(2024, 6, 30))
    assert area_check(cluster=cluster).ok


def test_it_lets_an_edit_replace_the_stored_ppe(cluster) -> None:
    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    moved = cluster.metering_points.get(gmina_id="2410022")  # Kobiór → Mikołów keeps five gminas
    candidate = PPECandidate(
        code=moved.code, gmina=Gmina.objects.get(terc="2408021"), dso=cluster.dso, voltage_level="nN", ppe_id=moved.pk
    )
    area_validate_candidate(cluster=cluster, candidate=candidate)


def test_it_says_the_cluster_is_empty(cluster) -> None:
    result = area_check(cluster=cluster)
    assert result.ok and result.mode == "empty"


def test_an_area_error_keeps_its_code_and_reads_in_the_readers_language(cluster) -> None:
    """Stored (e.g. by a registry import), the error renders in the language of whoever reads it."""
    from django.utils import translation

    from okeportal.messages import as_msg, msg_render

    _place(cluster, ORZESZE_AND_NEIGHBOURS)
    result = area_check(cluster=cluster, candidates=[_candidate(cluster, "2408021")])
    stored = as_msg(result.errors[0]).as_json()
    assert stored["msg"].startswith("PPE %(code)s (gmina %(gmina)s) wykracza poza obszar")
    assert stored["params"]["why"]["params"]["rule_label"] == "art. 2 pkt 15a i art. 38a ustawy o OZE"
    with translation.override("pl"):
        assert "wykracza poza obszar działania klastra" in msg_render(stored)
    with translation.override("en"):
        english = msg_render(stored)
    assert "wykracza" not in english and "Mikołów [2408021]" in english and "Art. 2(15a) and Art. 38a of the RES Act" in english
