"""The PPE list's member filter: one option per member, the chosen one selected, labels escaped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_it_offers_every_member_and_keeps_the_choice(client, coordinator, cluster):
    members = [MemberFactory(cluster=cluster, name=f"Firma {i} & Syn") for i in range(3)]
    client.force_login(coordinator)
    response = client.get(reverse("members:ppe-list", kwargs={"cluster_slug": cluster.slug}), {"member": members[1].pk})
    html = response.content.decode()
    select = html[html.index('<select name="member"') : html.index("</select>", html.index('<select name="member"'))]
    assert select.count("<option") == len(members) + 1  # and "wszyscy"
    assert f'<option value="{members[1].pk}" selected>Firma 1 &amp; Syn' in select
    assert f'<option value="{members[0].pk}">' in select
    assert 'id="id_member"' in select and "form-select" in select
