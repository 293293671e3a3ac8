"""Registry import as a background job; a PPE code in at most one cluster at a time.

``PPEMembership.ppe_code`` copies the PPE's code (filled below for existing rows,
and by trigger on every insert/update on both vendors, so bulk inserts and
fixtures need not know about it). The rule itself:

- PostgreSQL: an exclusion constraint (btree_gist) ``ppe_code WITH =, ppe_id WITH <>,
  daterange(valid_from, valid_to, '[]') WITH &&`` — two memberships of the same
  code on different PPE rows (different clusters: a code is unique in a cluster)
  may not overlap in time. Creating the extension needs a role allowed to.
- SQLite: BEFORE INSERT/UPDATE triggers that abort with the same constraint name.

Django's model state does not describe these (they are vendor-specific), so
``makemigrations --check`` stays clean on both.
"""

import django.utils.timezone
from django.db import migrations, models

CONSTRAINT = "ppe_code_one_cluster_at_a_time"

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    CREATE OR REPLACE FUNCTION members_ppemembership_fill_code() RETURNS trigger AS $$
    BEGIN
        SELECT code INTO NEW.ppe_code FROM members_meteringpoint WHERE id = NEW.ppe_id;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER members_ppemembership_fill_code
    BEFORE INSERT OR UPDATE OF ppe_id, ppe_code ON members_ppemembership
    FOR EACH ROW EXECUTE FUNCTION members_ppemembership_fill_code()
    """,
    """
    CREATE OR REPLACE FUNCTION members_meteringpoint_copy_code() RETURNS trigger AS $$
    BEGIN
        UPDATE members_ppemembership SET ppe_code = NEW.code WHERE ppe_id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER members_meteringpoint_copy_code
    AFTER UPDATE OF code ON members_meteringpoint
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION members_meteringpoint_copy_code()
    """,
    f"""
    ALTER TABLE members_ppemembership ADD CONSTRAINT {CONSTRAINT}
    EXCLUDE USING gist (ppe_code WITH =, ppe_id WITH <>, daterange(valid_from, valid_to, '[]') WITH &&)
    WHERE (valid_to IS NULL OR valid_to >= valid_from)
    """,
]
POSTGRES_BACKWARD = [
    f"ALTER TABLE members_ppemembership DROP CONSTRAINT IF EXISTS {CONSTRAINT}",
    "DROP TRIGGER IF EXISTS members_meteringpoint_copy_code ON members_meteringpoint",
    "DROP FUNCTION IF EXISTS members_meteringpoint_copy_code()",
    "DROP TRIGGER IF EXISTS members_ppemembership_fill_code ON members_ppemembership",
    "DROP FUNCTION IF EXISTS members_ppemembership_fill_code()",
]

# A membership of the same code on another PPE row whose dates overlap NEW's.
_SQLITE_OVERLAP = f"""
    SELECT RAISE(ABORT, '{CONSTRAINT}') WHERE EXISTS (
        SELECT 1 FROM members_ppemembership m JOIN members_meteringpoint p ON p.id = m.ppe_id
        WHERE p.code = (SELECT code FROM members_meteringpoint WHERE id = NEW.ppe_id)
          AND m.ppe_id <> NEW.ppe_id
          AND (m.valid_to IS NULL OR m.valid_to >= m.valid_from)
          AND m.valid_from <= COALESCE(NEW.valid_to, '9999-12-31')
          AND NEW.valid_from <= COALESCE(m.valid_to, '9999-12-31')
    );
"""
_SQLITE_FILL = """
    UPDATE members_ppemembership
    SET ppe_code = (SELECT code FROM members_meteringpoint WHERE id = NEW.ppe_id)
    WHERE id = NEW.id;
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER members_ppemembership_one_cluster_insert BEFORE INSERT ON members_ppemembership
    WHEN NEW.valid_to IS NULL OR NEW.valid_to >= NEW.valid_from BEGIN {_SQLITE_OVERLAP} END""",
    f"""CREATE TRIGGER members_ppemembership_one_cluster_update BEFORE UPDATE OF ppe_id, valid_from, valid_to
    ON members_ppemembership
    WHEN NEW.valid_to IS NULL OR NEW.valid_to >= NEW.valid_from BEGIN {_SQLITE_OVERLAP} END""",
    f"CREATE TRIGGER members_ppemembership_fill_code_insert AFTER INSERT ON members_ppemembership BEGIN {_SQLITE_FILL} END",
    f"""CREATE TRIGGER members_ppemembership_fill_code_update AFTER UPDATE OF ppe_id, ppe_code ON members_ppemembership
    BEGIN {_SQLITE_FILL} END""",
    """CREATE TRIGGER members_meteringpoint_copy_code AFTER UPDATE OF code ON members_meteringpoint
    WHEN OLD.code IS NOT NEW.code
    BEGIN UPDATE members_ppemembership SET ppe_code = NEW.code WHERE ppe_id = NEW.id; END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS members_meteringpoint_copy_code",
    "DROP TRIGGER IF EXISTS members_ppemembership_fill_code_update",
    "DROP TRIGGER IF EXISTS members_ppemembership_fill_code_insert",
    "DROP TRIGGER IF EXISTS members_ppemembership_one_cluster_update",
    "DROP TRIGGER IF EXISTS members_ppemembership_one_cluster_insert",
]


def fill_codes(apps, schema_editor):
    schema_editor.execute(
        "UPDATE members_ppemembership SET ppe_code = "
        "(SELECT code FROM members_meteringpoint WHERE members_meteringpoint.id = members_ppemembership.ppe_id)"
    )


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalppemembership',
            name='ppe_code',
            field=models.CharField(db_index=True, default='', editable=False, max_length=40, verbose_name='kod PPE'),
        ),
        migrations.AddField(
            model_name='ppemembership',
            name='ppe_code',
            field=models.CharField(db_index=True, default='', editable=False, max_length=40, verbose_name='kod PPE'),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='error_count',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='file',
            field=models.FileField(blank=True, upload_to='imports/registry/%Y/%m/'),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='file_removed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='message',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='progress',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='queued_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='registryimport',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='registryimport',
            name='status',
            field=models.CharField(choices=[('queued', 'w kolejce'), ('running', 'w toku'), ('done', 'zakończono'), ('failed', 'błąd'), ('cancelled', 'anulowano')], default='queued', max_length=10),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
