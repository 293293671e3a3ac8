"""Safe registry actions: confirmation before leaving, transfer, PPE removal and membership dates;
recorded actions that can be undone exactly, unless something was published since; history pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.models import Member, PPEMembership, RegistryAction
from members.services.actions import (
    registry_action_leave,
    registry_action_membership_dates,
    registry_action_remove,
    registry_action_transfer,
    registry_action_undo,
)
from members.services.registry import member_update, ppe_update
from reports.models import RunOutdatedReason, Statement
from tests.factories import GeneratorFactory, MemberFactory, MeteringPointFactory, PPEMembershipFactory
from tests.reports.factories import SettlementLineFactory, SettlementRunFactory

pytestmark = pytest.mark.django_db


def url(name: str, cluster, **kwargs) -> str:
    return reverse(f"members:{name}", kwargs={"cluster_slug": cluster.slug, **kwargs})


def registry_state() -> tuple:
    return (
        list(Member.objects.values_list("pk", "left_on").order_by("pk")),
        list(PPEMembership.objects.values_list("pk", "ppe_id", "member_id", "valid_from", "valid_to").order_by("pk")),
        list(RegistryAction.objects.values_list("pk", "reversed_at").order_by("pk")),
        RunOutdatedReason.objects.count(),
    )


@pytest.fixture
def reg(cluster):
    """Alfa with two PPEs since 2024, Beta without PPEs, and a finished 2025 run (not published)."""
    alfa = MemberFactory(cluster=cluster, ref="alfa", name="Alfa", joined_on=dt.date(2024, 1, 1), legal_form="person", nip="")
    beta = MemberFactory(cluster=cluster, ref="beta", name="Beta", joined_on=dt.date(2024, 1, 1))
    p1, p2 = MeteringPointFactory(cluster=cluster), MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=p1, member=alfa, valid_from=dt.date(2024, 1, 1))
    PPEMembershipFactory(ppe=p2, member=alfa, valid_from=dt.date(2024, 3, 1))
    run = SettlementRunFactory(cluster=cluster, period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
    return alfa, beta, p1, p2, run


def publish(run, member, *, at: dt.datetime) -> Statement:
    """A published statement of ``run`` for ``member``, published at ``at``."""
    line = SettlementLineFactory(run=run, member=member)
    return Statement.objects.create(
        run=run, line=line, member=member, number=f"ZK/{run.pk}/{member.pk}", status=Statement.Status.PUBLISHED,
        published_at=at,
    )


# --- confirmation through the views ----------------------------------------------


def test_it_shows_what_leaving_changes_and_changes_nothing_before_confirmation(client, coordinator, cluster, reg):
    alfa, _beta, p1, _p2, _run = reg
    client.force_login(coordinator)
    before = registry_state()
    response = client.post(url("member-leave", cluster, pk=alfa.pk), {"on": "2025-06-30"})
    assert response.status_code == 200
    assert response.templates[0].name == "members/confirm_action.html"
    html = response.content.decode()
    assert "Alfa: data wystąpienia" in html and "30.06.2025" in html
    assert f"PPE {p1.code}, Alfa: przynależność" in html and "01.01.2024 – 30.06.2025" in html
    assert "01.01.2025 – 31.12.2025" in html  # the run that becomes outdated
    assert 'name="confirm" value="1"' in html and 'name="on" value="2025-06-30"' in html
    assert registry_state() == before
    alfa.refresh_from_db()
    assert alfa.left_on is None

    response = client.post(url("member-leave", cluster, pk=alfa.pk), {"on": "2025-06-30", "confirm": "1"})
    assert response.status_code == 302
    alfa.refresh_from_db()
    assert alfa.left_on == dt.date(2025, 6, 30)
    action = RegistryAction.objects.get()
    assert (action.kind, action.member, action.created_by) == ("leave", alfa, coordinator)
    assert action.before["members"] == {str(alfa.pk): {"left_on": None}}
    assert action.after["members"] == {str(alfa.pk): {"left_on": "2025-06-30"}}
    assert action.before["memberships"] == {str(m.pk): {"valid_to": None} for m in alfa.ppe_memberships.all()}
    assert action.after["memberships"] == {str(m.pk): {"valid_to": "2025-06-30"} for m in alfa.ppe_memberships.all()}


def test_it_warns_when_the_outdated_runs_have_published_statements(client, coordinator, cluster, reg):
    alfa, beta, p1, _p2, run = reg
    publish(run, alfa, at=timezone.now() - dt.timedelta(days=1))
    client.force_login(coordinator)
    response = client.post(url("ppe-transfer", cluster, pk=p1.pk), {"to_member": beta.pk, "on": "2025-07-01"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="published-warning"' in html and "opublikowane" in html
    assert p1.memberships.count() == 1


def test_it_names_the_field_and_rule_on_bad_input_and_changes_nothing(client, coordinator, cluster, reg):
    alfa, beta, p1, _p2, _run = reg
    client.force_login(coordinator)
    before = registry_state()
    response = client.post(url("member-leave", cluster, pk=alfa.pk), {"on": "2023-12-31"})
    assert response.status_code == 200 and "data przystąpienia" in response.content.decode()
    response = client.post(url("member-leave", cluster, pk=alfa.pk), {"on": "2023-12-31", "confirm": "1"})
    assert response.status_code == 200 and response.context["leave_form"].non_field_errors()
    response = client.post(url("ppe-remove", cluster, pk=p1.pk), {"on": "2023-06-30", "confirm": "1"})
    assert response.status_code == 200 and p1.code in " ".join(response.context["remove_form"].non_field_errors())
    membership = p1.memberships.get()
    response = client.post(
        url("ppe-membership-dates", cluster, pk=p1.pk),
        {"membership": membership.pk, "valid_from": "2023-06-01", "valid_to": "", "confirm": "1"},
    )
    assert "przed przystąpieniem członka" in " ".join(response.context["dates_form"].non_field_errors())
    response = client.post(url("member-leave", cluster, pk=alfa.pk), {"on": ""})
    assert response.status_code == 200 and "on" in response.context["leave_form"].errors
    assert registry_state() == before


def test_it_removes_a_ppe_from_the_cluster_after_confirmation(client, coordinator, cluster, reg):
    _alfa, _beta, p1, _p2, run = reg
    client.force_login(coordinator)
    response = client.post(url("ppe-remove", cluster, pk=p1.pk), {"on": "2025-09-30"})
    assert response.status_code == 200 and "01.01.2024 – 30.09.2025" in response.content.decode()
    assert p1.memberships.get().valid_to is None
    response = client.post(url("ppe-remove", cluster, pk=p1.pk), {"on": "2025-09-30", "confirm": "1"})
    assert response.status_code == 302
    assert p1.memberships.get().valid_to == dt.date(2025, 9, 30)
    assert RegistryAction.objects.get().kind == "remove"
    assert list(RunOutdatedReason.objects.filter(run=run).values_list("code", flat=True)) == ["membership"]


def test_it_moves_membership_dates_after_confirmation(client, coordinator, cluster, reg):
    _alfa, _beta, _p1, p2, _run = reg
    membership = p2.memberships.get()
    client.force_login(coordinator)
    data = {"membership": membership.pk, "valid_from": "2024-02-01", "valid_to": "2025-10-31"}
    response = client.post(url("ppe-membership-dates", cluster, pk=p2.pk), data)
    assert response.status_code == 200 and "01.03.2024 – …" in response.content.decode()
    response = client.post(url("ppe-membership-dates", cluster, pk=p2.pk), {**data, "confirm": "1"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.valid_from, membership.valid_to) == (dt.date(2024, 2, 1), dt.date(2025, 10, 31))
    action = RegistryAction.objects.get()
    assert action.before["memberships"] == {str(membership.pk): {"valid_from": "2024-03-01", "valid_to": None}}
    assert action.after["memberships"] == {str(membership.pk): {"valid_from": "2024-02-01", "valid_to": "2025-10-31"}}


def test_the_forms_offer_no_date(client, coordinator, cluster, reg):
    alfa, _beta, p1, _p2, _run = reg
    client.force_login(coordinator)
    assert client.get(url("member-detail", cluster, pk=alfa.pk)).context["leave_form"]["on"].value() is None
    page = client.get(url("ppe-detail", cluster, pk=p1.pk)).context
    assert page["transfer_form"]["on"].value() is None and page["remove_form"]["on"].value() is None


# --- undo -------------------------------------------------------------------------


def full_state() -> tuple:
    return (
        list(Member.objects.values_list("pk", "left_on").order_by("pk")),
        list(PPEMembership.objects.values_list("pk", "ppe_id", "member_id", "valid_from", "valid_to").order_by("pk")),
    )


@pytest.mark.parametrize("kind", ["leave", "transfer", "remove", "membership_dates"])
def test_it_undoes_each_kind_exactly_and_records_the_reversal(cluster, coordinator, reg, kind):
    alfa, beta, p1, p2, run = reg
    original = full_state()
    do = {
        "leave": lambda: registry_action_leave(member=alfa, on=dt.date(2025, 6, 30), user=coordinator),
        "transfer": lambda: registry_action_transfer(ppe=p1, to_member=beta, on=dt.date(2025, 7, 1), user=coordinator),
        "remove": lambda: registry_action_remove(ppe=p2, on=dt.date(2025, 8, 31), user=coordinator),
        "membership_dates": lambda: registry_action_membership_dates(
            membership=p2.memberships.get(), valid_from=dt.date(2025, 2, 1), valid_to=dt.date(2025, 5, 31), user=coordinator
        ),
    }[kind]
    action = do()
    assert full_state() != original
    reasons_before = RunOutdatedReason.objects.filter(run=run).count()
    reversal = registry_action_undo(action=action, user=coordinator)
    assert full_state() == original
    action.refresh_from_db()
    assert action.reversed_at is not None and action.reversed_by == coordinator
    assert (reversal.reversal_of, reversal.kind, reversal.created_by) == (action, kind, coordinator)
    assert reversal.before == action.after and reversal.after == action.before
    # The undo is a change of the run's period too.
    assert RunOutdatedReason.objects.filter(run=run).count() == reasons_before + 1
    assert "cofnięto" in RunOutdatedReason.objects.filter(run=run).last().detail


def test_it_refuses_to_undo_twice(cluster, coordinator, reg):
    alfa, *_ = reg
    action = registry_action_leave(member=alfa, on=dt.date(2025, 6, 30), user=coordinator)
    registry_action_undo(action=action, user=coordinator)
    state = registry_state()
    with pytest.raises(ValidationError, match="już cofnięta"):
        registry_action_undo(action=action, user=coordinator)
    assert registry_state() == state


def test_it_refuses_to_undo_after_a_publication_and_changes_nothing(client, cluster, coordinator, reg):
    alfa, beta, p1, _p2, run = reg
    action = registry_action_transfer(ppe=p1, to_member=beta, on=dt.date(2025, 7, 1), user=coordinator)
    publish(run, alfa, at=timezone.now() + dt.timedelta(seconds=1))
    state = registry_state()
    with pytest.raises(ValidationError, match="opublikowano"):
        registry_action_undo(action=action, user=coordinator)
    assert registry_state() == state
    client.force_login(coordinator)
    response = client.post(url("action-undo", cluster, pk=action.pk), {"confirm": "1"}, follow=True)
    assert "opublikowano" in response.content.decode() and registry_state() == state
    history = client.get(url("ppe-history", cluster, pk=p1.pk)).content.decode()
    assert "nie można cofnąć" in history and reverse("members:action-undo", args=[cluster.slug, action.pk]) not in history


def test_a_publication_before_the_action_does_not_block_its_undo(cluster, coordinator, reg):
    alfa, beta, p1, _p2, run = reg
    publish(run, alfa, at=timezone.now() - dt.timedelta(days=2))
    action = registry_action_transfer(ppe=p1, to_member=beta, on=dt.date(2025, 7, 1), user=coordinator)
    registry_action_undo(action=action, user=coordinator)
    assert p1.memberships.get().member == alfa


def test_it_refuses_to_undo_when_a_later_action_touched_the_same_ppe(cluster, coordinator, reg):
    alfa, beta, p1, _p2, _run = reg
    first = registry_action_transfer(ppe=p1, to_member=beta, on=dt.date(2025, 7, 1), user=coordinator)
    second = registry_action_remove(ppe=p1, on=dt.date(2025, 9, 30), user=coordinator)
    state = registry_state()
    with pytest.raises(ValidationError, match="Później wykonano akcję"):
        registry_action_undo(action=first, user=coordinator)
    assert registry_state() == state
    registry_action_undo(action=second, user=coordinator)
    registry_action_undo(action=first, user=coordinator)
    assert [(m.member, m.valid_to) for m in p1.memberships.all()] == [(alfa, None)]


def test_it_refuses_to_undo_when_the_rows_were_edited_otherwise(cluster, coordinator, reg):
    _alfa, _beta, _p1, p2, _run = reg
    action = registry_action_remove(ppe=p2, on=dt.date(2025, 8, 31), user=coordinator)
    PPEMembership.objects.filter(ppe=p2).update(valid_to=dt.date(2025, 9, 30))
    with pytest.raises(ValidationError, match="zmieniono później"):
        registry_action_undo(action=action, user=coordinator)
    assert p2.memberships.get().valid_to == dt.date(2025, 9, 30)


def test_undo_goes_through_a_confirmation_page(client, cluster, coordinator, reg):
    alfa, *_ = reg
    action = registry_action_leave(member=alfa, on=dt.date(2025, 6, 30), user=coordinator)
    client.force_login(coordinator)
    response = client.post(url("action-undo", cluster, pk=action.pk))
    assert response.status_code == 200 and "Potwierdź cofnięcie" in response.content.decode()
    alfa.refresh_from_db()
    assert alfa.left_on == dt.date(2025, 6, 30)
    response = client.post(url("action-undo", cluster, pk=action.pk), {"confirm": "1"})
    assert response.status_code == 302
    alfa.refresh_from_db()
    assert alfa.left_on is None


def test_staff_of_another_cluster_cannot_undo(client, outsider, cluster, coordinator, reg):
    alfa, *_ = reg
    action = registry_action_leave(member=alfa, on=dt.date(2025, 6, 30), user=coordinator)
    client.force_login(outsider)
    state = registry_state()
    for data in (None, {"confirm": "1"}):
        assert client.post(url("action-undo", cluster, pk=action.pk), data).status_code == 404
    assert client.get(url("member-history", cluster, pk=alfa.pk)).status_code == 404
    assert registry_state() == state


# --- history pages -------------------------------------------------------------------


def test_the_history_shows_field_changes_old_to_new_with_who_and_when(client, cluster, coordinator, reg):
    alfa, _beta, p1, _p2, _run = reg
    member_update(member=alfa, data={"city": "Mikołów"})
    ppe_update(ppe=p1, data={"contracted_kw": p1.contracted_kw + 2, "tariff_group": "C12a"})
    client.force_login(coordinator)
    html = client.get(url("member-history", cluster, pk=alfa.pk)).content.decode()
    assert "Miejscowość: Orzesze → Mikołów" in html
    html = client.get(url("ppe-history", cluster, pk=p1.pk)).content.decode()
    assert "Moc umowna [kW]: 40 → 42" in html and "Grupa taryfowa: C11 → C12a" in html
    client.post(url("member-leave", cluster, pk=alfa.pk), {"on": "2025-06-30", "confirm": "1"})
    html = client.get(url("member-history", cluster, pk=alfa.pk)).content.decode()
    assert "Data wystąpienia: — → 30.06.2025" in html and "Do (włącznie): — → 30.06.2025" in html
    assert "Anna Koordynator" in html  # who made the change through the page
    assert "Cofnij" in html


def test_the_pages_link_the_history_for_every_coordinator(client, cluster, coordinator, reg):
    alfa, _beta, p1, _p2, _run = reg
    client.force_login(coordinator)
    assert url("member-history", cluster, pk=alfa.pk) in client.get(url("member-detail", cluster, pk=alfa.pk)).content.decode()
    assert url("ppe-history", cluster, pk=p1.pk) in client.get(url("ppe-detail", cluster, pk=p1.pk)).content.decode()


def test_history_pages_use_a_bounded_number_of_queries(client, cluster, coordinator, reg):
    alfa, beta, p1, p2, _run = reg

    def count(address: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        return len(queries)

    client.force_login(coordinator)
    member_update(member=alfa, data={"city": "Rybnik"})
    registry_action_transfer(ppe=p1, to_member=beta, on=dt.date(2024, 12, 1), user=coordinator)
    GeneratorFactory(ppe=p1)
    count(url("member-history", cluster, pk=alfa.pk))  # the first request of a session saves it
    small_member, small_ppe = count(url("member-history", cluster, pk=alfa.pk)), count(url("ppe-history", cluster, pk=p1.pk))
    for i in range(6):
        member_update(member=alfa, data={"city": f"Miasto {i}"})
        ppe_update(ppe=p1, data={"tariff_group": f"C1{i}"})
        GeneratorFactory(ppe=p1)
        action = registry_action_transfer(ppe=p1, to_member=alfa if i % 2 == 0 else beta, on=dt.date(2025, 1 + i, 1), user=coordinator)
        assert action.pk
    registry_action_leave(member=alfa, on=dt.date(2025, 12, 31), user=coordinator)
    assert count(url("member-history", cluster, pk=alfa.pk)) == small_member
    assert count(url("ppe-history", cluster, pk=p1.pk)) == small_ppe


# --- any sequence of actions, undone newest first, gives the registry back exactly ----------


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["leave", "transfer", "remove", "membership_dates"]),
        st.integers(min_value=0, max_value=2),  # which member / PPE
        st.integers(min_value=0, max_value=2),  # which other member
        st.integers(min_value=-400, max_value=900),  # days after 2024-06-01
        st.integers(min_value=0, max_value=400),  # length, for membership dates
    ),
    min_size=1, max_size=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_actions_undone_newest_first_restores_the_registry(cluster, coordinator, operations):
    with transaction.atomic():
        members = [MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1)) for _ in range(3)]
        ppes = [MeteringPointFactory(cluster=cluster) for _ in range(3)]
        for i, ppe in enumerate(ppes):
            PPEMembershipFactory(ppe=ppe, member=members[i % 2], valid_from=dt.date(2024, 1, 1) + dt.timedelta(days=30 * i))
        original = full_state()
        done: list[RegistryAction] = []
        for kind, target, other, offset, length in operations:
            on = dt.date(2024, 6, 1) + dt.timedelta(days=offset)
            ppe = ppes[target]
            membership = ppe.memberships.order_by("-valid_from").first()
            state = full_state()
            try:
                if kind == "leave":
                    action = registry_action_leave(member=members[target], on=on, user=coordinator)
                elif kind == "transfer":
                    action = registry_action_transfer(ppe=ppe, to_member=members[other], on=on, user=coordinator)
                elif kind == "remove":
                    action = registry_action_remove(ppe=ppe, on=on, user=coordinator)
                else:
                    action = registry_action_membership_dates(
                        membership=membership, valid_from=on, valid_to=on + dt.timedelta(days=length) if length else None,
                        user=coordinator,
                    )
            except ValidationError:
                assert full_state() == state  # a refused action changes nothing
                for m in members:
                    m.refresh_from_db()
                continue
            done.append(action)
        for action in reversed(done):
            registry_action_undo(action=action, user=coordinator)
        assert full_state() == original
        transaction.set_rollback(True)


def test_the_confirmation_lists_the_runs_a_member_without_ppes_outdates_by_leaving(client, coordinator, cluster, reg):
    _alfa, beta, *_rest, run = reg
    client.force_login(coordinator)
    response = client.post(url("member-leave", cluster, pk=beta.pk), {"on": "2025-03-31"})
    assert "01.01.2025 – 31.12.2025" in response.content.decode()
    client.post(url("member-leave", cluster, pk=beta.pk), {"on": "2025-03-31", "confirm": "1"})
    assert RunOutdatedReason.objects.filter(run=run, code="leaving").exists()


def test_a_change_outside_every_run_lists_no_run(client, coordinator, cluster, reg):
    _alfa, beta, p1, *_ = reg
    client.force_login(coordinator)
    response = client.post(url("ppe-transfer", cluster, pk=p1.pk), {"to_member": beta.pk, "on": "2026-02-01"})
    assert "Żadne zakończone rozliczenie nie obejmuje zmienionego okresu." in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_undos_at_once_restore_once(cluster, coordinator, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two writers at once need PostgreSQL")
    import threading

    from django.db import close_old_connections

    from members.services import actions as actions_module

    alfa = MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1))
    beta = MemberFactory(cluster=cluster, joined_on=dt.date(2024, 1, 1))
    ppe = MeteringPointFactory(cluster=cluster)
    PPEMembershipFactory(ppe=ppe, member=alfa, valid_from=dt.date(2024, 1, 1))
    action = registry_action_transfer(ppe=ppe, to_member=beta, on=dt.date(2025, 7, 1), user=coordinator)
    outcome: list[str] = []

    def second_undo() -> None:
        try:
            registry_action_undo(action=RegistryAction.objects.get(pk=action.pk), user=coordinator)
            outcome.append("undone")
        except ValidationError as exc:
            outcome.append(" ".join(exc.messages))
        finally:
            close_old_connections()

    restore = actions_module._restore
    started: list[threading.Thread] = []

    def restore_while_another_undo_starts(state, *, cluster_id):
        # The first undo holds its locks here; the second one starts and must wait for them.
        thread = threading.Thread(target=second_undo)
        thread.start()
        started.append(thread)
        restore(state, cluster_id=cluster_id)

    monkeypatch.setattr(actions_module, "_restore", restore_while_another_undo_starts)
    registry_action_undo(action=action, user=coordinator)
    monkeypatch.setattr(actions_module, "_restore", restore)
    started[0].join()
    assert len(outcome) == 1 and "już cofnięta" in outcome[0]
    assert RegistryAction.objects.filter(reversal_of=action).count() == 1
    assert [(m.member_id, m.valid_to) for m in ppe.memberships.all()] == [(alfa.pk, None)]


def test_it_refuses_a_membership_of_another_ppe_in_the_dates_form(client, coordinator, cluster, other_cluster, reg):
    _alfa, _beta, p1, p2, _run = reg
    foreign = PPEMembershipFactory(
        ppe=MeteringPointFactory(cluster=other_cluster), member=MemberFactory(cluster=other_cluster)
    )
    client.force_login(coordinator)
    state = registry_state()
    for membership in (p2.memberships.get(), foreign):
        response = client.post(
            url("ppe-membership-dates", cluster, pk=p1.pk),
            {"membership": membership.pk, "valid_from": "2024-05-01", "valid_to": "", "confirm": "1"},
        )
        assert response.status_code == 200 and "membership" in response.context["dates_form"].errors
    assert registry_state() == state


def test_the_member_page_shows_recent_field_changes_not_just_their_type(client, coordinator, cluster, reg):
    alfa, *_ = reg
    member_update(member=alfa, data={"city": "Mikołów"})
    client.force_login(coordinator)
    html = client.get(url("member-detail", cluster, pk=alfa.pk)).content.decode()
    assert "Miejscowość: Orzesze → Mikołów" in html and "Zmodyfikowan" not in html
