from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from members.models import DSO
from members.services.validators import (
    krs_validate,
    member_identifiers_validate,
    nip_validate,
    pesel_validate,
    ppe_code_check,
    regon_validate,
)
from tests.factories import ppe_code

pytestmark = pytest.mark.django_db


def test_it_accepts_a_nip_with_dashes_and_returns_digits() -> None:
    assert nip_validate("521-301-72-28") == "5213017228"


def test_it_names_nip_and_checksum_for_a_bad_nip() -> None:
    with pytest.raises(ValidationError) as exc:
        nip_validate("5213017229")
    assert "NIP 5213017229" in exc.value.messages[0]
    assert "cyfra kontrolna" in exc.value.messages[0]


def test_it_reports_the_length_of_a_short_nip() -> None:
    with pytest.raises(ValidationError, match="długość"):
        nip_validate("521301722")


def test_it_checks_regon_of_9_and_14_digits() -> None:
    assert regon_validate("123456785") == "123456785"
    with pytest.raises(ValidationError, match="REGON 123456786"):
        regon_validate("123456786")


def test_it_checks_pesel_checksum_and_birth_date() -> None:
    assert pesel_validate("44051401359") == "44051401359"
    with pytest.raises(ValidationError, match="cyfra kontrolna"):
        pesel_validate("44051401358")
    with pytest.raises(ValidationError, match="daty|datą"):
        pesel_validate("44991401350")


def test_it_pads_krs_and_refuses_letters() -> None:
    assert krs_validate("123456") == "0000123456"
    with pytest.raises(ValidationError, match="KRS"):
        krs_validate("12345A7890")
    with pytest.raises(ValidationError, match="10 cyfr"):
        krs_validate("12345678901")


def test_it_accepts_a_gs1_ppe_code_of_the_right_dso() -> None:
    tauron = DSO.objects.get(slug="tauron")
    code = ppe_code(42)
    assert ppe_code_check(code, dso=tauron).is_legacy is False


def test_it_names_the_expected_check_digit() -> None:
    tauron = DSO.objects.get(slug="tauron")
    code = ppe_code(42)
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as exc:
        ppe_code_check(wrong, dso=tauron)
    assert f"powinna być {code[-1]}" in exc.value.messages[0]


def test_it_names_the_expected_prefix_of_the_dso() -> None:
    tauron = DSO.objects.get(slug="tauron")
    with pytest.raises(ValidationError) as exc:
        ppe_code_check(ppe_code(42, prefix="5905435"), dso=tauron)
    assert "5903224" in exc.value.messages[0]
    assert "Tauron" in exc.value.messages[0]


def test_it_refuses_a_590_code_of_wrong_length() -> None:
    with pytest.raises(ValidationError, match="18 cyfr"):
        ppe_code_check("59032240000001", dso=DSO.objects.get(slug="tauron"))


def test_it_accepts_an_old_dso_code_as_legacy() -> None:
    result = ppe_code_check("pltaud 123456789", dso=DSO.objects.get(slug="tauron"))
    assert result == result.__class__(code="PLTAUD123456789", is_legacy=True)


def test_it_refuses_a_code_that_is_neither_gs1_nor_legacy() -> None:
    with pytest.raises(ValidationError, match="ani kod GS1"):
        ppe_code_check("AB#1", dso=DSO.objects.get(slug="tauron"))


def test_it_requires_nip_and_regon_of_a_company_but_not_krs() -> None:
    errors = member_identifiers_validate(legal_form="small_enterprise", nip="", regon="", krs="", pesel="")
    assert set(errors) == {"nip", "regon"}
    assert member_identifiers_validate(legal_form="small_enterprise", nip="5213017228", regon="123456785") == {}


def test_it_requires_nothing_of_a_person_and_refuses_pesel_elsewhere() -> None:
    assert member_identifiers_validate(legal_form="person") == {}
    assert "pesel" in member_identifiers_validate(legal_form="person", pesel="44051401358")
    assert "pesel" in member_identifiers_validate(
        legal_form="jst", nip="6350000009", regon="276057374", pesel="44051401359"
    )


def test_it_requires_nip_and_regon_of_a_jst_and_regon_of_its_unit() -> None:
    assert set(member_identifiers_validate(legal_form="jst")) == {"nip", "regon"}
    assert set(member_identifiers_validate(legal_form="jst_unit")) == {"regon"}
