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

Rows written before messages were stored this way hold plain text; ``msg_render``
shows such text as it is (it cannot be translated after the fact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext

JSONScalar = str | int | float | bool | None


@dataclass(frozen=True)
class Msg:
    code: str
    params: dict[str, JSONScalar] = field(default_factory=dict)

    def render(self) -> str:
        text = gettext(self.code)
        if not self.params:
            return text
        return text % {key: _param(key, value) for key, value in self.params.items()}

    def as_json(self) -> dict[str, Any]:
        return {"msg": self.code, "params": dict(self.params)}

    def __str__(self) -> str:
        return self.render()


def msg(code: str, **params: Any) -> Msg:
    """A message: ``code`` is a ``gettext_noop`` Polish source text with ``%(name)s`` placeholders."""
    return Msg(code=code, params={key: _json_value(value) for key, value in params.items()})


def msg_from_json(stored: Any) -> Msg | None:
    if isinstance(stored, dict) and isinstance(stored.get("msg"), str):
        params = stored.get("params") or {}
        return Msg(code=stored["msg"], params=dict(params) if isinstance(params, dict) else {})
    return None


def msg_render(stored: Any) -> str:
    """Render a stored message (``{"msg", "params"}``), or show older plain text as it is."""
    if stored is None:
        return ""
    if isinstance(stored, Msg):
        return stored.render()
    message = msg_from_json(stored)
    return message.render() if message is not None else str(stored)


def _json_value(value: Any) -> JSONScalar:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # dates, Decimals, lazy strings: their text form, stable across languages


def _param(key: str, value: JSONScalar) -> Any:
    # A parameter named ``*_label`` is itself a source text (a field or rule name): translated too.
    return gettext(value) if key.endswith("_label") and isinstance(value, str) and value else value
