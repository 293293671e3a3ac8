"""A database check whose refusal a form shows on the field it is about.

Django reports a violated ``CheckConstraint`` (``Model.validate_constraints``, which
ModelForms and ``full_clean`` run) as an error of the whole form. ``FieldCheckConstraint``
names the field, so the admin and the portal's forms show the rule next to the value
that breaks it, while the database refuses the same row from any other writer
(``.objects.create``, ``.update``, raw SQL) with an ``IntegrityError``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models
from django.utils.translation import gettext_lazy as _


class FieldCheckConstraint(models.CheckConstraint):
    """``CheckConstraint`` whose violation is a ``ValidationError`` on ``field``."""

    def __init__(self, *, field: str, **kwargs: Any) -> None:
        self.field = field
        super().__init__(**kwargs)

    def get_violation_error_message(self) -> str:
        # Shown as written: the rule's text may hold "%" ("od 0 do 100 %"), with no "%(name)s" to fill.
        return str(self.violation_error_message)

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS) -> None:
        try:
            super().validate(model, instance, exclude=exclude, using=using)
        except ValidationError as exc:
            raise ValidationError({self.field: exc.error_list}) from None

    def deconstruct(self) -> tuple[str, tuple, dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["field"] = self.field
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and getattr(other, "field", None) == self.field


class ValidityOverlapConstraint(models.BaseConstraint):
    """No two rows with the same ``fields`` whose validity periods overlap.

    A period is ``[valid_from, valid_to]``, both days included, ``valid_to`` empty
    meaning "until further notice". On PostgreSQL the database enforces it with an
    exclusion constraint (``django.contrib.postgres``'s ``ExclusionConstraint``,
    GiST with btree_gist: ``key WITH =, daterange(valid_from, valid_to, '[]') WITH &&``;
    a nullable key column is compared through ``COALESCE(column, 0)`` so two "every
    DSO" rows clash too). SQLite has no such constraint: there ``create_sql`` returns
    nothing and the rule is kept by ``validate``, which forms, the admin and
    ``full_clean`` run on every vendor, naming the row in the way.
    """

    def __init__(
        self,
        *,
        name: str,
        fields: tuple[str, ...] | list[str] = (),
        violation_error_code: str | None = None,
        violation_error_message: Any = None,
    ) -> None:
        self.fields = tuple(fields)
        super().__init__(
            name=name, violation_error_code=violation_error_code, violation_error_message=violation_error_message
        )

    # --- the database side (PostgreSQL only) ---

    def _exclusion(self, model: Any) -> Any:
        from django.contrib.postgres.constraints import ExclusionConstraint
        from django.contrib.postgres.fields import DateRangeField, RangeBoundary, RangeOperators
        from django.db.models.functions import Coalesce

        class DateRange(models.Func):
            function = "DATERANGE"
            output_field = DateRangeField()

        expressions: list[tuple[Any, str]] = []
        for name in self.fields:
            field = model._meta.get_field(name)
            column = models.F(name)
            if field.null:
                column = Coalesce(column, models.Value(0 if field.is_relation else ""))
            expressions.append((column, RangeOperators.EQUAL))
        expressions.append(
            (DateRange("valid_from", "valid_to", RangeBoundary(inclusive_lower=True, inclusive_upper=True)), RangeOperators.OVERLAPS)
        )
        return ExclusionConstraint(
            name=self.name,
            expressions=expressions,
            # A row whose end precedes its start is refused by its check constraint, not here.
            condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
        )

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return self._exclusion(model).constraint_sql(model, schema_editor)

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return self._exclusion(model).create_sql(model, schema_editor)

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return self._exclusion(model).remove_sql(model, schema_editor)

    # --- the form side (every vendor) ---

    def overlapping(self, model: Any, instance: Any, using: str = DEFAULT_DB_ALIAS) -> models.QuerySet:
        """Rows of the same key whose validity overlaps ``instance``'s (``instance`` itself left out)."""
        start, end = instance.valid_from, instance.valid_to
        rows = model._default_manager.using(using).all()
        for name in self.fields:
            attname = model._meta.get_field(name).attname
            value = getattr(instance, attname)
            rows = rows.filter(**({f"{attname}__isnull": True} if value is None else {attname: value}))
        rows = rows.filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=start))
        rows = rows.filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")))
        if end is not None:
            rows = rows.filter(valid_from__lte=end)
        if not instance._state.adding and instance.pk is not None:
            rows = rows.exclude(pk=instance.pk)
        return rows.order_by("valid_from", "pk")

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS) -> None:
        if exclude and any(name in exclude for name in (*self.fields, "valid_from", "valid_to")):
            return
        start, end = instance.valid_from, instance.valid_to
        if start is None or (end is not None and end < start):
            return
        clash = self.overlapping(model, instance, using=using).first()
        if clash is not None:
            raise ValidationError(
                self.violation_error_message
                % {
                    "name": self.name,
                    "row": str(clash),
                    "id": clash.pk,
                    "start": clash.valid_from.isoformat(),
                    "end": clash.valid_to.isoformat() if clash.valid_to else "…",
                },
                code=self.violation_error_code or "overlap",
            )

    def deconstruct(self) -> tuple[str, tuple, dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["fields"] = self.fields
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ValidityOverlapConstraint):
            return (
                self.name == other.name
                and self.fields == other.fields
                and self.violation_error_code == other.violation_error_code
                and self.violation_error_message == other.violation_error_message
            )
        return super().__eq__(other)


# --- the usual rules, named the same way everywhere ----------------------------------

VALIDITY_END_MESSAGE = _("Data końca obowiązywania nie może być wcześniejsza niż data początku.")
OVERLAP_MESSAGE = _(
    "Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). "
    "Zakończ tamten wiersz dzień wcześniej albo zmień daty."
)


def _or_empty(condition: models.Q, field: str, null: bool) -> models.Q:
    return condition | models.Q(**{f"{field}__isnull": True}) if null else condition


def at_least_zero(table: str, field: str, message: Any, *, null: bool = False) -> FieldCheckConstraint:
    """``field`` ≥ 0 (or empty, when ``null``): ``<table>_<field>_not_negative``."""
    return FieldCheckConstraint(
        field=field,
        condition=_or_empty(models.Q(**{f"{field}__gte": 0}), field, null),
        name=f"{table}_{field}_not_negative",
        violation_error_message=message,
    )


def percent(table: str, field: str, message: Any, *, null: bool = False) -> FieldCheckConstraint:
    """0 ≤ ``field`` ≤ 100 (or empty, when ``null``): ``<table>_<field>_0_100``."""
    return FieldCheckConstraint(
        field=field,
        condition=_or_empty(models.Q(**{f"{field}__gte": 0, f"{field}__lte": 100}), field, null),
        name=f"{table}_{field}_0_100",
        violation_error_message=message,
    )


def ends_after_start(table: str, start: str, end: str, message: Any = VALIDITY_END_MESSAGE) -> FieldCheckConstraint:
    """``end`` empty or not before ``start`` (both days included): ``<table>_<end>_after_<start>``."""
    return FieldCheckConstraint(
        field=end,
        condition=models.Q(**{f"{end}__isnull": True}) | models.Q(**{f"{end}__gte": models.F(start)}),
        name=f"{table}_{end}_after_{start}",
        violation_error_message=message,
    )


def dated_constraints(table: str, *, key: tuple[str, ...]) -> list[models.BaseConstraint]:
    """A dated row's two rules: valid_to ≥ valid_from, and no two rows with the same ``key`` in force on one day."""
    return [
        ends_after_start(table, "valid_from", "valid_to"),
        ValidityOverlapConstraint(name=f"{table}_no_overlapping_validity", fields=key, violation_error_message=OVERLAP_MESSAGE),
    ]
