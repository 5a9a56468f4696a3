"""On PostgreSQL, the database itself refuses to update or delete history entries.

The ORM guards (HistoryEntry.save/delete, ImmutableQuerySet) stop the application; this
trigger stops everything else short of a superuser who disables triggers, and the hash
chain (manage.py verify_history) catches even that.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION motcua_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'history entries are never updated or deleted'
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflows_historyentry_append_only
    BEFORE UPDATE OR DELETE ON workflows_historyentry
    FOR EACH ROW EXECUTE FUNCTION motcua_history_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS workflows_historyentry_append_only ON workflows_historyentry;
DROP FUNCTION IF EXISTS motcua_history_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
