"""On PostgreSQL, the database itself refuses to update or delete access records.

The ORM guards (AppendOnlyModel.save/delete, ImmutableQuerySet) stop the application; this
trigger stops anything else short of someone who may disable triggers.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION motcua_access_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access records are never updated or deleted'
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_dossieraccess_append_only
    BEFORE UPDATE OR DELETE ON access_dossieraccess
    FOR EACH ROW EXECUTE FUNCTION motcua_access_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS access_dossieraccess_append_only ON access_dossieraccess;
DROP FUNCTION IF EXISTS motcua_access_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
