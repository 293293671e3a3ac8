"""The whole database as plain values, for "a refused request changed nothing" assertions."""

from __future__ import annotations

from django.apps import apps

# Rows a refused request may legitimately write: the session, login bookkeeping, cache.
IGNORED_APPS = {"sessions", "axes", "admin"}


def database_state() -> dict[str, list[tuple]]:
    """Every row of every table the portal owns (reference data included), ordered by primary key."""
    state: dict[str, list[tuple]] = {}
    for model in apps.get_models():
        if model._meta.app_label in IGNORED_APPS:
            continue
        fields = [f.attname for f in model._meta.concrete_fields]
        state[model._meta.label] = list(model._default_manager.order_by("pk").values_list(*fields))
    return state


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))
