"""Polish search and sorting: folded ``search_text`` columns, filled for existing rows,
and the ICU collation ``pl_icu`` on PostgreSQL (SQLite registers its own on each
connection, see ``members.polish``)."""

from django.contrib.postgres.operations import CreateCollation
from django.db import migrations, models

from members.polish import POSTGRES_COLLATION, search_text_join

SEARCH_FIELDS = {
    "Gmina": ("name",),
    "Member": ("name", "ref", "nip", "regon"),
    "MeteringPoint": ("code", "address"),
}


class CreatePostgresCollation(CreateCollation):
    """``CreateCollation`` whose reversal, like its application, does nothing on other databases."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddSearchText(migrations.AddField):
    """``AddField``, but on SQLite an ``ALTER TABLE … ADD COLUMN`` instead of Django's table rebuild.

    Rebuilding members_meteringpoint would drop its trigger from 0002 (the PPE code copied to
    memberships) and break the membership triggers that read it.
    """

    def __init__(self, model_name):
        super().__init__(model_name=model_name, name="search_text", field=field())

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        table = to_state.apps.get_model(app_label, self.model_name)._meta.db_table
        qn = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {qn(table)} ADD COLUMN {qn(self.name)} text NOT NULL DEFAULT ''")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        table = from_state.apps.get_model(app_label, self.model_name)._meta.db_table
        qn = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {qn(table)} DROP COLUMN {qn(self.name)}")


def search_text_fill(apps, schema_editor):
    db = schema_editor.connection.alias
    for model_name, fields in SEARCH_FIELDS.items():
        model = apps.get_model("members", model_name)
        # Read first, then write (SQLite gives no isolation between a cursor and writes on one connection).
        rows = list(model.objects.using(db).only("pk", *fields).order_by("pk"))
        for obj in rows:
            obj.search_text = search_text_join(*(str(getattr(obj, f) or "") for f in fields))
        model.objects.using(db).bulk_update(rows, ["search_text"], batch_size=1000)


def field():
    return models.TextField(blank=True, default="", editable=False, verbose_name="tekst do wyszukiwania")


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0004_consents"),
    ]

    operations = [
        CreatePostgresCollation(POSTGRES_COLLATION, provider="icu", locale="pl-PL"),
        AddSearchText("gmina"),
        AddSearchText("member"),
        AddSearchText("meteringpoint"),
        migrations.RunPython(search_text_fill, migrations.RunPython.noop),
    ]
