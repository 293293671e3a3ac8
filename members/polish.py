"""Polish-aware search and sorting, the same on SQLite and PostgreSQL.

- **Search**: ``polish_fold`` folds case and diacritics ("Łódź" → "lodz"). The
  searchable models keep a ``search_text`` column of folded values (written by
  ``members.models``); a search folds the query the same way and looks it up
  with a plain ``contains``.
- **Sorting**: ``polish_order(field)`` orders by a Polish collation: the ICU
  collation ``pl_icu`` on PostgreSQL (created by migration 0005) and, on SQLite,
  the collation ``pl_key`` registered on every new connection, which compares
  ``polish_sort_key`` values (the alphabet a ą b c ć d e ę … l ł … z ź ż,
  case-insensitive, mirroring ICU's Polish order).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Expression, F
from django.db.models.functions import Collate

# The ICU collation migration 0005 creates on PostgreSQL (CREATE COLLATION pl_icu (provider = icu, locale = 'pl-PL')).
POSTGRES_COLLATION = "pl_icu"
# The collation registered on each SQLite connection (sqlite3.Connection.create_collation).
SQLITE_COLLATION = "pl_key"

# Letters that casefold + NFKD do not reduce to a base letter.
_FOLD_EXTRA = str.maketrans({"ł": "l", "đ": "d", "ð": "d", "ø": "o", "ħ": "h", "ı": "i", "œ": "oe", "æ": "ae", "þ": "th"})


def polish_fold(text: str | None) -> str:
    """``text`` lower-cased, without diacritics and with single spaces: "  ŚLĄSKIE  Łódź" → "slaskie lodz"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLD_EXTRA)
    return " ".join(bare.split())


def search_text_join(*parts: str | None) -> str:
    """The ``search_text`` of a row: each part folded, one per line (a search never spans two parts)."""
    return "\n".join(folded for folded in (polish_fold(p) for p in parts) if folded)


# --- sort key (ICU's Polish order, as far as names go) --------------------------

# The Polish alphabet, with the letters only loanwords use in their Latin places.
_ALPHABET = "aąbcćdeęfghijklłmnńoópqrsśtuvwxyzźż"
# ICU's root order of spaces, punctuation and symbols (all before digits), as PostgreSQL's
# "pl-PL-x-icu" sorts them; others not listed follow these by code point.
_PUNCTUATION = " _-–—,;:!¡?¿.…·'‘’\"“”„«»()[]{}§@*/\\&#%`^°+÷×<=>|~$€"

# Primary weights, as code points of the key string (all > 0: "\x00" separates the levels).
_P_SPACE = 0x1  # whitespace of any kind
_P_PUNCT = 0x10  # + position in _PUNCTUATION
_P_OTHER_SYMBOL = 0x100  # + code point (BMP): punctuation and symbols not in _PUNCTUATION
_P_DIGIT = 0x10100  # + digit value
_P_LETTER = 0x10200  # + position in _ALPHABET
_P_OTHER = 0x10300  # + code point (BMP): letters of other scripts, after the Latin alphabet

_LETTER_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_PUNCT_INDEX = {c: i for i, c in enumerate(_PUNCTUATION)}


@lru_cache(maxsize=8192)
def _weights(char: str) -> tuple[str, str, str]:
    """(primary, secondary, tertiary) weights of one character as characters of code point ≥ 1."""
    primary, secondary, tertiary = _weight_numbers(char)
    return chr(primary), chr(secondary), chr(tertiary)


def _weight_numbers(char: str) -> tuple[int, int, int]:
    lower = char.lower()
    tertiary = 2 if lower != char else 1  # lower case first, as ICU
    letter = _LETTER_INDEX.get(lower)
    if letter is not None:
        return _P_LETTER + letter, 1, tertiary
    decomposed = unicodedata.normalize("NFD", lower)
    base = decomposed[0].translate(_FOLD_EXTRA)[:1]
    letter = _LETTER_INDEX.get(base)
    if letter is not None:
        # é, ü, ö, č …: the base letter, the accent a secondary difference (ICU does the same in Polish).
        return _P_LETTER + letter, 1 + sum(ord(c) for c in decomposed[1:]), tertiary
    if char.isspace():
        return _P_SPACE, 1, 1
    punct = _PUNCT_INDEX.get(char)
    if punct is not None:
        return _P_PUNCT + punct, 1, 1
    if char.isdecimal():
        return _P_DIGIT + unicodedata.decimal(char), 1, 1
    if unicodedata.category(char)[0] in "PSZ":
        return _P_OTHER_SYMBOL + min(ord(char), 0xFFFF), 1, 1
    return _P_OTHER + min(ord(lower), 0xFFFF), 1, tertiary


@lru_cache(maxsize=65536)
def polish_sort_key(text: str) -> str:
    """A key that sorts text in Polish alphabetical order, case-insensitively.

    Compared level by level like ICU: letters (a < ą < b … l < ł … z < ź < ż; é with e),
    then accents, then case (lower first), then the text itself so that only equal text ties.
    The levels are one string (weights as characters, "\x00" between levels), so keys
    compare as fast as strings do.
    """
    weights = [_weights(c) for c in text]
    return "\x00".join((
        "".join(w[0] for w in weights),
        "".join(w[1] for w in weights),
        "".join(w[2] for w in weights),
        text,
    ))


def polish_compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` (SQLite's collation callback)."""
    key_a, key_b = polish_sort_key(a), polish_sort_key(b)
    return (key_a > key_b) - (key_a < key_b)


# --- ordering in queries ---------------------------------------------------------


class PolishCollate(Collate):
    """``expression COLLATE pl_icu`` on PostgreSQL, ``COLLATE pl_key`` on SQLite."""

    def __init__(self, expression: Any) -> None:
        super().__init__(expression, POSTGRES_COLLATION)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        extra_context.setdefault("collation", connection.ops.quote_name(SQLITE_COLLATION))
        return super().as_sql(compiler, connection, **extra_context)


def polish_order(field: str | Expression, *, descending: bool = False) -> Any:
    """An ``order_by`` term sorting ``field`` in Polish alphabetical order on either database."""
    expression = PolishCollate(F(field) if isinstance(field, str) else field)
    return expression.desc() if descending else expression.asc()


def _sqlite_register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_collation(SQLITE_COLLATION, polish_compare)


def _register_open_connections() -> None:
    """Connections opened before this module was imported get the collation too."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite" and conn.connection is not None:
            _sqlite_register(None, conn)


connection_created.connect(_sqlite_register, dispatch_uid="members.polish.sqlite_collation")
_register_open_connections()
