"""Eligibility of a settlement period: register entry, support start, JST, area, conditions."""

import datetime as dt

from django.utils import translation

from okeportal.messages import msg_render
from reports.settlement.eligibility import ConditionVerdict, Eligibility, EligibilityInput, eligibility_evaluate

MARCH = {"period_start": dt.date(2026, 3, 1), "period_end": dt.date(2026, 3, 31)}
OK = {"kind": "cluster", "area_ok": True, "support_earliest": dt.date(2024, 7, 2), "has_jst": True, "register_number": "KE/12/2024", "register_date": dt.date(2024, 9, 1),
      "conditions": [ConditionVerdict("res_share", "udział OZE", True)]}


def texts(result: Eligibility) -> list[str]:
    with translation.override("pl"):
        return [msg_render(r.as_json()) for r in result.reasons]


def test_a_registered_cluster_meeting_every_condition_is_eligible_for_the_whole_period():
    result = eligibility_evaluate(EligibilityInput(**OK, **MARCH))
    assert result.eligible and result.benefit_from == dt.date(2026, 3, 1) and result.reasons == ()


def test_no_jst_makes_the_period_ineligible_with_the_reason():
    result = eligibility_evaluate(EligibilityInput(**{**OK, "has_jst": False}, **MARCH))
    assert not result.eligible and result.benefit_from is None
    assert any("jednostki samorządu terytorialnego" in t for t in texts(result))


def test_a_cooperative_needs_no_jst():
    assert eligibility_evaluate(EligibilityInput(**{**OK, "kind": "cooperative", "has_jst": False}, **MARCH)).eligible


def test_no_register_entry_means_no_benefit():
    result = eligibility_evaluate(EligibilityInput(**{**OK, "register_date": None, "register_number": ""}, **MARCH))
    assert not result.eligible
    assert any("rejestru klastrów energii" in t for t in texts(result))


def test_hours_before_the_register_date_carry_no_benefit():
    result = eligibility_evaluate(EligibilityInput(**{**OK, "register_date": dt.date(2026, 3, 16)}, **MARCH))
    assert result.eligible and result.benefit_from == dt.date(2026, 3, 16)
    assert any("16" in t and "godziny wcześniejsze" in t for t in texts(result))


def test_a_register_entry_after_the_period_leaves_it_ineligible():
    result = eligibility_evaluate(EligibilityInput(**{**OK, "register_date": dt.date(2026, 4, 2)}, **MARCH))
    assert not result.eligible and result.benefit_from is None


def test_support_never_starts_before_the_mechanism_does():
    july = {"period_start": dt.date(2024, 7, 1), "period_end": dt.date(2024, 7, 31)}
    result = eligibility_evaluate(EligibilityInput(**{**OK, "register_date": dt.date(2024, 1, 15)}, **july))
    assert result.benefit_from == dt.date(2024, 7, 2)


def test_failed_area_and_condition_are_both_listed():
    facts = {**OK, "area_ok": False, "area_problems": ["gminy nie sąsiadują"],
             "conditions": [ConditionVerdict("res_share", "udział OZE", False)]}
    result = eligibility_evaluate(EligibilityInput(**facts, **MARCH))
    assert not result.eligible
    joined = " ".join(texts(result))
    assert "gminy nie sąsiadują" in joined and "udział OZE" in joined


def test_the_verdict_round_trips_through_json():
    result = eligibility_evaluate(EligibilityInput(**{**OK, "register_date": dt.date(2026, 3, 16)}, **MARCH))
    assert Eligibility.from_json(result.as_json()) == result
