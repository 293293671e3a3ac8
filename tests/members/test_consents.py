"""Consents: texts in force, the portal's confirmation step, the coordinator's list and the settlement panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from members.models import Consent, ConsentText
from members.services.consents import (
    consent_status_for_cluster,
    consent_texts_in_force,
    consent_texts_missing,
    consents_accept,
    ppes_without_authorisation,
)
from tests.factories import MemberFactory, MeteringPointFactory, PPEMembershipFactory, UserFactory


@pytest.fixture
def carol(cluster):
    """A member account that has confirmed nothing yet."""
    user = UserFactory(username="carol")
    MemberFactory(cluster=cluster, ref="carol", name="Karolina Zięba", user=user)
    return user


def test_it_seeds_one_polish_text_of_each_kind_in_force(db) -> None:
    texts = {t.kind: t for t in consent_texts_in_force()}
    assert set(texts) == {ConsentText.Kind.METER_DATA, ConsentText.Kind.PRIVACY}
    assert "koordynatora" in texts["meter_data"].text and texts["privacy"].version == "1.0"


def test_it_sends_a_new_member_account_to_confirm_before_the_portal(client, carol) -> None:
    client.force_login(carol)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:consents"))
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Upoważnienie do pozyskiwania danych pomiarowych" in page.content.decode()


def test_it_records_the_confirmation_with_version_date_and_user_and_lets_the_member_in(client, carol) -> None:
    client.force_login(carol)
    ids = [str(t.pk) for t in consent_texts_in_force()]
    response = client.post(reverse("portal:consents"), {"text": ids, "next": reverse("portal:data")})
    assert response.status_code == 302 and response["Location"] == reverse("portal:data")
    consents = Consent.objects.filter(member=carol.member)
    assert {c.text.kind for c in consents} == {"meter_data", "privacy"}
    assert all(c.accepted_by == carol and c.accepted_at.date() == timezone.localdate() for c in consents)
    assert client.get(reverse("portal:home")).status_code == 200


def test_it_saves_nothing_when_one_text_is_not_ticked(client, carol) -> None:
    client.force_login(carol)
    meter = consent_texts_in_force().get(kind="meter_data")
    response = client.post(reverse("portal:consents"), {"text": [str(meter.pk)]})
    assert response.status_code == 400 and "Informacja o przetwarzaniu danych osobowych" in response.content.decode()
    assert not Consent.objects.filter(member=carol.member).exists()


def test_it_never_redirects_after_confirmation_to_another_site(client, carol) -> None:
    client.force_login(carol)
    ids = [str(t.pk) for t in consent_texts_in_force()]
    response = client.post(reverse("portal:consents"), {"text": ids, "next": "https://evil.example/"})
    assert response["Location"] == reverse("portal:home")


def test_it_asks_again_when_a_newer_text_version_comes_into_force(client, alice) -> None:
    client.force_login(alice)
    assert client.get(reverse("portal:home")).status_code == 200
    newer = ConsentText.objects.create(kind="privacy", version="2.0", title="Informacja 2.0", text="Nowa treść.",
                                       valid_from=timezone.now() - dt.timedelta(minutes=1))
    ConsentText.objects.create(kind="privacy", version="3.0", title="Przyszła", text="Jeszcze nie.",
                               valid_from=timezone.now() + dt.timedelta(days=30))
    assert [t.pk for t in consent_texts_missing(member=alice.member)] == [newer.pk]
    assert client.get(reverse("portal:home"))["Location"].startswith(reverse("portal:consents"))


def test_the_service_refuses_when_a_text_in_force_was_not_shown(carol) -> None:
    meter = consent_texts_in_force().get(kind="meter_data")
    with pytest.raises(ValidationError, match="Informacja o przetwarzaniu"):
        consents_accept(member=carol.member, user=carol, text_ids=[meter.pk])
    assert not Consent.objects.exists() or not Consent.objects.filter(member=carol.member).exists()


def test_staff_accounts_are_not_asked(client, coordinator) -> None:
    client.force_login(coordinator)
    assert client.get(reverse("portal:home")).status_code == 404  # no member record: 404, not the consent page


def test_the_coordinator_lists_who_has_not_confirmed(client, coordinator, cluster, alice, carol) -> None:
    client.force_login(coordinator)
    response = client.get(reverse("members:consent-list", args=[cluster.slug]))
    assert response.status_code == 200
    rows = {r["member"].name: r for r in response.context["rows"]}
    assert rows["Karolina Zięba"]["complete"] is False and rows["Alicja Nowak"]["complete"] is True
    assert response.context["pending"] == 1
    assert response.context["rows"][0]["member"].name == "Karolina Zięba"  # the ones to chase first


def test_the_consent_list_is_cluster_staff_only(client, cluster, outsider, alice, carol) -> None:
    client.force_login(outsider)
    assert client.get(reverse("members:consent-list", args=[cluster.slug])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("members:consent-list", args=[cluster.slug])).status_code == 404


@pytest.mark.parametrize("count", [2, 12])
def test_the_consent_list_runs_a_constant_number_of_queries(
    client, coordinator, cluster, count, django_assert_max_num_queries
) -> None:
    texts = list(consent_texts_in_force())
    for i in range(count):
        user = UserFactory(username=f"m{i}")
        member = MemberFactory(cluster=cluster, ref=f"m{i}", user=user)
        if i % 2:
            consents_accept(member=member, user=user, text_ids=[t.pk for t in texts])
    client.force_login(coordinator)
    client.get(reverse("members:consent-list", args=[cluster.slug]))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("members:consent-list", args=[cluster.slug]))
    assert len(response.context["rows"]) == count and response.context["pending"] == (count + 1) // 2


def test_it_lists_ppes_whose_member_has_no_authorisation(cluster, alice, carol) -> None:
    ppe_a, ppe_c, ppe_old = (MeteringPointFactory(cluster=cluster) for _ in range(3))
    PPEMembershipFactory(ppe=ppe_a, member=alice.member, valid_from=dt.date(2025, 1, 1))
    PPEMembershipFactory(ppe=ppe_c, member=carol.member, valid_from=dt.date(2025, 1, 1))
    PPEMembershipFactory(ppe=ppe_old, member=carol.member, valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2024, 12, 31))
    rows = ppes_without_authorisation(
        member_ids=[alice.member.pk, carol.member.pk], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    assert [(r["member"].pk, r["ppe"].pk) for r in rows] == [(carol.member.pk, ppe_c.pk)]


def test_the_cluster_status_counts_an_authorisation_of_any_version(cluster, alice) -> None:
    ConsentText.objects.create(kind="meter_data", version="2.0", title="Upoważnienie 2.0", text="…",
                               valid_from=timezone.now() - dt.timedelta(minutes=1))
    row = consent_status_for_cluster(cluster=cluster)["rows"][0]
    assert row["complete"] is False and row["authorised"] is True


def test_the_settlement_result_lists_ppes_without_authorisation(client, cluster, coordinator, alice, carol) -> None:
    from tests.reports.factories import SettlementLineFactory, march_run

    ppe = MeteringPointFactory(cluster=cluster, code="590000000000000777")
    PPEMembershipFactory(ppe=ppe, member=carol.member, valid_from=dt.date(2025, 1, 1))
    run = march_run(cluster)
    SettlementLineFactory(run=run, member=alice.member, member_name="Alicja Nowak")
    SettlementLineFactory(run=run, member=carol.member, member_name="Karolina Zięba")
    client.force_login(coordinator)
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="run-missing-authorisation"' in html and "590000000000000777" in html
    consents_accept(member=carol.member, user=carol, text_ids=[t.pk for t in consent_texts_in_force()])
    html = client.get(reverse("reports:settlement-detail", args=[cluster.slug, run.pk])).content.decode()
    assert 'id="run-missing-authorisation"' not in html


def test_the_admin_keeps_confirmed_texts_and_confirmations_unchanged(client, alice) -> None:
    from members.models import Consent
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    consent = Consent.objects.filter(member=alice.member).first()
    assert consent is not None
    page = client.get(f"/admin/members/consenttext/{consent.text_id}/change/").content.decode()
    assert 'name="text"' not in page  # confirmed: read-only
    assert client.get("/admin/members/consent/").status_code == 200
    assert client.post(f"/admin/members/consent/{consent.pk}/delete/", {"post": "yes"}).status_code == 403
