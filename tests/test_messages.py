import datetime as dt
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext_noop

from okeportal.messages import (
    MsgStr,
    msg,
    msg_data,
    msg_from_json,
    msg_join,
    msg_plural,
    msg_polish,
    msg_render,
    msg_str,
    msgs_from_error,
    noop,
    row_error_view,
)


def test_a_stored_message_renders_in_the_readers_language():
    stored = msg(gettext_noop("Nieznany format pliku.")).as_json()
    assert stored == {"msg": "Nieznany format pliku.", "params": {}}
    with translation.override("pl"):
        assert msg_render(stored) == "Nieznany format pliku."


def test_parameters_are_kept_as_json_values_and_filled_in_the_readers_formats():
    message = msg("Wiersz %(line)s: %(value)s od %(day)s", line=12, value=Decimal("-3.5"), day=dt.date(2026, 3, 29))
    assert message.as_json()["params"] == {"line": 12, "value": {"decimal": "-3.5"}, "day": {"date": "2026-03-29"}}
    assert msg_from_json(message.as_json()) == message
    with translation.override("pl"):
        assert msg_render(message.as_json()) == "Wiersz 12: -3,5 od 29.03.2026"
    with translation.override("en"):
        assert msg_render(message.as_json()) == "Wiersz 12: -3.5 od 2026-03-29"


def test_older_plain_text_is_shown_as_it_is():
    assert msg_render("Błąd zapisany tekstem") == "Błąd zapisany tekstem"
    assert msg_render(None) == ""


def test_plural_messages_keep_both_forms_and_pick_one_when_shown():
    forms = noop.ngettext("Plik odrzucony: %(n)d błąd, nic nie zapisano.", "Plik odrzucony: %(n)d błędów, nic nie zapisano.")
    with translation.override("pl"):
        assert msg_render(msg_plural(forms, n=1).as_json()) == "Plik odrzucony: 1 błąd, nic nie zapisano."
        assert msg_render(msg_plural(forms, n=5).as_json()) == "Plik odrzucony: 5 błędów, nic nie zapisano."


def test_a_phrase_parameter_and_joined_messages_are_rendered_each_in_the_readers_language():
    inner = msg(gettext_noop("pobór"))
    outer = msg("Brak wartości „%(k)s”.", k=inner)
    joined = msg_join(outer, msg("Druga część %(n)d.", n=2))
    assert msg_render(joined.as_json()) == "Brak wartości „pobór”. Druga część 2."
    assert msg_render([outer.as_json(), msg("Dalej.").as_json()]) == "Brak wartości „pobór”. Dalej."
    assert msg_data([outer]) == outer.as_json() and msg_data("tekst") is None


def test_a_message_string_still_carries_its_code():
    text = msg_str("„%(v)s” nie jest liczbą.", v="abc")
    assert isinstance(text, str) and isinstance(text, MsgStr) and text == "„abc” nie jest liczbą."
    assert text.msg.as_json() == {"msg": "„%(v)s” nie jest liczbą.", "params": {"v": "abc"}}


def test_a_mismatched_translation_or_a_bare_percent_never_fails_a_page():
    assert msg_render({"msg": "100 % kompletności", "params": {"field_label": "plik"}}) == "100 % kompletności"
    assert msg_render({"msg": "Brak %(x)s", "params": {}}) == "Brak %(x)s"


def test_line_errors_render_their_field_label_and_message_and_older_ones_stay():
    stored = {"line": 3, "msg": "Plik jest pusty.", "params": {"field_label": "wiersz"}}
    with translation.override("en"):
        view = row_error_view(stored)
    assert (view.line, view["line"], view.get("line")) == (3, 3, 3)
    assert view.field == "row"  # "wiersz" has an English translation in the catalogue
    old = row_error_view({"line": 4, "field": "start", "message": "Stary tekst"})
    assert (old.line, old.field, old.message) == (4, "start", "Stary tekst")


def test_validation_errors_keep_their_source_text_and_parameters():
    from django.core.exceptions import ValidationError

    exc = ValidationError("Wartość %(v)s jest zła.", params={"v": 5})
    [message] = msgs_from_error(exc)
    assert message.as_json() == {"msg": "Wartość %(v)s jest zła.", "params": {"v": 5}}
    assert msg_polish(message) == "Wartość 5 jest zła."
