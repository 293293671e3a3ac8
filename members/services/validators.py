"""Polish identifiers and PPE codes, checked with python-stdnum.

Each ``*_validate`` returns the compact number (digits only) or raises
``ValidationError`` with a Polish message naming the identifier and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip, pesel, regon

from members.models import LegalForm, MeteringPoint

if TYPE_CHECKING:
    from types import ModuleType

    from members.models import DSO

_LEGACY_PPE = re.compile(r"^[A-Z0-9][A-Z0-9_\-/.]{4,38}[A-Z0-9]$")
_GS1_PPE_LENGTH = 18


def _stdnum_validate(module: ModuleType, label: str, value: str, lengths: str) -> str:
    compact = module.compact(value or "")
    try:
        return module.validate(compact)
    except InvalidChecksum:
        raise ValidationError(
            _("%(label)s %(value)s: nieprawidłowa cyfra kontrolna.") % {"label": label, "value": compact},
            code="checksum",
        ) from None
    except InvalidLength:
        raise ValidationError(
            _("%(label)s %(value)s: nieprawidłowa długość (wymagane %(lengths)s cyfr).")
            % {"label": label, "value": compact, "lengths": lengths},
            code="length",
        ) from None
    except (InvalidFormat, InvalidComponent):
        raise ValidationError(
            _("%(label)s %(value)s: dozwolone są tylko cyfry (wymagane %(lengths)s).")
            % {"label": label, "value": compact, "lengths": lengths},
            code="format",
        ) from None
    except StdnumError as exc:  # any other stdnum rule (e.g. PESEL birth date)
        raise ValidationError(
            _("%(label)s %(value)s: %(error)s") % {"label": label, "value": compact, "error": exc}, code="invalid"
        ) from None


def nip_validate(value: str) -> str:
    return _stdnum_validate(nip, "NIP", value, "10")


def regon_validate(value: str) -> str:
    return _stdnum_validate(regon, "REGON", value, _("9 lub 14"))


def pesel_validate(value: str) -> str:
    compact = pesel.compact(value or "")
    try:
        return pesel.validate(compact)
    except InvalidComponent:
        raise ValidationError(
            _("PESEL %(value)s: pierwsze sześć cyfr nie jest prawidłową datą urodzenia.") % {"value": compact},
            code="birth_date",
        ) from None
    except StdnumError:
        return _stdnum_validate(pesel, "PESEL", compact, "11")


def krs_validate(value: str) -> str:
    # The KRS number has no check digit: only its form (10 digits, zero-padded) can be checked.
    compact = re.sub(r"[\s\-]", "", value or "")
    if compact.isdigit() and len(compact) < 10:
        compact = compact.zfill(10)
    if not (compact.isdigit() and len(compact) == 10) or compact == "0" * 10:
        raise ValidationError(
            _("KRS %(value)s: numer KRS to 10 cyfr (z zerami wiodącymi, np. 0000123456).") % {"value": compact},
            code="format",
        )
    return compact


@dataclass(frozen=True)
class PPECode:
    code: str
    is_legacy: bool


def ppe_code_check(code: str, *, dso: DSO) -> PPECode:
    """Check a PPE code against the GS1 scheme and the DSO's company prefix.

    Codes of the central market system are 18-digit GS1 numbers starting 590;
    older DSO-specific codes (letters and digits) are accepted as legacy.
    """
    compact = re.sub(r"\s", "", code or "").upper()
    if not compact:
        raise ValidationError(_("Kod PPE jest wymagany."), code="required")
    if compact.startswith("590"):
        if not compact.isdigit() or len(compact) != _GS1_PPE_LENGTH:
            raise ValidationError(
                ngettext(
                    "Kod PPE %(code)s: kod w formacie GS1 (590…) ma 18 cyfr, a ten ma %(n)s znak%(extra)s.",
                    "Kod PPE %(code)s: kod w formacie GS1 (590…) ma 18 cyfr, a ten ma %(n)s znaków%(extra)s.",
                    len(compact),
                )
                % {
                    "code": compact,
                    "n": len(compact),
                    "extra": "" if compact.isdigit() else _(" i zawiera znaki inne niż cyfry"),
                },
                code="ppe_length",
            )
        expected = ean.calc_check_digit(compact[:-1])
        if compact[-1] != expected:
            raise ValidationError(
                _("Kod PPE %(code)s: błędna cyfra kontrolna GS1 (mod 10) — jest %(got)s, powinna być %(expected)s.")
                % {"code": compact, "got": compact[-1], "expected": expected},
                code="ppe_checksum",
            )
        if dso.ppe_prefix and not compact.startswith(dso.ppe_prefix):
            raise ValidationError(
                _("Kod PPE %(code)s: prefiks nie pasuje do OSD %(dso)s — kody tego operatora zaczynają się od %(prefix)s.")
                % {"code": compact, "dso": dso.name, "prefix": dso.ppe_prefix},
                code="ppe_prefix",
            )
        return PPECode(code=compact, is_legacy=False)
    if _LEGACY_PPE.match(compact):
        return PPECode(code=compact, is_legacy=True)
    raise ValidationError(
        _(
            "Kod PPE %(code)s: to ani kod GS1 (18 cyfr zaczynających się od 590), ani starszy kod OSD "
            "(6–40 liter i cyfr)."
        )
        % {"code": compact},
        code="ppe_format",
    )


_COMPANIES = frozenset(
    {
        LegalForm.MICRO,
        LegalForm.SMALL,
        LegalForm.MEDIUM,
        LegalForm.LARGE,
        LegalForm.PUBLIC_TRANSPORT,
        LegalForm.COOPERATIVE,
    }
)


IDENTIFIER_FIELDS = ("nip", "regon", "krs", "pesel")
_IDENTIFIER_CHECKS = {"nip": nip_validate, "regon": regon_validate, "krs": krs_validate, "pesel": pesel_validate}


def member_identifiers_clean(
    *, legal_form: str | None, nip: str = "", regon: str = "", krs: str = "", pesel: str = ""
) -> dict[str, str]:
    """The member's identifiers, compact (digits only), or ``ValidationError`` by field.

    The one check of a member's identifiers: the coordinator's member form, the admin
    and ``members.services.registry`` call it. Every identifier given must be valid
    (python-stdnum). Enterprises and cooperatives must give NIP and REGON (KRS only if
    they are in the register); a JST gives both as well. A JST organisational unit
    always has its own REGON, while its NIP may be the JST's (VAT centralisation), so
    only REGON is required. A natural person needs none: PESEL is personal data and is
    checked only when given, and only a person gives it. ``legal_form`` None (the
    form's own field was refused) checks the identifiers alone.
    """
    values = {"nip": nip or "", "regon": regon or "", "krs": krs or "", "pesel": pesel or ""}
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        value = value.strip()
        if not value:
            cleaned[field] = ""
            continue
        try:
            cleaned[field] = _IDENTIFIER_CHECKS[field](value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if legal_form is not None:
        required: tuple[str, ...] = ()
        if legal_form in _COMPANIES or legal_form == LegalForm.JST:
            required = ("nip", "regon")
        elif legal_form == LegalForm.JST_UNIT:
            required = ("regon",)
        labels = {"nip": "NIP", "regon": "REGON"}
        form_label = LegalForm(legal_form).label if legal_form in LegalForm.values else legal_form
        for field in required:
            if not values[field].strip():
                errors.setdefault(field, []).append(
                    _("%(id)s jest wymagany dla formy prawnej „%(form)s”.") % {"id": labels[field], "form": form_label}
                )
        if legal_form != LegalForm.PERSON and values["pesel"].strip():
            errors.setdefault("pesel", []).append(
                _("PESEL podaje się tylko dla osoby fizycznej (dane osobowe — nie zbieramy ich bez potrzeby).")
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def member_identifiers_validate(
    *, legal_form: str, nip: str = "", regon: str = "", krs: str = "", pesel: str = ""
) -> dict[str, list[str]]:
    """Errors per field of ``member_identifiers_clean`` (empty when the identifiers are right), for file checks."""
    try:
        member_identifiers_clean(legal_form=legal_form, nip=nip, regon=regon, krs=krs, pesel=pesel)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def ppe_code_clean(*, code: str, dso: DSO, cluster_id: int, ppe_id: int | None = None) -> PPECode:
    """``ppe_code_check`` plus: the code is not registered for another PPE of the cluster.

    The one check of a PPE code that the coordinator's PPE rows, the admin and
    ``members.services.registry`` run; ``ValidationError`` on the field ``code``.
    """
    try:
        checked = ppe_code_check(code, dso=dso)
    except ValidationError as exc:
        raise ValidationError({"code": exc.error_list}) from None
    others = MeteringPoint.objects.filter(cluster_id=cluster_id, code=checked.code)
    if (others.exclude(pk=ppe_id) if ppe_id is not None else others).exists():
        raise ValidationError(
            {"code": _("PPE %(code)s jest już zarejestrowany w tym klastrze.") % {"code": checked.code}}
        )
    return checked
