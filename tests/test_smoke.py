from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import DSO, Gmina


@pytest.mark.django_db
def test_it_loads_teryt_with_neighbours() -> None:
    orzesze = Gmina.objects.get(terc="2408031")
    assert orzesze.powiat_name == "mikołowski"
    assert {g.terc for g in orzesze.neighbours.all()} == {
        "2408011", "2408021", "2408042", "2408052", "2410022", "2410062", "2412013", "2479011",
    }
    assert DSO.objects.get(slug="tauron").ppe_prefix == "5903224"


def test_it_redirects_anonymous_users_to_login(client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_speaks_polish_even_to_an_english_browser(client) -> None:
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "pl"
    assert "Zaloguj się" in response.content.decode()


def test_it_switches_to_english_on_request(client) -> None:
    client.cookies["django_language"] = "en"
    response = client.get(reverse("login"))
    assert response["Content-Language"] == "en"
