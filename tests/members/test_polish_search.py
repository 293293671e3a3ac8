"""Polish search and sorting: case and diacritics folded in search, Polish alphabetical order in lists.

The same assertions run on SQLite (the ``pl_key`` collation and ``search_text`` columns) and
on PostgreSQL (the ICU collation ``pl_icu``): CI runs this file on both.
"""

from __future__ import annotations

import csv
import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from members.models import Gmina, Member, MeteringPoint
from members.polish import polish_fold, polish_order, polish_sort_key
from members.selectors import gminas_ordered, member_list, ppe_list
from members.services.registry import gmina_resolve
from tests.factories import (
    ClusterFactory,
    GeneratorFactory,
    MemberFactory,
    MeteringPointFactory,
    PPEMembershipFactory,
    StorageUnitFactory,
)
from tests.members.test_queries import MAX_QUERIES

pytestmark = pytest.mark.django_db

# Polish alphabetical order, case-insensitive: a < ą, c < ć, l < ł, s < ś, z < ź < ż.
NAMES_IN_ORDER = [
    "Anna Kasza",
    "Anna Kąsek",
    "Anna Kubacka",
    "Czesław Kąsek",
    "Ćwikła Piotr",
    "ekoenergia s.c.",
    "Elektrociepłownia Łódź S.A.",
    "Lucyna Nowak",
    "Łukasz Wójcik",
    "Spółdzielnia Energetyczna Orzesze",
    "Śląskie Wodociągi S.A.",
    "Zakład Gospodarki Komunalnej w Orzeszu",
    "Źródło Mocy sp. z o.o.",
    "Żaneta Zając",
]


def page_names(response) -> list[str]:
    return [m.name for m in response.context["page_obj"]]


@pytest.fixture
def polish_members(cluster):
    # Created out of order, so that neither insertion order nor code points give the expected order.
    return {
        name: MemberFactory(cluster=cluster, name=name, ref=f"m{i}")
        for i, name in sorted(enumerate(NAMES_IN_ORDER), key=lambda p: (p[0] * 7) % len(NAMES_IN_ORDER))
    }


def members_url(cluster, **query) -> str:
    return reverse("members:member-list", kwargs={"cluster_slug": cluster.slug}) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


# --- the folding and the key ---------------------------------------------------


def test_fold_drops_case_and_diacritics():
    assert polish_fold("ŚLĄSKIE") == polish_fold("śląskie") == polish_fold("Slaskie") == "slaskie"
    assert polish_fold("  Łódź   ŻÓŁĆ ") == "lodz zolc"
    assert polish_fold("SPÓŁDZIELNIA") == "spoldzielnia"
    assert polish_fold("Müller-Lüdenscheidt") == "muller-ludenscheidt"
    assert polish_fold(None) == polish_fold("") == ""


def test_sort_key_follows_the_polish_alphabet():
    alphabet = list("aąbcćdeęfghijklłmnńoóprsśtuwyzźż")
    shuffled = alphabet[::-1]
    assert sorted(shuffled, key=polish_sort_key) == alphabet
    assert sorted([n.upper() for n in NAMES_IN_ORDER][::-1], key=polish_sort_key) == [n.upper() for n in NAMES_IN_ORDER]
    # Case-insensitive: lower and upper case of one word sit together, lower case first (as ICU).
    assert sorted(["Zenon", "ala", "Ala", "żaba", "bartek"], key=polish_sort_key) == ["ala", "Ala", "bartek", "Zenon", "żaba"]


# --- the member list -------------------------------------------------------------


def test_member_list_is_in_polish_order(client, coordinator, cluster, polish_members):
    client.force_login(coordinator)
    response = client.get(members_url(cluster))
    assert page_names(response) == NAMES_IN_ORDER
    assert [m.name for m in member_list(cluster=cluster)] == NAMES_IN_ORDER


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("śląskie", ["Śląskie Wodociągi S.A."]),
        ("ŚLĄSKIE", ["Śląskie Wodociągi S.A."]),
        ("slaskie", ["Śląskie Wodociągi S.A."]),
        ("SPÓŁDZIELNIA", ["Spółdzielnia Energetyczna Orzesze"]),
        ("spoldzielnia energetyczna", ["Spółdzielnia Energetyczna Orzesze"]),
        ("lodz", ["Elektrociepłownia Łódź S.A."]),
        ("łódź", ["Elektrociepłownia Łódź S.A."]),
        ("ŁÓDŹ", ["Elektrociepłownia Łódź S.A."]),
        ("kasek", ["Anna Kąsek", "Czesław Kąsek"]),
        ("ORZESZ", ["Spółdzielnia Energetyczna Orzesze", "Zakład Gospodarki Komunalnej w Orzeszu"]),
    ],
)
def test_member_search_folds_case_and_diacritics(client, coordinator, cluster, polish_members, query, expected):
    client.force_login(coordinator)
    response = client.get(reverse("members:member-list", kwargs={"cluster_slug": cluster.slug}), {"q": query})
    assert page_names(response) == expected
    assert [m.name for m in member_list(cluster=cluster, search=query)] == expected


def test_member_search_still_finds_nip_with_dashes_and_ppe_codes(client, coordinator, cluster):
    member = MemberFactory(cluster=cluster, name="Piekarnia Orzeska", nip="6351831053")
    MemberFactory(cluster=cluster, name="Inny członek", nip="5213017228")
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=member)
    client.force_login(coordinator)
    address = reverse("members:member-list", kwargs={"cluster_slug": cluster.slug})
    assert page_names(client.get(address, {"q": "635-183-10-53"})) == ["Piekarnia Orzeska"]
    assert page_names(client.get(address, {"q": ppe.code[-8:]})) == ["Piekarnia Orzeska"]


def test_member_search_keeps_the_list_queries_flat(client, coordinator, cluster, polish_members, django_assert_max_num_queries):
    client.force_login(coordinator)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(members_url(cluster, q="kasek"))
    assert response.status_code == 200


def test_member_export_uses_the_search_and_the_order(client, coordinator, cluster, polish_members):
    client.force_login(coordinator)
    address = reverse("members:member-export", kwargs={"cluster_slug": cluster.slug, "fmt": "csv"})
    body = b"".join(client.get(address).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert [r[1] for r in rows[1:]] == NAMES_IN_ORDER
    body = b"".join(client.get(address, {"q": "ANNA K"}).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert [r[1] for r in rows[1:]] == ["Anna Kasza", "Anna Kąsek", "Anna Kubacka"]


# --- the PPE list and the gmina pickers ---------------------------------------------


@pytest.fixture
def ppes_in_gminas(cluster):
    """One PPE in each of five gminas (and one address with Polish letters)."""
    ppes = {}
    for terc in ("2479011", "2478011", "2408011", "2414031", "2408031", "1061011"):  # Żory, Zabrze, Łaziska G., Lędziny, Orzesze, Łódź
        gmina = Gmina.objects.get(terc=terc)
        ppes[gmina.name] = MeteringPointFactory(cluster=cluster, gmina=gmina, address=f"ul. Źródlana 1, {gmina.name}")
    ppes["Orzesze"].address = "ul. Świętej Barbary 12, Orzesze"
    ppes["Orzesze"].save(update_fields=["address"])
    return ppes


def ppe_url(cluster) -> str:
    return reverse("members:ppe-list", kwargs={"cluster_slug": cluster.slug})


@pytest.mark.parametrize("query", ["lodz", "łódź", "ŁÓDŹ", "Lodz"])
def test_ppe_search_finds_the_gmina_without_diacritics(client, coordinator, cluster, ppes_in_gminas, query):
    client.force_login(coordinator)
    response = client.get(ppe_url(cluster), {"q": query})
    assert [p.code for p in response.context["page_obj"]] == [ppes_in_gminas["Łódź"].code]
    assert [p.code for p in ppe_list(cluster=cluster, search=query)] == [ppes_in_gminas["Łódź"].code]


def test_ppe_search_folds_the_address(client, coordinator, cluster, ppes_in_gminas):
    client.force_login(coordinator)
    response = client.get(ppe_url(cluster), {"q": "SWIETEJ BARBARY"})
    assert [p.code for p in response.context["page_obj"]] == [ppes_in_gminas["Orzesze"].code]
    response = client.get(ppe_url(cluster), {"q": "źródlana"})
    assert len(response.context["page_obj"]) == 5


def test_ppe_gmina_picker_and_member_picker_are_in_polish_order(client, coordinator, cluster, ppes_in_gminas, polish_members):
    client.force_login(coordinator)
    response = client.get(ppe_url(cluster))
    gminas = [g.name for g in response.context["filter"].filters["gmina"].queryset]
    assert gminas == ["Lędziny", "Łaziska Górne", "Łódź", "Orzesze", "Zabrze", "Żory"]
    members = [m.name for m in response.context["filter"].filters["member"].queryset]
    assert members == NAMES_IN_ORDER
    # The rendered select keeps that order.
    html = response.content.decode()
    positions = [html.index(f">{name} (") for name in ("Lędziny", "Łaziska Górne", "Łódź", "Orzesze", "Zabrze", "Żory")]
    assert positions == sorted(positions)


def test_member_form_gmina_suggestions_are_in_polish_order(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.get(reverse("members:member-create", kwargs={"cluster_slug": cluster.slug}))
    names = [g.name for g in response.context["gminas"]]
    assert len(names) > 2000  # an empty cluster: every gmina
    first = {letter: next(i for i, n in enumerate(names) if n.startswith(letter)) for letter in "LŁMSŚTZŻ"}
    last = {letter: max(i for i, n in enumerate(names) if n.startswith(letter)) for letter in "LŁSŚZ"}
    assert last["L"] < first["Ł"] <= last["Ł"] < first["M"]
    assert last["S"] < first["Ś"] <= last["Ś"] < first["T"]
    assert last["Z"] < first["Ż"]
    assert names[-1].startswith("Ż")
    assert names == sorted(names, key=polish_sort_key)


def test_gminas_ordered_puts_namesakes_by_powiat():
    rows = list(gminas_ordered(Gmina.objects.filter(name__in=["Bolesławiec", "Bobolice", "Łobez"])).values_list("powiat_name", "terc"))
    assert rows == [
        ("koszaliński", "3209033"), ("bolesławiecki", "0201011"), ("bolesławiecki", "0201022"), ("wieruszowski", "1018013"),
        ("łobeski", "3218023"),
    ]


def test_gmina_picker_resolves_names_without_diacritics():
    assert gmina_resolve("lodz").terc == "1061011"
    assert gmina_resolve("ŁÓDŹ").terc == "1061011"
    assert gmina_resolve("zory").terc == "2479011"
    # Namesakes once folded: the exact spelling wins, otherwise both are offered.
    assert gmina_resolve("MIEDŹNA").terc == "2410032"
    assert gmina_resolve("Miedzna").terc == "1433062"
    with pytest.raises(ValidationError, match="Jest kilka gmin"):
        gmina_resolve("rogozno")  # Rogoźno and Rogóźno
    # The powiat picks among the folded namesakes before the spelling does.
    assert gmina_resolve("Miedzna (pow. pszczyński)").terc == "2410032"
    assert gmina_resolve("miedzna (pszczynski)").terc == "2410032"


def test_ppe_detail_lists_installations_in_polish_order(client, coordinator, cluster):
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=MemberFactory(cluster=cluster))
    for name in ("Źródło PV", "Zachód PV", "Łany PV", "Las PV", "ściana PV", "Słońce PV"):
        GeneratorFactory(ppe=ppe, name=name)
    for name in ("Żółty magazyn", "Zielony magazyn"):
        StorageUnitFactory(ppe=ppe, name=name)
    client.force_login(coordinator)
    response = client.get(reverse("members:ppe-detail", kwargs={"cluster_slug": cluster.slug, "pk": ppe.pk}))
    assert [g.name for g in response.context["generators"]] == ["Las PV", "Łany PV", "Słońce PV", "ściana PV", "Zachód PV", "Źródło PV"]
    assert [s.name for s in response.context["storage_units"]] == ["Zielony magazyn", "Żółty magazyn"]
    address = reverse("members:generator-export", kwargs={"cluster_slug": cluster.slug, "fmt": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(client.get(address).streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert [r[3] for r in rows[1:]] == ["Las PV", "Łany PV", "Słońce PV", "ściana PV", "Zachód PV", "Źródło PV"]


# --- keeping search_text right -------------------------------------------------------


def stored_search_text(model, pk) -> str:
    return model.objects.filter(pk=pk).values_list("search_text", flat=True).get()


def test_search_text_follows_every_write(cluster):
    member = MemberFactory(cluster=cluster, name="Spółdzielnia Łąka", ref="sl", nip="", regon="")
    assert stored_search_text(Member, member.pk) == "spoldzielnia laka\nsl"
    member.name = "Żółw Energia"
    member.save(update_fields=["name"])
    assert stored_search_text(Member, member.pk) == "zolw energia\nsl"
    Member.objects.filter(pk=member.pk).update(name="Świerk S.A.")
    assert stored_search_text(Member, member.pk) == "swierk s.a.\nsl"
    member.refresh_from_db()
    member.ref = "swierk"
    Member.objects.bulk_update([member], ["ref"])
    assert stored_search_text(Member, member.pk) == "swierk s.a.\nswierk"
    created = Member.objects.bulk_create([
        Member(cluster=cluster, ref="bulk", name="Ćma Wytwórnia", legal_form="person", joined_on=member.joined_on),
    ])
    assert stored_search_text(Member, created[0].pk) == "cma wytwornia\nbulk"
    ppe = MeteringPointFactory(cluster=cluster, address="ul. Śląska 5")
    assert stored_search_text(MeteringPoint, ppe.pk) == f"{ppe.code}\nul. slaska 5"


def test_the_migration_fills_search_text_of_existing_rows(cluster, polish_members):
    member = polish_members["Śląskie Wodociągi S.A."]
    Member.objects.filter(cluster=cluster).update(search_text="")
    Gmina.objects.filter(terc="1061011").update(search_text="")
    migration = importlib.import_module("members.migrations.0005_polish_search")
    migration.search_text_fill(django_apps, SimpleNamespace(connection=connection))
    assert stored_search_text(Member, member.pk).startswith("slaskie wodociagi s.a.\n")
    assert stored_search_text(Gmina, "1061011") == "lodz"
    assert not Member.objects.filter(cluster=cluster, search_text="").exists()


def test_polish_order_works_on_any_text_expression(cluster):
    other = ClusterFactory()
    for name in ("Żywiec", "Zabrze", "łąka", "Lipa"):
        MemberFactory(cluster=other, name=name)
    names = list(Member.objects.filter(cluster=other).order_by(polish_order("name")).values_list("name", flat=True))
    assert names == ["Lipa", "łąka", "Zabrze", "Żywiec"]
    names = list(Member.objects.filter(cluster=other).order_by(polish_order("name", descending=True)).values_list("name", flat=True))
    assert names == ["Żywiec", "Zabrze", "łąka", "Lipa"]
