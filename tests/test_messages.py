from django.utils import translation
from django.utils.translation import gettext_noop

from okeportal.messages import msg, msg_from_json, msg_render


def test_a_stored_message_renders_in_the_readers_language():
    stored = msg(gettext_noop("Nieznany format pliku."), ).as_json()
    assert stored == {"msg": "Nieznany format pliku.", "params": {}}
    with translation.override("pl"):
        assert msg_render(stored) == "Nieznany format pliku."


def test_parameters_are_kept_as_json_values_and_filled_in():
    import datetime as dt
    from decimal import Decimal

    message = msg("Wiersz %(line)s: %(value)s od %(day)s", line=12, value=Decimal("-3.5"), day=dt.date(2026, 3, 29))
    assert message.as_json()["params"] == {"line": 12, "value": "-3.5", "day": "2026-03-29"}
    assert msg_render(message.as_json()) == "Wiersz 12: -3.5 od 2026-03-29"
    assert msg_from_json(message.as_json()) == message


def test_older_plain_text_is_shown_as_it_is():
    assert msg_render("Błąd zapisany tekstem") == "Błąd zapisany tekstem"
    assert msg_render(None) == ""
