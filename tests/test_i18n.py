"""Polish by default, English from the catalogue when the switcher cookie says so."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"

NAV_PL = ["Pulpit", "Członkowie", "Dane pomiarowe", "Rozliczenia", "Wyloguj"]
NAV_EN = ["Dashboard", "Members", "Meter data", "Settlements", "Log out"]


def _nav(html: str) -> str:
    """The text of the top navigation bar (tags stripped)."""
    match = re.search(r"<nav\b.*?</nav>", html, re.S)
    assert match, "no <nav> in the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def _english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


# --- pages --------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_is_polish_by_default(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="pl"' in html
    assert "Zaloguj się" in html
    assert "Nie pamiętasz hasła?" in html
    assert "Forgotten your password?" not in html


@pytest.mark.django_db
def test_login_page_in_english_with_cookie(client):
    _english(client)
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="en"' in html
    assert response.headers["Content-Language"] == "en"
    assert "Log in" in html
    assert "Forgotten your password?" in html
    assert "Zaloguj" not in html
    assert "Nie pamiętasz hasła?" not in html


@pytest.mark.django_db
def test_language_switcher_sets_the_cookie(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Forgotten your password?" in client.get(reverse("login")).content.decode()

    client.post(reverse("set_language"), {"language": "pl", "next": reverse("login")})
    assert "Nie pamiętasz hasła?" in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_browser_language_alone_does_not_switch_to_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert "Zaloguj się" in response.content.decode()


def test_dashboard_nav_in_english(client, cluster, coordinator):
    client.force_login(coordinator)
    _english(client)
    response = client.get(reverse("members:dashboard", args=[cluster.slug]))
    assert response.status_code == 200
    nav = _nav(response.content.decode())
    for label in NAV_EN:
        assert label in nav, label
    for label in NAV_PL:
        assert label not in nav, label
    html = response.content.decode()
    assert "Statutory conditions" in html
    assert "Warunki ustawowe" not in html


def test_dashboard_nav_in_polish_by_default(client, cluster, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("members:dashboard", args=[cluster.slug]))
    assert response.status_code == 200
    nav = _nav(response.content.decode())
    for label in NAV_PL:
        assert label in nav, label
    for label in ("Dashboard", "Meter data", "Settlements", "Log out"):
        assert label not in nav, label


def test_member_list_in_english(client, cluster, coordinator):
    client.force_login(coordinator)
    _english(client)
    response = client.get(reverse("members:member-list", args=[cluster.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "The cluster has no members yet." in html
    assert "Klaster nie ma jeszcze członków." not in html


def test_unknown_cookie_language_falls_back_to_polish(client, cluster, coordinator):
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.get(reverse("members:dashboard", args=[cluster.slug]))
    assert "Pulpit" in _nav(response.content.decode())


# --- the catalogue ------------------------------------------------------------


def _unquote(s: str) -> str:
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    return bytes(s[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


class _PoReader:
    """A minimal .po parser: msgctxt/msgid/msgid_plural/msgstr[n] plus flags."""

    KEYWORDS = ("msgctxt ", "msgid_plural ", "msgid ", "msgstr[", "msgstr ")

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.entry: dict = {"flags": set(), "msgstr": {}}
        self.field: tuple | None = None

    def read(self, path: Path) -> list[dict]:
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line:
                self.flush()
                self.field = None
            elif line.startswith("#~"):
                continue  # obsolete entry
            elif line.startswith("#"):
                self.comment(line)
            elif line.startswith(self.KEYWORDS):
                self.keyword(line)
            elif line.startswith('"') and self.field:
                self.continuation(line)
        self.flush()
        return self.entries

    def flush(self) -> None:
        if "msgid" in self.entry:
            self.entries.append(self.entry)
        self.entry = {"flags": set(), "msgstr": {}}

    def comment(self, line: str) -> None:
        if line.startswith("#,"):
            if "msgid" in self.entry:
                self.flush()
            self.entry["flags"].update(f.strip() for f in line[2:].split(","))
        elif "msgid" in self.entry and self.field and self.field[0] == "msgstr":
            self.flush()

    def keyword(self, line: str) -> None:
        entry = self.entry
        if line.startswith("msgctxt "):
            if "msgid" in entry:
                self.flush()
            self.entry["msgctxt"] = _unquote(line[8:])
            self.field = ("msgctxt",)
        elif line.startswith("msgid_plural "):
            entry["msgid_plural"] = _unquote(line[13:])
            self.field = ("msgid_plural",)
        elif line.startswith("msgid "):
            if "msgid" in entry:
                self.flush()
            self.entry["msgid"] = _unquote(line[6:])
            self.field = ("msgid",)
        elif line.startswith("msgstr["):
            index = int(line[7 : line.index("]")])
            entry["msgstr"][index] = _unquote(line[line.index("]") + 1 :])
            self.field = ("msgstr", index)
        else:
            entry["msgstr"][0] = _unquote(line[7:])
            self.field = ("msgstr", 0)

    def continuation(self, line: str) -> None:
        assert self.field is not None
        if self.field[0] == "msgstr":
            self.entry["msgstr"][self.field[1]] += _unquote(line)
        else:
            self.entry[self.field[0]] += _unquote(line)


def _po_entries(path: Path) -> list[dict]:
    return _PoReader().read(path)


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%%|\{\w*\}")


def test_catalogue_is_complete():
    entries = _po_entries(LOCALE_DIR / "django.po")
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"][0]
    assert len(messages) > 500, "makemessages should have found the portal's strings"

    empty = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert not empty, f"untranslated: {empty[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    for e in messages:
        if "msgid_plural" in e:
            assert sorted(e["msgstr"]) == [0, 1], e["msgid"]


def test_catalogue_keeps_placeholders():
    for e in _po_entries(LOCALE_DIR / "django.po")[1:]:
        source = sorted(PLACEHOLDER.findall(e["msgid"]))
        for text in e["msgstr"].values():
            assert sorted(PLACEHOLDER.findall(text)) == source, (e["msgid"], text)


def test_compiled_catalogue_matches_po():
    """django.mo is what Django reads: it must hold every translation in django.po."""
    mo = LOCALE_DIR / "django.mo"
    assert mo.exists(), "run: manage.py compilemessages -l en"
    with mo.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = []
    for e in _po_entries(LOCALE_DIR / "django.po")[1:]:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            got = [catalogue.ngettext(msgid, e["msgid_plural"], n) for n in (1, 2)]
            want = [e["msgstr"][0], e["msgstr"][1]]
        else:
            got, want = catalogue.gettext(msgid), e["msgstr"][0]
        if got != want:
            stale.append(e["msgid"])
    assert not stale, f"django.mo is stale (run compilemessages): {stale[:5]}"


# --- Polish plural forms --------------------------------------------------------

PL_DIR = Path(settings.BASE_DIR) / "locale" / "pl" / "LC_MESSAGES"
PL_PLURAL_FORMS = (
    "Plural-Forms: nplurals=3; plural=(n==1 ? 0 : (n%10>=2 && n%10<=4) && (n%100<12 || n%100>14) ? 1 : 2);"
)


def test_polish_catalogue_has_three_forms_for_every_plural():
    entries = _po_entries(PL_DIR / "django.po")
    header, messages = entries[0], entries[1:]
    assert "fuzzy" not in header["flags"]
    assert PL_PLURAL_FORMS in header["msgstr"][0].replace("\n", "")
    plurals = [e for e in messages if "msgid_plural" in e]
    assert len(plurals) >= 15, "the portal's counted nouns go through ngettext"
    for e in plurals:
        assert sorted(e["msgstr"]) == [0, 1, 2], e["msgid"]
        assert all(e["msgstr"].values()), f"empty Polish plural form: {e['msgid']}"
        assert "fuzzy" not in e["flags"], e["msgid"]
        source = sorted(PLACEHOLDER.findall(e["msgid"]))
        for text in e["msgstr"].values():
            assert sorted(PLACEHOLDER.findall(text)) == source, (e["msgid"], text)
    # Every plural the English catalogue knows has its Polish forms.
    english = {e["msgid"] for e in _po_entries(LOCALE_DIR / "django.po")[1:] if "msgid_plural" in e}
    assert english == {e["msgid"] for e in plurals}


def test_compiled_polish_catalogue_matches_po():
    mo = PL_DIR / "django.mo"
    assert mo.exists(), "run: manage.py compilemessages -l pl"
    with mo.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = []
    for e in _po_entries(PL_DIR / "django.po")[1:]:
        if "msgid_plural" in e:
            got = [catalogue.ngettext(e["msgid"], e["msgid_plural"], n) for n in (1, 2, 5)]
            if got != [e["msgstr"][0], e["msgstr"][1], e["msgstr"][2]]:
                stale.append(e["msgid"])
    assert not stale, f"pl django.mo is stale (run compilemessages): {stale[:5]}"


ERRORS = "{% load i18n %}{% blocktranslate count n=n %}{{ n }} błąd — nic nie zapisano{% plural %}{{ n }} błędów — nic nie zapisano{% endblocktranslate %}"


@pytest.mark.parametrize(
    ("n", "polish"),
    [(1, "1 błąd"), (2, "2 błędy"), (4, "4 błędy"), (5, "5 błędów"), (12, "12 błędów"), (14, "14 błędów"),
     (22, "22 błędy"), (24, "24 błędy"), (25, "25 błędów"), (112, "112 błędów"), (0, "0 błędów")],
)
def test_polish_plurals_have_three_forms(n, polish):
    from django.template import Context, Template
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("pl"):
        assert Template(ERRORS).render(Context({"n": n})) == f"{polish} — nic nie zapisano"
        assert ngettext("%(n)s błąd — nic nie zapisano", "%(n)s błędów — nic nie zapisano", n) % {"n": n} == (
            f"{polish} — nic nie zapisano"
        )


def test_english_plurals_have_two_forms():
    from django.template import Context, Template
    from django.utils import translation

    with translation.override("en"):
        assert Template(ERRORS).render(Context({"n": 1})) == "1 error — nothing was saved"
        assert Template(ERRORS).render(Context({"n": 5})) == "5 errors — nothing was saved"
        assert Template(ERRORS).render(Context({"n": 22})) == "22 errors — nothing was saved"


def test_polish_hours_and_readings_agree_with_their_number():
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("pl"):
        hours = [ngettext("%(hours)s godzina", "%(hours)s godzin", n) % {"hours": n} for n in (1, 3, 744, 745, 8784)]
        assert hours == ["1 godzina", "3 godziny", "744 godziny", "745 godzin", "8784 godziny"]
        readings = ngettext("Zapisano %(n)d odczyt z %(p)d PPE.", "Zapisano %(n)d odczytów z %(p)d PPE.", 24)
        assert readings % {"n": 24, "p": 1} == "Zapisano 24 odczyty z 1 PPE."


# --- numbers and dates on pages ---------------------------------------------------


def _ppe_with_storage(cluster, member_user):
    import datetime as dt
    from decimal import Decimal

    from tests.factories import GeneratorFactory, MeteringPointFactory, PPEMembershipFactory, StorageUnitFactory

    ppe = MeteringPointFactory(cluster=cluster, contracted_kw=Decimal("1250.50"))
    PPEMembershipFactory(ppe=ppe, member=member_user.member, valid_from=dt.date(2024, 5, 15))
    GeneratorFactory(ppe=ppe, capacity_kw=Decimal("1234.500"))
    StorageUnitFactory(ppe=ppe, power_kw=Decimal("500.000"), capacity_kwh=Decimal("68734.000"))
    return ppe


NBSP = "\u00a0"


def test_dashboard_numbers_in_polish(client, cluster, coordinator, alice):
    _ppe_with_storage(cluster, alice)
    client.force_login(coordinator)
    html = client.get(reverse("members:dashboard", args=[cluster.slug])).content.decode()
    assert "68,734 MWh" in html.replace(NBSP, " ")
    assert "68.734 MWh" not in html


def test_dashboard_numbers_in_english(client, cluster, coordinator, alice):
    _ppe_with_storage(cluster, alice)
    client.force_login(coordinator)
    _english(client)
    html = client.get(reverse("members:dashboard", args=[cluster.slug])).content.decode()
    assert "68.734 MWh" in html.replace(NBSP, " ")
    assert "68,734 MWh" not in html.replace(NBSP, " ")


def test_ppe_page_numbers_and_dates_follow_the_language(client, cluster, coordinator, alice):
    ppe = _ppe_with_storage(cluster, alice)
    client.force_login(coordinator)
    url = reverse("members:ppe-detail", args=[cluster.slug, ppe.pk])

    polish = client.get(url).content.decode().replace(NBSP, " ")
    assert "1 234,5 kW" in polish and "1 250,5 kW" in polish
    assert "15.05.2024" in polish
    assert "15-05-2024" not in polish and "2024-05-15" not in polish

    _english(client)
    english = client.get(url).content.decode().replace(NBSP, " ")
    assert "1,234.5 kW" in english and "1,250.5 kW" in english
    assert "2024-05-15" in english
    assert "15.05.2024" not in english and "1 234,5" not in english
