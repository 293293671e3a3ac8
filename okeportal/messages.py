"""Stored messages as codes with parameters, rendered in the reader's language.

A message a job stores for later readers (an import's line errors, a run's failure,
a job's progress note) is kept as ``{"msg": <code>, "params": {...}}``: the code is
the Polish source text marked with ``gettext_noop`` (so ``makemessages`` collects it
and ``locale/en`` translates it) and the parameters are plain JSON values; a parameter
whose name ends in ``_label`` is a source text too and is translated as well. It is
rendered when a page, an export or a command shows it, in the language active then:

    error = msg(gettext_noop("Wiersz %(line)s: wartość %(value)s jest ujemna."), line=12, value="-3")
    record.errors = [error.as_json()]            # stored
    msg_render(record.errors[0])                 # "Line 12: value -3 is negative." in English

A message whose wording depends on a number is stored with both forms and the name
of the parameter that counts (``ngettext`` picks the form when it is shown)::

    msg_plural(noop.ngettext("%(n)d błąd", "%(n)d błędów"), n=4)

``noop.ngettext`` only marks the pair for ``makemessages`` (xgettext collects any call
named ``ngettext`` as a singular/plural pair). Dates and datetimes are kept tagged
(``{"date": "2026-11-01"}``, ``{"decimal": "87.5"}``) and shown in the reader's
date and number format; a parameter may be a message itself (a phrase filled in). A list of stored
messages renders as one text, its parts joined by a space.

Rows written before messages were stored this way hold plain text; ``msg_render``
shows such text as it is (it cannot be translated after the fact).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext, ngettext

logger = logging.getLogger(__name__)

JSONScalar = str | int | float | bool | None
JSONParam = JSONScalar | dict[str, Any]


@dataclass(frozen=True)
class Msg:
    code: str
    params: dict[str, JSONParam] = field(default_factory=dict)
    plural: str = ""  # the plural source text; ``count`` names the parameter that selects the form
    count: str = ""

    def render(self) -> str:
        if self.plural:
            number = self.params.get(self.count)
            text = ngettext(self.code, self.plural, number if isinstance(number, int) else 0)
        else:
            text = gettext(self.code)
        if not self.params:
            return text
        values = {key: _param(key, value) for key, value in self.params.items()}
        try:
            return text % values
        except (KeyError, TypeError, ValueError):
            # A translation whose placeholders do not match, or a code with a bare "%":
            # show the source text filled in, else the text as it is, never fail a page.
            logger.warning("stored message %r does not take its parameters", self.code)
            try:
                return self.code % values
            except (KeyError, TypeError, ValueError):
                return text

    def render_in(self, language: str) -> str:
        """The text in ``language`` (e.g. the Polish copy kept beside the code for the admin and search)."""
        with translation.override(language):
            return self.render()

    def as_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"msg": self.code, "params": dict(self.params)}
        if self.plural:
            stored |= {"plural": self.plural, "count": self.count}
        return stored

    def __str__(self) -> str:
        return self.render()


class _Noop:
    """Markers that only tell ``makemessages`` what to collect (the texts are translated when shown)."""

    @staticmethod
    def ngettext(singular: str, plural: str) -> tuple[str, str]:
        return singular, plural


noop = _Noop()


def msg(code: str, /, **params: Any) -> Msg:
    """A message: ``code`` is a ``gettext_noop`` Polish source text with ``%(name)s`` placeholders."""
    return Msg(code=code, params={key: _json_value(value) for key, value in params.items()})


def msg_join(*parts: Msg) -> Msg:
    """Several messages shown as one text (a sentence and its note), each translated on its own."""
    names = [f"part{i}" for i in range(len(parts))]
    return Msg(code=" ".join(f"%({name})s" for name in names),
               params={name: part.as_json() for name, part in zip(names, parts, strict=True)})


class MsgStr(str):
    """A message's text in the active language that also carries the message (``.msg``).

    For code that passes problems around as strings (a parser's cell check returns a value
    or a message): it stays a ``str`` there, and whoever stores it keeps the code.
    """

    msg: Msg

    def __new__(cls, message: Msg) -> MsgStr:
        text = super().__new__(cls, message.render())
        text.msg = message
        return text


def msg_str(code: str, /, **params: Any) -> MsgStr:
    """``msg(...)`` as a ``MsgStr``: a string that still carries its code and parameters."""
    return MsgStr(msg(code, **params))


def as_msg(message: Msg | str) -> Msg:
    """The message a value carries: a ``Msg``, a ``MsgStr``'s message, or plain text as a code of its own."""
    if isinstance(message, Msg):
        return message
    if isinstance(message, MsgStr):
        return message.msg
    return msg(str(message))


def msg_plural(forms: tuple[str, str], /, *, counter: str = "n", **params: Any) -> Msg:
    """A message with singular and plural forms (``noop.ngettext(...)``); ``params[counter]`` selects the form."""
    singular, plural = forms
    if counter not in params:
        raise ValueError(f"msg_plural needs the counting parameter {counter!r}")
    return Msg(code=singular, params={key: _json_value(value) for key, value in params.items()},
               plural=plural, count=counter)


def msg_from_json(stored: Any) -> Msg | None:
    if isinstance(stored, dict) and isinstance(stored.get("msg"), str):
        params = stored.get("params") or {}
        plural = stored.get("plural") if isinstance(stored.get("plural"), str) else ""
        count = stored.get("count") if isinstance(stored.get("count"), str) else ""
        return Msg(code=stored["msg"], params=dict(params) if isinstance(params, dict) else {}, plural=plural,
                   count=count)
    return None


def msg_render(stored: Any) -> str:
    """Render a stored message (``{"msg", "params"}``, a ``Msg`` or a list of them), or show older plain text as it is."""
    if stored is None:
        return ""
    if isinstance(stored, Msg):
        return stored.render()
    if isinstance(stored, list | tuple):
        return " ".join(text for text in (msg_render(part) for part in stored) if text)
    message = msg_from_json(stored)
    return message.render() if message is not None else str(stored)


def msg_text(data: Any, legacy: str = "") -> str:
    """What a page shows for a stored message field: the code rendered now, else the older plain text."""
    return msg_render(data) if data else (legacy or "")


def msg_data(message: Msg | Sequence[Msg] | str | None) -> list[dict[str, Any]] | dict[str, Any] | None:
    """The stored value of a message, of several shown as one (a sentence and its note), or None for plain text."""
    if isinstance(message, Msg):
        return message.as_json()
    if isinstance(message, list | tuple) and message and all(isinstance(part, Msg) for part in message):
        return message[0].as_json() if len(message) == 1 else [part.as_json() for part in message]
    return None


def msgs_from_error(exc: ValidationError) -> list[Msg]:
    """A ``ValidationError``'s messages as codes: raised as ``ValidationError(gettext_noop(...) or _(...),
    params={...})`` each keeps its source text and parameters; one raised already formatted is kept
    as its text (shown as it is when it has no translation)."""
    found = []
    for error in exc.error_list:
        params = error.params if isinstance(error.params, dict) else {}
        found.append(msg(str(error.message), **params))
    return found


def msg_polish(stored: Any) -> str:
    """The Polish text of a stored message: the copy kept in the old text columns (admin, search, logs)."""
    with translation.override("pl"):
        return msg_render(stored)


@dataclass(frozen=True)
class RowErrorView:
    """A stored line error as a reader sees it: line, field and message in the active language."""

    line: int | None
    field: str
    message: str

    def get(self, key: str, default: Any = None) -> Any:  # the exports read rows as mappings
        return getattr(self, key, default)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def row_error_view(stored: Any) -> RowErrorView:
    """A stored line error (``{"line", "msg", "params": {"field_label": ...}}`` or the older
    ``{"line", "field", "message"}``) rendered in the active language."""
    if not isinstance(stored, dict):
        return RowErrorView(None, "", msg_render(stored))
    line = stored.get("line")
    message = msg_from_json(stored)
    if message is None:
        return RowErrorView(line, str(stored.get("field") or ""), str(stored.get("message") or ""))
    label = message.params.get("field_label")
    field_text = gettext(label) if isinstance(label, str) and label else str(message.params.get("field") or "")
    return RowErrorView(line, field_text, message.render())


def _json_value(value: Any) -> JSONParam:
    if type(value).__module__ == "numpy":
        value = value.item()  # numpy integers, floats and datetime64 days as Python values
    if isinstance(value, Msg):
        return value.as_json()  # a phrase of its own (rendered in the same language)
    if isinstance(value, MsgStr):
        return value.msg.as_json()  # a message passed around as text keeps its code
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimals, lazy strings, numpy values: their text form, stable across languages


def _param(key: str, value: JSONParam) -> Any:
    # A parameter named ``*_label`` is itself a source text (a field or rule name): translated too.
    if isinstance(value, dict):
        if "msg" in value:
            return msg_render(value)
        from okeportal import formatting  # dates in the reader's format (day first in Polish)

        if "date" in value:
            return formatting.day(value["date"])
        if "datetime" in value:
            return formatting.when(value["datetime"])
        if "decimal" in value:
            places = len(str(value["decimal"]).partition(".")[2])
            return formatting.number(value["decimal"], places)
        return str(value)
    return gettext(value) if key.endswith("_label") and isinstance(value, str) and value else value
